// kubectl's connection flags and every way a connection can fail: one line on stderr, the documented exit code.
import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {makeCaCert} from '../sim/certs.js'
import {generatePods} from '../sim/generate.js'
import {PLUGIN, run, runPlugin, startSim, testEnv, type RunResult, type RunningSim} from '../sim/harness.js'
import type {FaultSpec} from '../sim/scenario.js'

function expectOneLineError(result: RunResult, code: number, pattern: RegExp): void {
  expect(result.code).toBe(code)
  expect(result.stdout).toBe('')
  const lines = result.stderr.trimEnd().split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^error: /)
  expect(lines[0]).toMatch(pattern)
  expect(result.stderr).not.toMatch(/\n\s+at /)
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('connecting to a cluster', () => {
  let sim: RunningSim
  const home = mkdtempSync(path.join(tmpdir(), 'dualstack-home-'))
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', (s) => {
      s.faults = [
        {verb: 'list', resource: 'pods', latencyMs: 3000, user: 'viewer'},
      ]
    })
  })
  afterAll(() => sim.stop())

  it('without any kubeconfig: exit 3, and says where it looked', async () => {
    const result = await runPlugin(['pod-ips'], {HOME: home})
    expectOneLineError(result, 3, /no kubeconfig found.*KUBECONFIG/)
  })

  it('a --kubeconfig that does not exist is bad input: exit 2', async () => {
    expectOneLineError(await runPlugin(['pod-ips', '--kubeconfig', '/nonexistent/kubeconfig']), 2, /kubeconfig file \/nonexistent\/kubeconfig does not exist/)
  })

  it('an unknown --context: exit 2, pointing at get-contexts', async () => {
    expectOneLineError(await runPlugin(['pod-ips', '--kubeconfig', sim.kubeconfig, '--context', 'prod']), 2, /context "prod" not found.*kubectl config get-contexts/)
  })

  it('kubectl\'s connection flags that contradict each other, or name what is not there, are bad usage (exit 2) before any request', async () => {
    const kc = ['--kubeconfig', sim.kubeconfig]
    const before = sim.server.sim.requests.length
    expectOneLineError(await runPlugin(['pod-ips', ...kc, '--as-group', 'ops']), 2, /requesting uid or groups impersonation without user impersonation is not allowed; add --as USER/)
    expectOneLineError(await runPlugin(['pod-ips', ...kc, '--as-uid', '42']), 2, /without user impersonation/)
    expectOneLineError(await runPlugin(['pod-ips', ...kc, '--insecure-skip-tls-verify', '--certificate-authority', sim.kubeconfig]), 2, /specifying a root certificates file with the insecure flag is not allowed/)
    expectOneLineError(await runPlugin(['pod-ips', ...kc, '--certificate-authority', '/nonexistent/ca.crt']), 2, /--certificate-authority \/nonexistent\/ca.crt: no such file/)
    expectOneLineError(await runPlugin(['pod-ips', ...kc, '--server', 'not a url']), 2, /--server "not a url" is not a URL/)
    expectOneLineError(await runPlugin(['pod-ips', ...kc, '--cluster', 'prod']), 2, /cluster "prod" not found in the kubeconfig.*get-clusters/)
    expectOneLineError(await runPlugin(['pod-ips', ...kc, '--user', 'root']), 2, /user "root" not found in the kubeconfig.*get-users/)
    // A plain-HTTP server is said to be so, not blamed on the credentials.
    expectOneLineError(await runPlugin(['pod-ips', ...kc, '--server', 'http://127.0.0.1:8080']), 2, /the API server address http:\/\/127.0.0.1:8080 is plain HTTP.*use its https:\/\/ address/)
    expectOneLineError(await runPlugin(['doctor', ...kc, '--context', 'sim', '--context', 'sim2', '--server', sim.server.url]), 2, /--server names one cluster or user, and this run covers 2 contexts/)
    expect(sim.server.sim.requests.length).toBe(before)
  })

  it('--server and --token without a kubeconfig, and --insecure-skip-tls-verify, as kubectl takes them', async () => {
    const token = /token: (\S+)/.exec(sim.server.kubeconfig())![1]!
    const insecure = await runPlugin(['pod-ips', '-A', '-s', sim.server.url, '--token', token, '--insecure-skip-tls-verify'], {HOME: home})
    expect(insecure).toMatchObject({code: 0, stderr: ''})
    const unverified = await runPlugin(['pod-ips', '-A', '--server', sim.server.url, '--token', token], {HOME: home})
    expectOneLineError(unverified, 3, /TLS handshake with the API server failed/)
  })

  it('a server that is not listening: exit 3, naming context and server', async () => {
    const port = await closedPort()
    const kc = sim.writeKubeconfig('kc-closed', {server: `https://127.0.0.1:${port}`})
    expectOneLineError(await runPlugin(['pod-ips', '--kubeconfig', kc]), 3, new RegExp(`connection refused \\(context "sim", server https://127\\.0\\.0\\.1:${port}\\)`))
  })

  it('a certificate from another CA: exit 3, TLS named', async () => {
    const other = await makeCaCert()
    const kc = sim.writeKubeconfig('kc-wrong-ca', {caPem: other.cert})
    expectOneLineError(await runPlugin(['pod-ips', '--kubeconfig', kc]), 3, /TLS handshake with the API server failed.*certificate-authority/)
  })

  it('a rejected token (401): exit 3', async () => {
    const kc = sim.writeKubeconfig('kc-bad-token')
    writeFileSync(kc, sim.server.kubeconfig().replace('token: admin-token', 'token: expired-token'))
    expectOneLineError(await runPlugin(['pod-ips', '--kubeconfig', kc]), 3, /rejected the credentials of user "admin" \(401 Unauthorized/)
  })

  it('RBAC denial (403): exit 3, naming the verb, resource and scope', async () => {
    const kc = sim.writeKubeconfig('kc-nobody', {user: 'nobody'})
    const result = await runPlugin(['pod-ips', '-A', '--kubeconfig', kc])
    expectOneLineError(result, 3, /forbidden: pods is forbidden: User "nobody" cannot list resource "pods" in API group "" at the cluster scope/)
    const namespaced = await runPlugin(['pod-ips', '-n', 'default', '--kubeconfig', kc])
    expect(namespaced.stderr).toContain('cannot list resource "pods" in API group "" in the namespace "default"')
  })

  it('--request-timeout: a slow API server gives exit 3 after that long', async () => {
    // The server answers after 3 s; a 1 s timeout must give up first (exit 3, not a late success).
    const kc = sim.writeKubeconfig('kc-viewer', {user: 'viewer'})
    const result = await runPlugin(['pod-ips', '--kubeconfig', kc, '--request-timeout', '1s'])
    expectOneLineError(result, 3, /request timed out after 1s/)
  })

  it('a bad --request-timeout is bad usage', async () => {
    expectOneLineError(await runPlugin(['pod-ips', '--kubeconfig', sim.kubeconfig, '--request-timeout', 'soon']), 2, /invalid duration "soon"/)
  })

  it('unknown flags and bad option values are bad usage with a pointer to --help', async () => {
    expectOneLineError(await runPlugin(['pod-ips', '--colour']), 2, /Nonexistent flag: --colour; see 'kubectl dualstack pod-ips --help'/)
    expectOneLineError(await runPlugin(['pod-ips', '-o', 'xml']), 2, /Expected --output=xml to be one of/)
  })

  it('--verbose adds the stack trace', async () => {
    const result = await runPlugin(['pod-ips', '--kubeconfig', '/nonexistent', '--verbose'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/\n\s+at /)
  })

  it('KUBECONFIG with several files merges them as kubectl does: first one wins', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-kc-'))
    const first = path.join(dir, 'a')
    const second = path.join(dir, 'b')
    // The first file names the context (namespace kube-system) and current-context; the second defines the
    // same context differently, plus the cluster and user. kubectl takes the first definition of each name.
    writeFileSync(first, 'apiVersion: v1\nkind: Config\ncurrent-context: sim\ncontexts:\n- name: sim\n  context: {cluster: sim, user: viewer, namespace: kube-system}\n')
    writeFileSync(second, sim.server.kubeconfig({user: 'viewer', namespace: 'default'}).replace('current-context: sim', 'current-context: elsewhere'))
    sim.server.sim.faults = []
    const result = await runPlugin(['pod-ips', '-o', 'json'], {KUBECONFIG: `${first}${path.delimiter}/missing/file${path.delimiter}${second}`})
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const namespaces = new Set(JSON.parse(result.stdout).items.map((i: {namespace: string}) => i.namespace))
    expect([...namespaces]).toEqual(['kube-system'])
  })

  it('exec credential plugins supply the token, as client-node supports them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-exec-'))
    const plugin = path.join(dir, 'get-token')
    writeFileSync(plugin, '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"viewer-token"}}\'\n')
    chmodSync(plugin, 0o755)
    const kc = sim.writeKubeconfig('kc-exec')
    writeFileSync(kc, sim.server.kubeconfig().replace('    token: admin-token', `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ${plugin}\n      interactiveMode: Never`))
    sim.server.sim.faults = []
    const result = await runPlugin(['pod-ips', '-n', 'default', '-o', 'plain', '--kubeconfig', kc])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const list = sim.server.sim.requests.filter((r) => r.user === 'viewer' && r.resource === 'pods')
    expect(list.length).toBeGreaterThan(0)
  })
})

