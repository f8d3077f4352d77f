// svc-check and connectivity on a real control plane: test pods and DaemonSets through real admission, the
// real scheduler and DaemonSet controller, EndpointSlices from the real controller, exec through the API
// server, and clean-up through the real garbage collector and namespace controller.
import type {RealCluster} from '../control-plane/cluster.js'
import {interruptPlugin, runKubectl, runPlugin} from '../sim/harness.js'
import {LONG_TEST, START_TIMEOUT, startReal} from './harness.js'

async function names(cluster: RealCluster, ...args: string[]): Promise<string[]> {
  const result = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', ...args, '-o', 'name'])
  if (result.code !== 0) throw new Error(result.stderr)
  return result.stdout.split('\n').filter(Boolean)
}

/** Waits (bounded) until nothing the plugin made is left: its namespaces are gone and no pod carries its label. */
async function nothingLeft(cluster: RealCluster, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = [
      ...(await names(cluster, 'namespaces')).filter((n) => n.includes('dualstack')),
      ...(await names(cluster, 'pods,daemonsets,services', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-dualstack')),
    ]
    if (left.length === 0 || Date.now() > deadline) return left
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

describe('svc-check and connectivity on a real control plane', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack')
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('svc-check passes both families through the real EndpointSlices, and its test pod is gone afterwards', async () => {
    const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as {results: Array<{family: string; kind: string; status: string}>}
    expect(report.results.filter((t) => t.status !== 'pass')).toEqual([])
    expect(new Set(report.results.map((t) => t.family))).toEqual(new Set(['ipv4', 'ipv6']))
    expect(await nothingLeft(cluster)).toEqual([])
  })

  it('connectivity runs on every node (one node field selector term per node, as the real server requires) and leaves nothing', async () => {
    const result = await runPlugin(['connectivity', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
    expect(result.stderr).not.toMatch(/is invalid/)
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as {nodes: string[]; nodeSummary: Array<{node: string; status: string}>; results: Array<{status: string}>}
    expect(report.nodes).toEqual(['cp-1', 'worker-1', 'worker-2'])
    expect(report.nodeSummary.map((n) => [n.node, n.status])).toEqual([['cp-1', 'pass'], ['worker-1', 'pass'], ['worker-2', 'pass']])
    expect(report.results.length).toBeGreaterThanOrEqual(24)
    expect(await nothingLeft(cluster)).toEqual([])
  })

  it('connectivity names the node whose IPv6 forwarding is off (set through a hostNetwork pod\'s exec), and passes again once it is back', async () => {
    const calicoNode = (await names(cluster, 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node', '--field-selector', 'spec.nodeName=worker-1'))[0]!.replace('pod/', '')
    const sysctl = (value: number) => runKubectl(['--kubeconfig', cluster.kubeconfig, 'exec', '-n', 'kube-system', calicoNode, '--', 'sysctl', '-w', `net.ipv6.conf.all.forwarding=${value}`])
    expect((await sysctl(0)).code).toBe(0)
    try {
      const result = await runPlugin(['connectivity', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
      expect(result.code).toBe(1)
      const report = JSON.parse(result.stdout) as {nodeSummary: Array<{node: string; status: string; findings: string[]}>}
      const failing = report.nodeSummary.filter((n) => n.status === 'fail')
      expect(failing.map((n) => n.node)).toEqual(['worker-1'])
      expect(failing[0]!.findings).toEqual(['IPv6 fails in and out; IPv6 forwarding is 0 there (net.ipv6.conf.all.forwarding; kubectl dualstack doctor --only node.ipv6-forwarding)'])
    } finally {
      expect((await sysctl(1)).code).toBe(0)
    }
    expect(await nothingLeft(cluster)).toEqual([])
  })

  it('Ctrl-C in the middle of svc-check (its execs slowed to 5 s): exit 130, and its test pod is deleted until gone', async () => {
    cluster.agent!.model.scenario.execLatencyMs = 5000
    try {
      const {code, stderr} = await interruptPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--kubeconfig', cluster.kubeconfig], () => runKubectlSync(cluster).includes('dualstack-svc-check'))
      expect(code).toBe(130)
      expect(stderr).toContain('interrupted: cleaning up')
    } finally {
      cluster.agent!.model.scenario.execLatencyMs = 0
    }
    expect(await nothingLeft(cluster)).toEqual([])
  })

  it('Ctrl-C in the middle of connectivity (its execs slowed to 3 s): exit 130, and the real garbage collector takes everything it made', async () => {
    cluster.agent!.model.scenario.execLatencyMs = 3000
    try {
      const {code} = await interruptPlugin(['connectivity', '--kubeconfig', cluster.kubeconfig], () => runKubectlSync(cluster).includes('dualstack-server'))
      expect(code).toBe(130)
    } finally {
      cluster.agent!.model.scenario.execLatencyMs = 0
    }
    expect(await nothingLeft(cluster)).toEqual([])
  }, LONG_TEST)

  it('in a namespace enforcing Pod Security restricted, the real admission admits its pods; a policy that refuses them still is named as admission (issue 20, point 8)', async () => {
    cluster.kubectl(cluster.kubeconfig, ['create', 'namespace', 'locked'])
    cluster.kubectl(cluster.kubeconfig, ['label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=restricted'])
    // The hostNetwork client is refused there (its tests would be skips saying so): left out, every other path must pass.
    const result = await runPlugin(['connectivity', '--namespace-for-tests', 'locked', '--family', 'ipv6', '--test', '!^node-to|nodeport/from-node', '--external-target', '2606:4700:4700::1111', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
    expect(result.stderr).toBe('')
    const report = JSON.parse(result.stdout) as {workload: {podSecurity: string}; notReady: unknown[]; results: Array<{test: string; status: string; message: string}>}
    expect(report.notReady).toEqual([])
    expect(report.workload.podSecurity).toBe('restricted')
    expect(report.results.filter((r) => r.test !== 'external' && r.status !== 'pass')).toEqual([])
    expect(report.results.filter((r) => r.test === 'external').map((r) => r.status)).toEqual(['skip', 'skip', 'skip'])
    expect(report.results.find((r) => r.test === 'external')!.message).toMatch(/^ping is not permitted in pod dualstack-client-[0-9a-f]{6}-\w+ \(no NET_RAW, as Pod Security restricted requires/)
    expect(result.code).toBe(0)

    // A ValidatingAdmissionPolicy refuses every pod in the namespace: its refusal, said as admission's.
    cluster.kubectl(cluster.kubeconfig, ['apply', '-f', '-'], JSON.stringify({apiVersion: 'v1', kind: 'List', items: [
      {apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: {name: 'registry-only'}, spec: {failurePolicy: 'Fail',
        matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods']}]},
        validations: [{expression: 'false', message: 'images must come from registry.internal'}]}},
      {apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: {name: 'registry-only'}, spec: {policyName: 'registry-only',
        validationActions: ['Deny'], matchResources: {namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'locked'}}}}},
    ]}))
    try {
      // The policy takes effect once the API server has loaded it.
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        const probe = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'run', 'probe', '-n', 'locked', '--image', 'x', '--dry-run=server', '--overrides',
          JSON.stringify({spec: {securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: 'RuntimeDefault'}}, containers: [{name: 'probe', image: 'x', securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}}}]}})])
        if (/registry\.internal/.test(probe.stderr)) break
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      const refused = await runPlugin(['connectivity', '--namespace-for-tests', 'locked', '--kubeconfig', cluster.kubeconfig])
      expect(refused.stderr).toMatch(/^error: admission refused the test pods in namespace locked, also made as Pod Security restricted wants: pods "[^"]*" is forbidden: ValidatingAdmissionPolicy 'registry-only' with binding 'registry-only' denied request: images must come from registry\.internal; pass --namespace-for-tests NS naming a namespace that admits them/)
      expect(refused.stderr).not.toMatch(/ClusterRole|permission/)
      expect(refused.code).toBe(3)
    } finally {
      cluster.kubectl(cluster.kubeconfig, ['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', 'registry-only'])
    }
    expect(await names(cluster, 'daemonsets,services', '-n', 'locked')).toEqual([])
  }, LONG_TEST)

  it('a finalizer keeps its namespace Terminating on the real server: connectivity waits, then names the pod left in it with the command that lets both go (issue 20, point 5)', async () => {
    cluster.agent!.model.scenario.execLatencyMs = 3000
    let namespace = ''
    let pod = ''
    try {
      // Each exec takes 3 s here (time to put the finalizer on while the tests run): each test may take 30 s, so that a
      // loaded machine does not fail a test by its 5 s default.
      const running = runPlugin(['connectivity', '--family', 'ipv4', '--timeout', '30s', '--delete-timeout', '3s', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
      // Another controller puts its finalizer on a test pod while the tests run.
      for (const deadline = Date.now() + 60_000; !pod && Date.now() < deadline;) {
        const listed = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'pods', '-A', '-l', 'app.kubernetes.io/component=connectivity,dualstack.role=server',
          '-o', 'jsonpath={range .items[*]}{.metadata.namespace} {.metadata.name}{"\\n"}{end}'])
        const [found] = listed.stdout.split('\n').filter(Boolean)
        if (found) [namespace, pod] = found.split(' ') as [string, string]
        else await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(pod).not.toBe('')
      cluster.kubectl(cluster.kubeconfig, ['-n', namespace, 'patch', 'pod', pod, '--type', 'merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}'])
      const result = await running
      expect({code: result.code, failed: result.code === 0 ? [] : result.stdout}).toEqual({code: 0, failed: []})
      const command = `kubectl -n ${namespace} patch pod ${pod} --type merge -p '{"metadata":{"finalizers":null}}'`
      expect(result.stderr).toBe(`warning: namespace ${namespace} is still Terminating 3s after it was deleted: pod ${namespace}/${pod} is left in it (finalizers: example.com/hold); it goes once they are removed: ${command} (the namespace then goes too)\n`)
    } finally {
      cluster.agent!.model.scenario.execLatencyMs = 0
    }
    // The advised command lets the pod go, and the real namespace controller then removes the namespace.
    cluster.kubectl(cluster.kubeconfig, ['-n', namespace, 'patch', 'pod', pod, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}'])
    const gone = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'wait', '--for=delete', `namespace/${namespace}`, '--timeout=90s'])
    expect(gone.code).toBe(0)
    expect(await nothingLeft(cluster)).toEqual([])
  }, LONG_TEST)
})

/** Whether the plugin's server pods exist yet (interruptPlugin polls synchronously). */
function runKubectlSync(cluster: RealCluster): string {
  try {
    return cluster.kubectl(cluster.kubeconfig, ['get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=kubectl-dualstack', '-o', 'name'])
  } catch {
    return ''
  }
}
