// connectivity's paths of issue 21 on a real control plane: the objects they need must be what the real
// kube-apiserver and controllers make of them. A Service of each ipFamilyPolicy (ClusterIPs allocated by the
// real server), NodePorts (its allocator), the hostNetwork client DaemonSet (real Pod Security admission, the
// real DaemonSet controller), EndpointSlices per family (the real EndpointSlice controller); and the same
// requests to the simulator and the real server answered alike, where the simulator learnt them for this.
import {Agent, fetch} from 'undici'

import type {RealCluster} from '../control-plane/cluster.js'
import {runKubectl, runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import {START_TIMEOUT, startReal} from './harness.js'

interface Report {
  namespace: string
  workload: {run: string; namespacePodSecurity?: string; hostNetwork: {run: boolean; reason?: string}; daemonSets: string[]; services: string[]}
  results: Array<{test: string; family: string; fromNode: string; toNode?: string; status: string; message: string; to: string}>
  summary: {pass: number; fail: number; skip: number; notReady: number}
}

async function connectivity(kubeconfig: string, ...args: string[]): Promise<{code: number; report: Report; stderr: string}> {
  const result = await runPlugin(['connectivity', ...args, '-o', 'json', '--kubeconfig', kubeconfig])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr}
}

/** Waits (bounded) until nothing the plugin made is left: its namespaces are gone and no object carries its label. */
async function nothingLeft(cluster: RealCluster, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'namespaces,pods,daemonsets,services', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-dualstack', '-o', 'name'])
    const left = result.stdout.trim()
    if ((result.code === 0 && left === '') || Date.now() > deadline) return left || result.stderr.trim()
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = {status: number; body: any}

function caller(server: string, ca: string): {call: (method: string, path: string, body?: unknown) => Promise<Answer>; close: () => Promise<void>} {
  const agent = new Agent({connect: {ca}})
  return {
    call: async (method, path, body) => {
      const res = await fetch(`${server}${path}`, {method, dispatcher: agent, body: body === undefined ? undefined : JSON.stringify(body),
        headers: {Authorization: 'Bearer admin-token', 'Content-Type': 'application/json', Accept: 'application/json'}})
      const text = await res.text()
      return {status: res.status, body: text ? JSON.parse(text) : undefined}
    },
    close: () => agent.close(),
  }
}

const family = (ip: string) => (ip.includes(':') ? 'IPv6' : 'IPv4')

/** What a client can rely on of a created Service: what defaulting and allocation set, not the values drawn. */
function serviceShape(answer: Answer) {
  if (answer.status !== 201) return {status: answer.status, message: answer.body?.message}
  const spec = answer.body.spec
  return {
    status: answer.status, type: spec.type, ipFamilyPolicy: spec.ipFamilyPolicy, ipFamilies: spec.ipFamilies, clusterIPFamilies: (spec.clusterIPs as string[]).map(family),
    externalTrafficPolicy: spec.externalTrafficPolicy, internalTrafficPolicy: spec.internalTrafficPolicy,
    nodePorts: (spec.ports as Array<{nodePort?: number}>).map((p) => (p.nodePort === undefined ? 'none' : p.nodePort >= 30000 && p.nodePort <= 32767 ? 'in range' : p.nodePort)),
  }
}

describe('connectivity\'s paths on a real control plane', () => {
  let real: RealCluster
  let sim: RunningSim
  let toReal: ReturnType<typeof caller>
  let toSim: ReturnType<typeof caller>
  beforeAll(async () => {
    ;[sim, real] = await Promise.all([startSim('healthy-dual-stack'), startReal('healthy-dual-stack')])
    toReal = caller(real.server, real.ca)
    toSim = caller(sim.server.url, sim.server.caPem)
  }, START_TIMEOUT)
  afterAll(async () => {
    await toReal?.close()
    await toSim?.close()
    await sim?.stop()
    await real?.stop()
  })

  it('every path passes: the policy Services, the NodePort and the hostNetwork DaemonSet are admitted as made, the EndpointSlices per family come from the real controller; nothing is left', async () => {
    const {code, report, stderr} = await connectivity(real.kubeconfig)
    expect(stderr).not.toMatch(/is invalid|forbidden/)
    expect(report.results.filter((r) => r.status !== 'pass')).toEqual([])
    expect(code).toBe(0)
    expect(report.workload).toMatchObject({namespacePodSecurity: 'privileged', hostNetwork: {run: true}})
    expect(report.workload.daemonSets).toHaveLength(3)
    expect(report.workload.services).toHaveLength(5)
    const tests = new Set(report.results.map((r) => r.test))
    for (const test of ['host-ips', 'node-to-pod', 'node-to-service', 'nodeport/from-pod', 'nodeport/from-node', 'hairpin', 'udp-to-service', 'pod-to-pod/large-payload',
      'service/single-stack', 'service/prefer-dual-stack', 'service/require-dual-stack/ipv4-first', 'service/require-dual-stack/ipv6-first']) expect(tests).toContain(test)
    for (const r of report.results.filter((x) => x.test.startsWith('service/'))) {
      expect(r.message).toMatch(new RegExp(`EndpointSlices ${r.family === 'ipv4' ? 'IPv4' : 'IPv6'}: 3 endpoints; HTTP 200$`))
    }
    const nodePort = Number(/NodePort (\d+)$/.exec(report.results.find((r) => r.test === 'nodeport/from-pod')!.to)![1])
    expect(nodePort).toBeGreaterThanOrEqual(30000)
    expect(nodePort).toBeLessThanOrEqual(32767)
    expect(await nothingLeft(real)).toBe('')
  }, 180_000)

  it('a NodePort and a Service of each policy: the simulator makes them as the real server does, and refuses a NodePort out of range or taken in its words', async () => {
    const ns = '/api/v1/namespaces/default/services'
    const svc = (name: string, spec: Record<string, unknown>) => ({apiVersion: 'v1', kind: 'Service', metadata: {name},
      spec: {selector: {app: 'nothing'}, ports: [{name: 'http', port: 80, targetPort: 8080}, {name: 'udp', port: 8081, protocol: 'UDP'}], ...spec}})
    const cases: Array<[string, Record<string, unknown>]> = [
      ['np-local', {type: 'NodePort', externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local', ipFamilyPolicy: 'PreferDualStack'}],
      ['np-default', {type: 'NodePort'}],
      ['single-v6', {ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6']}],
      ['require-46', {ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6']}],
      ['require-64', {ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4']}],
      ['low-port', {type: 'NodePort', ports: [{port: 80, nodePort: 8080}]}],
    ]
    try {
      for (const [name, spec] of cases) {
        const [simAnswer, realAnswer] = await Promise.all([toSim.call('POST', ns, svc(name, spec)), toReal.call('POST', ns, svc(name, spec))])
        expect({name, ...serviceShape(simAnswer)}).toEqual({name, ...serviceShape(realAnswer)})
      }
      // The real server's own NodePort, asked for again: taken, in both, in the same words.
      const taken = async (call: typeof toSim.call) => {
        const port = (await call('GET', `${ns}/np-default`)).body.spec.ports[0].nodePort as number
        const answer = await call('POST', ns, svc('taken', {type: 'NodePort', ports: [{port: 80, nodePort: port}]}))
        return {status: answer.status, message: String(answer.body?.message).replace(String(port), 'PORT')}
      }
      expect(await taken(toSim.call)).toEqual(await taken(toReal.call))
    } finally {
      for (const [name] of cases) await Promise.all([toSim.call('DELETE', `${ns}/${name}`), toReal.call('DELETE', `${ns}/${name}`)])
    }
  })

  it('in a namespace enforcing baseline, real Pod Security refuses the hostNetwork client (as the simulator does, word for word): the host tests are skips saying so, the rest pass', async () => {
    for (const target of [real.kubeconfig, sim.kubeconfig]) {
      expect((await runKubectl(['--kubeconfig', target, 'create', 'namespace', 'apps'])).code).toBe(0)
      expect((await runKubectl(['--kubeconfig', target, 'label', 'namespace', 'apps', 'pod-security.kubernetes.io/enforce=baseline'])).code).toBe(0)
    }
    const [onReal, onSim] = await Promise.all([real.kubeconfig, sim.kubeconfig].map((k) => connectivity(k, '--namespace-for-tests', 'apps', '--family', 'ipv6', '--test', 'node-to|nodeport')))
    for (const {code, report} of [onReal!, onSim!]) {
      expect(code).toBe(0)
      expect(report.results.filter((r) => r.status === 'pass').map((r) => r.test)).toEqual(['nodeport/from-pod', 'nodeport/from-pod', 'nodeport/from-pod'])
      expect(report.results.filter((r) => r.status === 'skip')).toHaveLength(9)
      expect(report.workload.daemonSets).toHaveLength(2)
    }
    // The dry-run pod's name: the real server draws its suffix, the simulator writes xxxxx.
    const reason = (r: Report) => r.workload.hostNetwork.reason!.replace(r.workload.run, 'RUN').replace(/(dualstack-host-RUN-)\w{5}/, '$1NAME')
    expect(reason(onReal!.report)).toMatch(/^admission refused the hostNetwork client in namespace apps: pods "dualstack-host-RUN-NAME" is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\)/)
    expect(reason(onSim!.report)).toBe(reason(onReal!.report))
    expect(await nothingLeft(real)).toBe('')
  }, 120_000)
})

describe('connectivity\'s policy Services on a real single-stack control plane', () => {
  let real: RealCluster
  beforeAll(async () => {
    real = await startReal('ipv4-only')
  }, START_TIMEOUT)
  afterAll(() => real?.stop())

  it('the real server refuses RequireDualStack: a skip saying so with --family ipv4, a failure with both families', async () => {
    const one = await connectivity(real.kubeconfig, '--test', '^service/', '--family', 'ipv4')
    expect(one.code).toBe(0)
    expect(one.report.results.map((r) => `${r.test} ${r.status}`)).toEqual(['service/single-stack pass', 'service/prefer-dual-stack pass',
      'service/require-dual-stack/ipv4-first skip', 'service/require-dual-stack/ipv6-first skip'])
    expect(one.report.results[2]!.message).toMatch(/^the API server refuses RequireDualStack \(Service "dualstack-server-\w+-require-ipv4-ipv6" is invalid: .*RequireDualStack.*\): Services have one family here; --family all fails on it$/)
    const both = await connectivity(real.kubeconfig, '--test', '^service/require', '--timeout', '2s')
    expect(both.code).toBe(1)
    expect(both.report.results.map((r) => r.status)).toEqual(['fail', 'fail', 'fail', 'fail'])
    expect(await nothingLeft(real)).toBe('')
  }, 120_000)
})