describe('inside a pod', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
  })
  afterAll(() => sim.stop())

  it('uses the in-cluster service account when there is no kubeconfig', async () => {
    // A private mount namespace gives the plugin a pod's /var/run/secrets without touching the host.
    const sa = mkdtempSync(path.join(tmpdir(), 'dualstack-sa-'))
    writeFileSync(path.join(sa, 'token'), 'viewer-token')
    writeFileSync(path.join(sa, 'ca.crt'), sim.server.caPem)
    writeFileSync(path.join(sa, 'namespace'), 'kube-system')
    const home = mkdtempSync(path.join(tmpdir(), 'dualstack-home-'))
    const script = 'mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && cp "$SA"/* /run/secrets/kubernetes.io/serviceaccount/ && exec "$PLUGIN" pod-ips -o json'
    const result = await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], testEnv({
      HOME: home, SA: sa, PLUGIN, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(sim.server.port),
    }))
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const namespaces = new Set(JSON.parse(result.stdout).items.map((i: {namespace: string}) => i.namespace))
    expect([...namespaces]).toEqual(['kube-system'])
    expect(sim.server.sim.requests.some((r) => r.user === 'viewer' && r.resource === 'pods')).toBe(true)
  })
})

describe('API faults', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
    generatePods(sim.server.sim, 1200)
  })
  afterAll(() => sim.stop())
  const faults = (...specs: Array<Omit<FaultSpec, 'hits'>>) => {
    sim.server.sim.faults = specs.map((spec) => ({...spec, hits: 0}))
  }
  let clean: RunResult
  beforeAll(async () => {
    clean = await runPlugin(['pod-ips', '-A', '-o', 'plain', '--kubeconfig', sim.kubeconfig])
  })

  it('reads are retried through 500s, a 429 with Retry-After and a dropped connection: the same output, exit 0', async () => {
    expect(clean.code).toBe(0)
    expect(clean.stdout.split('\n').length).toBeGreaterThan(1200)
    faults(
      {verb: 'list', resource: 'pods', code: 500, times: 2},
      {verb: 'list', resource: 'pods', code: 429, retryAfterSeconds: 1, times: 1},
      {verb: 'list', resource: 'pods', drop: true, skip: 1, times: 1},
    )
    const started = Date.now()
    const result = await runPlugin(['pod-ips', '-A', '-o', 'plain', '--kubeconfig', sim.kubeconfig])
    expect(result).toEqual(clean)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000) // the Retry-After was waited for
    expect(sim.server.sim.faults.map((f) => f.hits)).toEqual([2, 1, 1])
  })

  it('an expired continue token (410 Gone) mid-list starts the list again, and no pod is printed twice', async () => {
    faults({verb: 'list', resource: 'pods', code: 410, skip: 1, times: 1})
    const result = await runPlugin(['pod-ips', '-A', '-o', 'plain', '--kubeconfig', sim.kubeconfig])
    expect(sim.server.sim.faults[0]!.hits).toBe(1)
    expect(result).toEqual(clean)
  })

  it('a fault that does not pass gives exit 3 and one line saying how long it tried', async () => {
    faults({verb: 'list', resource: 'pods', code: 500})
    expectOneLineError(await runPlugin(['pod-ips', '--kubeconfig', sim.kubeconfig]), 3, /the API server failed: injected fault: HTTP 500 .*gave up after 5 attempts in \d+\.\ds/)
    faults({verb: 'list', resource: 'pods', drop: true})
    expectOneLineError(await runPlugin(['pod-ips', '--kubeconfig', sim.kubeconfig]), 3, /closed the connection.*gave up after 5 attempts/)
  })

  it('a write is not retried on a 500: its outcome is unknown, so it fails at once', async () => {
    faults({verb: 'create', resource: 'pods', code: 500})
    const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/injected fault: HTTP 500/)
    expect(result.stderr).not.toMatch(/gave up after/)
    expect(sim.server.sim.faults[0]!.hits).toBe(1)
  })
})

describe('the entry point', () => {
  it('an old Node gets a clear message, not a syntax error', async () => {
    const systemNode = '/usr/bin/node'
    const version = await run(systemNode, ['--version'], testEnv())
    const major = Number(version.stdout.replace(/^v/, '').split('.')[0])
    const result = await run(systemNode, [PLUGIN, '--version'], testEnv())
    const oldNode = major < 22
    expect(result.code).toBe(oldNode ? 2 : 0)
    expect(result.stderr).toMatch(oldNode ? /^error: kubectl-dualstack needs Node\.js 22 or later, this is v\d+[^\n]*\n$/ : /^$/)
  })
})
