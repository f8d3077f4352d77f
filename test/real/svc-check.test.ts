// svc-check's advice and its test pod against what the real kube-apiserver does (issue 20, points 7 and 8):
// the in-place kubectl patch it advises for a single-stack Service, a headless Service's families through the
// real EndpointSlice controller, and the real Pod Security admission of a restricted namespace.
import type {RealCluster} from '../control-plane/cluster.js'
import {runKubectl, runPlugin} from '../sim/harness.js'
import {objectOf} from '../sim/scenario.js'
import {kubectlJson, START_TIMEOUT, startReal} from './harness.js'

interface Report {
  service: {clusterIPs: string[]; ipFamilyPolicy: string | null}
  results: Array<{family: string; kind: string; status: string; target: string; message: string}>
}

async function svcCheck(cluster: RealCluster, ...args: string[]): Promise<{code: number; report: Report; stderr: string}> {
  const result = await runPlugin(['svc-check', ...args, '-o', 'json', '--kubeconfig', cluster.kubeconfig])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr}
}

describe('svc-check advice and test pod on a real control plane', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', (s) => {
      const service = (name: string, spec: Record<string, unknown>) => ({apiVersion: 'v1', kind: 'Service', metadata: {name, namespace: 'default'}, spec: {selector: {app: 'hello-k8s'}, ...spec}})
      s.objects!.push(
        service('svc-single', {ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], ports: [{port: 80, targetPort: 8080}]}),
        service('svc-headless', {clusterIP: 'None', ipFamilyPolicy: 'RequireDualStack', ports: [{name: 'http', port: 8080, targetPort: 8080}]}),
      )
      // The hello Service and its pod again, in a namespace that is made restricted once they run.
      for (const [kind, name] of [['Pod', 'hello-k8s'], ['Service', 'svc-hellok8s']] as const) {
        const copy = structuredClone(objectOf(s, kind, name))
        copy.metadata.namespace = 'locked'
        delete copy.status
        s.objects!.push(copy)
      }
    })
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('a SingleStack Service: the advised kubectl patch adds the IPv6 ClusterIP in place, keeping the IPv4 one', async () => {
    const before = await svcCheck(cluster, 'svc-single', '-n', 'default', '--from', 'netshoot')
    expect(before.code).toBe(1)
    const ip6 = before.report.results.find((r) => r.family === 'ipv6' && r.kind === 'service-ip')!
    const advised = /: (kubectl patch svc svc-single -n default -p '(.*)')$/.exec(ip6.message)
    expect(advised?.[1]).toBe(`kubectl patch svc svc-single -n default -p '{"spec":{"ipFamilyPolicy":"PreferDualStack"}}'`)
    expect(ip6.message).not.toMatch(/recreate/)
    const ipv4 = before.report.service.clusterIPs[0]!

    const patched = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'patch', 'svc', 'svc-single', '-n', 'default', '-p', advised![2]!])
    expect(patched.stderr).toBe('')
    expect(patched.code).toBe(0)
    const svc = await kubectlJson(cluster, 'get', 'svc', 'svc-single', '-n', 'default')
    expect(svc.spec.clusterIPs).toEqual([ipv4, expect.stringMatching(/^fd00:10:96::/)])

    // The EndpointSlice controller follows with an IPv6 slice: every test passes.
    const deadline = Date.now() + 30_000
    let after = await svcCheck(cluster, 'svc-single', '-n', 'default', '--from', 'netshoot')
    while (after.code !== 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      after = await svcCheck(cluster, 'svc-single', '-n', 'default', '--from', 'netshoot')
    }
    expect(after.report.results.filter((r) => r.status !== 'pass')).toEqual([])
    expect(after.report.service.clusterIPs[0]).toBe(ipv4)
  })

  it('a headless dual-stack Service passes by its ipFamilies and the real EndpointSlices, HTTP to an endpoint', async () => {
    const {code, report} = await svcCheck(cluster, 'svc-headless', '-n', 'default', '--from', 'netshoot')
    expect(report.results.filter((r) => r.status !== 'pass')).toEqual([])
    expect(code).toBe(0)
    expect(report.results.find((r) => r.family === 'ipv6' && r.kind === 'http')!.target).toMatch(/^http:\/\/\[fd00:10:244:[0-9a-f:]+\]:8080\/$/)
  })

  it("in a namespace enforcing Pod Security restricted, the real admission admits its test pod: HTTP passes, ping says it is not permitted", async () => {
    const labelled = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=restricted'])
    expect(labelled.code).toBe(0)
    // What the real server says of the plugin's usual pod: the refusal svc-check recognises.
    const refused = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'run', 'root-probe', '-n', 'locked', '--image', 'nicolaka/netshoot:latest', '--restart', 'Never', '--', 'sleep', '3600'])
    expect(refused.stderr).toMatch(/is forbidden: violates PodSecurity "restricted:latest"/)

    const {code, report, stderr} = await svcCheck(cluster, 'svc-hellok8s', '-n', 'locked')
    expect(stderr).toBe('')
    expect(report.results.map((r) => `${r.family} ${r.kind} ${r.status}`)).toEqual([
      'ipv4 service-ip pass', 'ipv4 endpoints pass', 'ipv4 ping skip', 'ipv4 http pass',
      'ipv6 service-ip pass', 'ipv6 endpoints pass', 'ipv6 ping skip', 'ipv6 http pass',
    ])
    expect(report.results.find((r) => r.kind === 'ping')!.message).toMatch(/^ping is not permitted in pod dualstack-svc-check-[0-9a-f]{6} \(no NET_RAW, as Pod Security restricted requires/)
    expect(code).toBe(0)
  })
  it('a finalizer keeps its deleted test pod Terminating on the real server: svc-check waits, then names it with the command that removes it', async () => {
    cluster.agent!.model.scenario.execLatencyMs = 1500
    try {
      const running = runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--family', 'ipv4', '--delete-timeout', '3s', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
      // Another controller puts its finalizer on the test pod while the tests run.
      let name = ''
      for (const deadline = Date.now() + 20_000; !name && Date.now() < deadline;) {
        const pods = await kubectlJson(cluster, 'get', 'pods', '-n', 'default', '-l', 'app.kubernetes.io/component=svc-check')
        name = (pods.items as Array<{metadata: {name: string}}>)[0]?.metadata.name ?? ''
        if (!name) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(name).not.toBe('')
      const held = await runKubectl(['--kubeconfig', cluster.kubeconfig, '-n', 'default', 'patch', 'pod', name, '--type', 'merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}'])
      expect(held.code).toBe(0)
      const result = await running
      expect(result.code).toBe(0)
      const command = `kubectl -n default patch pod ${name} --type merge -p '{"metadata":{"finalizers":null}}'`
      expect(result.stderr).toBe(`warning: pod default/${name} is still Terminating 3s after it was deleted (finalizers: example.com/hold); it goes once they are removed: ${command}\n`)
      const pod = await kubectlJson(cluster, 'get', 'pod', name, '-n', 'default')
      expect(pod.metadata.deletionTimestamp).toBeDefined()
      // The advised command lets it go.
      expect((await runKubectl(['--kubeconfig', cluster.kubeconfig, '-n', 'default', 'patch', 'pod', name, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}'])).code).toBe(0)
      const gone = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'wait', '--for=delete', `pod/${name}`, '-n', 'default', '--timeout=30s'])
      expect(gone.code).toBe(0)
    } finally {
      cluster.agent!.model.scenario.execLatencyMs = 0
    }
  })
})
