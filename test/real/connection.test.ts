// Who the plugin is to the real API server: no credentials (anonymous), a wrong token, and kubectl's
// connection flags (impersonation included) as the real authenticator and authorizer take them.
import type {RealCluster} from '../control-plane/cluster.js'
import {runPlugin} from '../sim/harness.js'
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
