// Who the plugin is to the real API server: no credentials (anonymous), a wrong token, and kubectl's
// connection flags (impersonation included) as the real authenticator and authorizer take them.
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {stringify} from 'yaml'

import type {RealCluster} from '../control-plane/cluster.js'
import {ROOT, runPlugin} from '../sim/harness.js'
import {START_TIMEOUT, startReal} from './harness.js'

describe('credentials the real API server refuses', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', undefined, {users: [{name: 'viewer', groups: []}]})
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('no credentials: the server ends HTTP/2 connections of anonymous clients (GOAWAY); doctor says who it is and what to do in one line, exit 3', async () => {
    const anonymous = cluster.writeKubeconfig('anonymous.kubeconfig', {token: ''})
    // The GOAWAY comes at random points of a run: doctor is run several times.
    for (const command of [['doctor'], ['doctor'], ['doctor'], ['pod-ips', '-A'], ['svc-check', 'svc-hellok8s', '-n', 'default']]) {
      const result = await runPlugin([...command, '--kubeconfig', anonymous])
      expect({command, ...result}).toMatchObject({command, code: 3, stdout: ''})
      expect(result.stderr).not.toMatch(/GOAWAY/)
      expect(result.stderr).toMatch(/^error: forbidden: the request carried no credentials, so the API server took it as system:anonymous: .*give the kubeconfig user "admin" a token, client certificate or exec plugin.*\n$/)
    }
    const json = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', anonymous])
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout)).toMatchObject({error: {exitCode: 3, message: expect.stringMatching(/system:anonymous/)}})
  })

  it('a wrong token: 401 on the first read is exit 3 in one line, not "no Calico" and checks in error', async () => {
    const wrong = cluster.writeKubeconfig('wrong.kubeconfig', {token: 'not-a-token'})
    for (const command of [['doctor'], ['doctor', '-o', 'json'], ['pod-ips', '-A'], ['ippool', 'fix', '--dry-run']]) {
      const result = await runPlugin([...command, '--kubeconfig', wrong])
      expect({command, code: result.code}).toEqual({command, code: 3})
      expect(result.stderr).toMatch(/^error: .*(401|Unauthorized|not authenticated).*\n$/)
      expect(result.stderr).not.toMatch(/Calico/)
    }
  })

  it('a user with no role at all: doctor stops at its first read with the role to bind, exit 3', async () => {
    const result = await runPlugin(['doctor', '--kubeconfig', cluster.writeKubeconfig('viewer.kubeconfig', {user: 'viewer'})])
    expect(result.code).toBe(3)
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^error: forbidden: nodes is forbidden: User "viewer" cannot list .*the ClusterRole kubectl-dualstack-read \(rbac\/read.yaml\) grants it/)
  })
})

describe('kubectl\'s connection flags against the real authenticator and authorizer', () => {
  let cluster: RealCluster
  let ca: string
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', undefined, {users: [{name: 'viewer', groups: []}]})
    cluster.kubectl(cluster.kubeconfig, ['apply', '-f', path.join(ROOT, 'rbac')])
    ca = path.join(cluster.dir, 'ca.crt')
    writeFileSync(ca, cluster.ca)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('--server, --token and --certificate-authority are a connection without any kubeconfig', async () => {
    const result = await runPlugin(['pod-ips', '-A', '--server', cluster.server, '--token', cluster.token('viewer'), '--certificate-authority', ca], {KUBECONFIG: path.join(cluster.dir, 'none')})
    // The viewer has no role: the real authorizer names it, so the token was sent and taken.
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/User "viewer" cannot list resource "pods"/)
    const admin = await runPlugin(['pod-ips', '-A', '-s', cluster.server, '--token', cluster.token('admin'), '--insecure-skip-tls-verify'], {KUBECONFIG: path.join(cluster.dir, 'none')})
    expect(admin).toMatchObject({code: 0, stderr: ''})
    expect(admin.stdout).toMatch(/hello-k8s/)
  })

  it('--as and --as-group impersonate, as the real server\'s impersonation checks them; --as-uid is sent too', async () => {
    const as = await runPlugin(['pod-ips', '-A', '--kubeconfig', cluster.kubeconfig, '--as', 'viewer'])
    expect(as.code).toBe(3)
    expect(as.stderr).toMatch(/User "viewer" cannot list resource "pods"/)
    const withGroup = await runPlugin(['pod-ips', '-A', '--kubeconfig', cluster.kubeconfig, '--as', 'viewer', '--as-group', 'kubectl-dualstack:read', '--as-uid', 'uid-42'])
    expect(withGroup).toMatchObject({code: 0, stderr: ''})
    const audited = cluster.audit().filter((e) => e.impersonatedUser?.username === 'viewer' && e.objectRef?.resource === 'pods')
    expect(audited.some((e) => e.impersonatedUser?.uid === 'uid-42' && (e.impersonatedUser?.groups ?? []).includes('kubectl-dualstack:read'))).toBe(true)
    // doctor's exec (a WebSocket) carries the groups too: probe.yaml's exec is granted through the group only.
    const doctor = await runPlugin(['doctor', '--only', 'node.ipv6-forwarding', '--kubeconfig', cluster.kubeconfig, '--as', 'viewer', '--as-group', 'kubectl-dualstack:read', '--as-group', 'kubectl-dualstack:probe'])
    expect(doctor.code).toBe(0)
    // A user the admin may not impersonate: the viewer impersonating is refused by the real server, exit 3.
    const refused = await runPlugin(['pod-ips', '-A', '--kubeconfig', cluster.writeKubeconfig('viewer.kubeconfig', {user: 'viewer'}), '--as', 'admin'])
    expect(refused.code).toBe(3)
    expect(refused.stderr).toMatch(/^error: forbidden: .*cannot impersonate/)
  })

  it('--user and --cluster pick the kubeconfig\'s entries; names that are not there are bad usage', async () => {
    const file = path.join(cluster.dir, 'two-users.kubeconfig')
    writeFileSync(file, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'broken',
      clusters: [{name: 'real', cluster: {server: cluster.server, 'certificate-authority': ca}}, {name: 'nowhere', cluster: {server: 'https://127.0.0.1:1'}}],
      users: [{name: 'admin', user: {token: cluster.token('admin')}}, {name: 'viewer', user: {token: cluster.token('viewer')}}],
      contexts: [{name: 'broken', context: {cluster: 'nowhere', user: 'viewer'}}],
    }))
    expect((await runPlugin(['pod-ips', '-A', '--kubeconfig', file])).code).toBe(3)
    expect(await runPlugin(['pod-ips', '-A', '--kubeconfig', file, '--cluster', 'real', '--user', 'admin'])).toMatchObject({code: 0, stderr: ''})
    expect((await runPlugin(['pod-ips', '-A', '--kubeconfig', file, '--cluster', 'real'])).stderr).toMatch(/User "viewer" cannot list/)
    for (const [flag, value, said] of [['--cluster', 'prod', /^error: cluster "prod" not found in the kubeconfig/], ['--user', 'root', /^error: user "root" not found in the kubeconfig/]] as const) {
      const result = await runPlugin(['pod-ips', '-A', '--kubeconfig', file, flag, value])
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(said)
    }
  })
})
