// connectivity's paths beyond pod to pod (issue 21, "Paths" and "Also"), on the simulated cluster: each passes
// on the healthy dual-stack cluster and fails with the fault that breaks it; --test chooses them; an exec
// that times out says so; the images are pinned and --image-registry rewrites them.
import {NODE_PATHS, SERVICE_POLICY_TESTS} from '../../src/connectivity/plan.js'
import type {ConnectivityReport} from '../../src/connectivity/run.js'
import {runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import type {Scenario} from '../sim/scenario.js'

type Report = ConnectivityReport

async function connectivity(sim: RunningSim, ...args: string[]): Promise<{code: number; report: Report; stderr: string}> {
  const result = await runPlugin(['connectivity', ...args, '-o', 'json', '--kubeconfig', sim.kubeconfig])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr}
}

describe('connectivity: an exec that never returns', () => {
  it('fails its test with "timed out after Ns", not an empty message', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.faults = [{verb: 'exec', hang: true, times: 1}]
    })
    try {
      const {code, report} = await connectivity(sim, '--family', 'ipv4', '--nodes', 'worker-1', '--test', '^dns$', '--timeout', '1s')
      expect(code).toBe(1)
      const failed = report.results.filter((r) => r.status === 'fail')
      expect(failed).toHaveLength(1)
      expect(failed[0]!.message).toMatch(/^timed out after 13s \(the exec in pod dualstack-client-[0-9a-f]{6}-\w+ did not return\)$/)
    } finally {
      await sim.stop()
    }
  }, 60_000)
})

describe('svc-check: an exec that never returns', () => {
  it('fails its test with "timed out after Ns" too', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.faults = [{verb: 'exec', hang: true, times: 1}]
    })
    try {
      const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--family', 'ipv4', '--timeout', '1s', '-o', 'json', '--kubeconfig', sim.kubeconfig])
      expect(result.code).toBe(1)
      const report = JSON.parse(result.stdout) as {results: Array<{kind: string; status: string; message: string}>}
      const failed = report.results.filter((r) => r.status === 'fail')
      expect(failed.map((r) => r.kind)).toEqual(['ping'])
      expect(failed[0]!.message).toMatch(/^no reply \(pod hello-k8s on cp-1\): timed out after 13s \(the exec in pod [\w-]+ did not return\)/)
    } finally {
      await sim.stop()
    }
  }, 60_000)
})

describe('a probe whose exec fails, or whose ping cannot run: judged alike by svc-check and connectivity', () => {
  it('svc-check: an exec the API server fails (HTTP 500, a stream ended without an exit status) is that test\'s failure saying so; the other tests still run and report', async () => {
    const sim = await startSim('healthy-dual-stack')
    try {
      for (const fault of [{code: 500}, {drop: true}]) {
        sim.server.sim.faults = [{verb: 'exec', times: 1, hits: 0, ...fault}]
        const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--from', 'netshoot', '--family', 'ipv4', '-o', 'json', '--kubeconfig', sim.kubeconfig])
        expect(result.code).toBe(1)
        const report = JSON.parse(result.stdout) as {results: Array<{kind: string; status: string; message: string}>}
        expect(report.results.map((r) => `${r.kind} ${r.status}`)).toEqual(['service-ip pass', 'endpoints pass', 'ping fail', 'http pass'])
        // The exec, not the network, failed: no cause on a node to name, no doctor to send the user to.
        expect(report.results[2]!.message).toMatch(/^no reply \(pod hello-k8s on cp-1\): could not run the test in pod netshoot: \S.*[^;]$/)
        expect(report.results[2]!.message).not.toContain('doctor')
      }
    } finally {
      await sim.stop()
    }
  }, 60_000)

  it('connectivity: ping outside to a name that does not resolve says ping\'s error, not the NAT outgoing advice for lost packets', async () => {
    const sim = await startSim('healthy-dual-stack')
    try {
      const {code, report} = await connectivity(sim, '--family', 'ipv6', '--nodes', 'worker-1', '--test', '^external$', '--external-target', 'no-such-host.invalid')
      expect(code).toBe(1)
      expect(report.results.map((r) => `${r.status} ${r.message}`)).toEqual(['fail no reply: ping: no-such-host.invalid: Name or service not known'])
      const lost = await connectivity(sim, '--family', 'ipv6', '--nodes', 'worker-1', '--test', '^external$', '--external-target', '2001:db8::99')
      expect(lost.report.results.map((r) => `${r.status} ${r.message}`)).toEqual([
        'fail no reply: packets lost; pods reach outside over IPv6 only with natOutgoing on their pool, or a routed range (kubectl dualstack doctor --only calico.ippool.nat-outgoing)'])
    } finally {
      await sim.stop()
    }
  }, 60_000)
})

describe('connectivity: its images', () => {
  it('are pinned by default; --image-registry pulls every one from the mirror, keeping repository and tag; a bad registry is exit 2', async () => {
    const sim = await startSim('healthy-dual-stack')
    const images = () => sim.server.sim.store.list(sim.server.sim.type('apps/v1', 'DaemonSet'))
      .filter((d) => d.metadata.namespace?.startsWith('dualstack-')).flatMap((d) => d.spec.template.spec.containers.map((c: {image: string}) => c.image)).sort()
    try {
      const pinned = await connectivity(sim, '--family', 'ipv4', '--nodes', 'worker-1', '--keep')
      expect(pinned.code).toBe(0)
      expect(pinned.report.workload.images).toEqual({client: 'docker.io/nicolaka/netshoot:v0.13', server: 'registry.k8s.io/e2e-test-images/agnhost:2.52'})
      expect(images().every((image) => !image.endsWith(':latest') && /:[\w.-]+$/.test(image))).toBe(true)

      const mirrored = await connectivity(sim, '--family', 'ipv4', '--nodes', 'worker-1', '--image-registry', 'registry.internal:5000/mirror/', '--image', 'busybox:1.36', '--keep')
      expect(mirrored.code).toBe(0)
      expect(images()).toEqual(expect.arrayContaining(['registry.internal:5000/mirror/e2e-test-images/agnhost:2.52', 'registry.internal:5000/mirror/library/busybox:1.36']))
      expect(mirrored.report.workload.images).toEqual({client: 'registry.internal:5000/mirror/library/busybox:1.36', server: 'registry.internal:5000/mirror/e2e-test-images/agnhost:2.52'})

      const bad = await runPlugin(['connectivity', '--image-registry', 'https://registry.internal', '--kubeconfig', sim.kubeconfig])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toBe('error: --image-registry https://registry.internal has a scheme: give the registry as a host, e.g. registry.internal:5000/mirror\n')
    } finally {
      await sim.stop()
    }
  }, 60_000)
})

describe('connectivity --test', () => {
  it('runs only the tests it chooses, says so, and refuses a bad expression in one line (exit 2) before touching the cluster', async () => {
    const sim = await startSim('healthy-dual-stack')
    try {
      const {code, report} = await connectivity(sim, '--test', 'pod-to-pod', '--test', '!cross-node')
      expect(code).toBe(0)
      expect(new Set(report.results.map((r) => r.test))).toEqual(new Set(['pod-to-pod/same-node', 'pod-to-pod/large-payload']))
      expect(report.results).toHaveLength(12)
      expect(report.chosen).toEqual({expressions: ['pod-to-pod', '!cross-node'], tests: ['pod-to-pod/same-node', 'pod-to-pod/large-payload']})
      const table = await runPlugin(['connectivity', '--test', 'dns,^pod-to-service$', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(0)
      expect(table.stdout.split('\n')[1]).toBe('Tests of --test dns,^pod-to-service$: pod-to-service, dns')
      expect(table.stdout).toMatch(/all 12 tests passed on 3 nodes/)

      const before = sim.server.sim.requests.length
      const bad = await runPlugin(['connectivity', '--test', 'pod-(to', '--kubeconfig', sim.kubeconfig])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/^error: --test "pod-\(to" is not a regular expression \([^\n]+\); e\.g\. --test 'pod-to-pod' or --test '!dns'; the tests: pod-to-pod\/same-node, [^\n]+\n$/)
      const none = await runPlugin(['connectivity', '--test', 'nothing-like-it', '--kubeconfig', sim.kubeconfig])
      expect(none.code).toBe(2)
      expect(none.stderr).toMatch(/^error: --test nothing-like-it chooses no test; the tests: [^\n]+\n$/)
      expect(sim.server.sim.requests.length).toBe(before)
    } finally {
      await sim.stop()
    }
  }, 60_000)
})

/** Four dual-stack nodes: the healthy cluster and one more worker. */
function fourNodes(s: Scenario): void {
  s.nodes.push({name: 'worker-3', addresses: ['10.0.0.13', 'fd00:10::13'], podCIDRs: ['10.244.3.0/24', 'fd00:10:244:3::/64']})
}

const key = (r: {test: string; family: string; fromNode: string; toNode?: string}) => `${r.test} ${r.family} ${r.fromNode}->${r.toNode ?? ''}`

/** The tests that read the API only. */
const API_ONLY = new Set(['pod-ips', 'host-ips'])
/** The tests that are one request in their pod's curl. */
const BATCHED = new Set(['pod-to-pod/same-node', 'pod-to-pod/cross-node', 'node-to-pod', 'pod-to-pod/large-payload', 'pod-to-service', 'node-to-service', 'nodeport/from-pod', 'nodeport/from-node'])

describe('connectivity: the e2e suite\'s paths on a healthy dual-stack cluster', () => {
  it('runs each per node and family, and a Service of each ipFamilyPolicy; all pass; everything it made (a hostNetwork DaemonSet, five Services) is deleted', async () => {
    const sim = await startSim('healthy-dual-stack')
    const {store, requests} = sim.server.sim
    let namespaceLabel: string | undefined
    store.subscribe((event) => {
      if (event.type === 'ADDED' && event.object.kind === 'Namespace' && event.object.metadata.name?.startsWith('dualstack-connectivity-')) {
        namespaceLabel = event.object.metadata.labels?.['pod-security.kubernetes.io/enforce']
      }
    })
    try {
      const {code, report, stderr} = await connectivity(sim)
      expect(stderr).toBe('')
      expect(report.results.filter((r) => r.status !== 'pass')).toEqual([])
      expect(code).toBe(0)
      for (const family of ['ipv4', 'ipv6'] as const) {
        for (const test of NODE_PATHS) {
          expect(report.results.filter((r) => r.test === test && r.family === family).map((r) => r.fromNode)).toEqual(['cp-1', 'worker-1', 'worker-2'])
        }
        expect(report.results.filter((r) => r.test.startsWith('service/') && r.family === family).map((r) => r.test)).toEqual([...SERVICE_POLICY_TESTS])
      }
      expect(report.summary).toEqual({pass: 30 + 3 * 2 * NODE_PATHS.length + 2 * SERVICE_POLICY_TESTS.length, fail: 0, skip: 0, notReady: 0})
      const byKey = new Map(report.results.map((r) => [key(r), r]))
      // Where each one goes: the ring's next node, or (node-local Services) the sender's own.
      expect(byKey.get('nodeport/from-pod ipv6 worker-2->cp-1')!.to).toBe('node cp-1 fd00:10::10 NodePort 30000')
      expect(byKey.get('node-to-pod ipv4 cp-1->worker-1')!.from).toMatch(/^dualstack-host-[0-9a-f]{6}-\w+ \(cp-1\)$/)
      expect(byKey.get('hairpin ipv6 worker-1->worker-1')!.message).toMatch(/^answered by itself \(dualstack-server-[0-9a-f]{6}-\w+\)$/)
      expect(byKey.get('udp-to-service ipv4 worker-2->worker-2')!.message).toMatch(/^UDP answer from dualstack-server-[0-9a-f]{6}-\w+$/)
      expect(byKey.get('pod-to-pod/large-payload ipv6 worker-2->cp-1')!.message).toBe('2,000-byte echo, HTTP 200')
      expect(byKey.get('host-ips ipv6 worker-1->worker-1')!.message).toBe('status.hostIPs of 3 pods hold fd00:10::11')
      expect(byKey.get('service/require-dual-stack/ipv6-first ipv4 cp-1->cp-1')!.message).toMatch(/^ipFamilies IPv6,IPv4, ClusterIP 10\.96\.\d+\.\d+; EndpointSlices IPv4: 3 endpoints; HTTP 200$/)
      expect(byKey.get('service/single-stack ipv6 worker-1->worker-1')!.message).toMatch(/^ipFamilies IPv6, ClusterIP fd00:10:96::\w+; EndpointSlices IPv6: 3 endpoints; HTTP 200$/)

      // What it made: the hostNetwork client in a namespace of its own labelled privileged, as the e2e suite's.
      expect(namespaceLabel).toBe('privileged')
      expect(report.workload).toMatchObject({namespacePodSecurity: 'privileged', podSecurity: 'baseline', hostNetwork: {run: true}})
      const run = report.workload.run
      expect(report.workload.daemonSets).toEqual([`dualstack-server-${run}`, `dualstack-client-${run}`, `dualstack-host-${run}`])
      expect(report.workload.services).toEqual(['', '-single-ipv4', '-single-ipv6', '-require-ipv4-ipv6', '-require-ipv6-ipv4'].map((x) => `dualstack-server-${run}${x}`))
      const ns = report.namespace
      const created = requests.filter((r) => r.verb === 'create' && !r.dryRun && r.code === 201 && r.namespace === ns).map((r) => r.resource).sort()
      const deleted = requests.filter((r) => r.verb === 'delete' && r.namespace === ns).map((r) => r.resource).sort()
      expect(created).toEqual([...Array(3).fill('daemonsets'), ...Array(5).fill('services')])
      expect(deleted).toEqual(created)
      expect(store.get(sim.server.sim.type('v1', 'Namespace'), undefined, ns)).toBeUndefined()
      // The HTTP tests of a pod go in one curl of at most 10 requests: a client's 12 (same node, the ring's next two
      // nodes, the Service, a NodePort, the large echo; both families) in two, its host's 6 in one; the policy
      // Services' 8 requests go alone (each after reading its Service); one exec for each other test but the
      // pods' addresses, which are read from the API.
      const curls = requests.filter((r) => r.verb === 'exec' && r.namespace === ns && r.path.includes('command=curl') && !r.path.includes('hostname'))
      expect(curls).toHaveLength(3 * (2 + 1) + 8)
      expect(requests.filter((r) => r.verb === 'exec' && r.namespace === ns)).toHaveLength(curls.length + report.results.filter((r) => !API_ONLY.has(r.test) && !BATCHED.has(r.test) && !r.test.startsWith('service/')).length)

      const junit = await runPlugin(['connectivity', '--test', 'hairpin|udp', '-o', 'junit', '--kubeconfig', sim.kubeconfig])
      expect(junit.stdout).toMatch(/<testsuite name="kubectl-dualstack connectivity" tests="12" failures="0" errors="0" skipped="0">/)
      expect(junit.stdout).toMatch(/<testcase classname="connectivity\.hairpin" name="ipv6 dualstack-server-/)
      expect(junit.stdout).toMatch(/<testcase classname="connectivity\.udp-to-service" name="ipv4 dualstack-client-/)
    } finally {
      await sim.stop()
    }
  }, 60_000)
})

describe('connectivity: each path fails with the fault that breaks it, and nothing else does', () => {
  it('UDP dropped, a narrow MTU, no hairpin, NodePorts on IPv4 only, a node without an IPv6 InternalIP: exactly their tests fail, each saying why', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      fourNodes(s)
      const node = (name: string) => s.nodes.find((n) => n.name === name)!
      node('cp-1').udpDropped = ['ipv4']
      node('worker-1').mtu = {ipv6: 1400}
      Object.assign(node('worker-2'), {hairpin: false, nodePortAddresses: ['10.0.0.0/16']})
      node('worker-3').addresses = ['10.0.0.13']
    })
    try {
      const {code, report} = await connectivity(sim, '--timeout', '1s')
      expect(code).toBe(1)
      const failed = new Map(report.results.filter((r) => r.status === 'fail').map((r) => [key(r), r.message]))
      expect([...failed.keys()].sort()).toEqual([
        'hairpin ipv4 worker-2->worker-2', 'hairpin ipv6 worker-2->worker-2',
        'host-ips ipv6 worker-3->worker-3',
        'node-to-pod ipv6 worker-3->cp-1', 'node-to-service ipv6 worker-3->worker-3',
        'nodeport/from-node ipv6 worker-1->worker-2', 'nodeport/from-node ipv6 worker-2->worker-3', 'nodeport/from-node ipv6 worker-3->cp-1',
        'nodeport/from-pod ipv6 worker-1->worker-2', 'nodeport/from-pod ipv6 worker-2->worker-3',
        'pod-to-pod/large-payload ipv6 cp-1->worker-1', 'pod-to-pod/large-payload ipv6 worker-1->worker-2',
        'udp-to-service ipv4 cp-1->cp-1',
      ])
      expect(report.summary.skip).toBe(0)
      // The verdict names each with the tests it is about (their other tests pass), and leaves nothing unexplained.
      // NodePorts are tried on the ring's next node only: worker-2 serving none over IPv6 and worker-3 having no
      // IPv6 address look like one fault at worker-2 (in and out), the fewest.
      expect(report.verdict.culprits.map((c) => `${c.node} ${c.family} ${c.direction} ${c.tests?.join(',')}`)).toEqual([
        'cp-1 ipv4 on-node udp-to-service', 'worker-1 ipv6 both pod-to-pod/large-payload', 'worker-2 ipv4 on-node hairpin',
        'worker-2 ipv6 both nodeport/from-pod,nodeport/from-node', 'worker-2 ipv6 on-node hairpin', 'worker-3 ipv6 out node-to-pod,node-to-service,nodeport/from-node',
      ])
      expect([report.verdict.paths, report.verdict.ambiguous, report.verdict.unexplained]).toEqual([[], [], []])
      expect(report.nodeSummary.find((n) => n.node === 'worker-1')!.findings[0]).toBe('IPv6 pod-to-pod/large-payload fails in and out; its other tests pass')
      expect(failed.get('udp-to-service ipv4 cp-1->cp-1')).toBe('no UDP answer in 1s; TCP to the same Service passes (pod-to-service), UDP does not: '
        + 'UDP is dropped on the way (a firewall or security group passing TCP only, kube-proxy\'s UDP rules, stale conntrack entries)')
      for (const path of ['cp-1->worker-1', 'worker-1->worker-2']) {
        expect(failed.get(`pod-to-pod/large-payload ipv6 ${path}`)).toMatch(/^the 2,000-byte echo failed: curl exit 28: timed out; small packets pass on this path \(pod-to-pod\/cross-node\), large fail: an MTU problem/)
      }
      expect(failed.get('hairpin ipv6 worker-2->worker-2')).toMatch(/^a server cannot reach itself through its Service: curl exit 28: timed out; the client pod on the node reaches the Service \(pod-to-service\), the server not itself through it: hairpin traffic is dropped there/)
      expect(failed.get('nodeport/from-pod ipv6 worker-1->worker-2')).toBe('curl exit 7: connection refused or no route; the node\'s pods answer over IPv6 (pod-to-pod/cross-node), its NodePort does not: '
        + 'kube-proxy on it serves no NodePort on that address (its --nodeport-addresses must hold the node\'s IPv6 address)')
      expect(failed.get('nodeport/from-pod ipv6 worker-2->worker-3')).toBe('node worker-3 has no IPv6 InternalIP to reach a NodePort on (the kubelet\'s --node-ip names one family; give it both)')
      expect(failed.get('host-ips ipv6 worker-3->worker-3')).toBe('node worker-3 has no IPv6 InternalIP, so its pods\' status.hostIPs have none (10.0.0.13): the kubelet\'s --node-ip names one family; give it both (--node-ip=IPV4,IPV6)')
    } finally {
      await sim.stop()
    }
  }, 60_000)

  it('from the host: a node without IPv6 forwarding drops what it would forward to its pods, not what its own host sends', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.nodes.find((n) => n.name === 'worker-2')!.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
    })
    try {
      const {report} = await connectivity(sim, '--test', '^node-to-', '--family', 'ipv6', '--timeout', '1s')
      // Through the node-local Service too: the host's packet to its own pod is not forwarded.
      expect(report.results.map((r) => `${key(r)} ${r.status}`)).toEqual([
        'node-to-pod ipv6 cp-1->worker-1 pass', 'node-to-service ipv6 cp-1->cp-1 pass',
        'node-to-pod ipv6 worker-1->worker-2 fail', 'node-to-service ipv6 worker-1->worker-1 pass',
        'node-to-pod ipv6 worker-2->cp-1 pass', 'node-to-service ipv6 worker-2->worker-2 pass',
      ])
    } finally {
      await sim.stop()
    }
  }, 60_000)

  it('pods that get no IPv6 address fail pod-ips over IPv6 on every node, naming the pods', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      const cm = s.objects!.find((o) => o.metadata.name === 'calico-config')!
      const data = cm.data as Record<string, string>
      data.cni_network_config = data.cni_network_config!.replace('"assign_ipv6": "true"', '"assign_ipv6": "false"')
    })
    try {
      const {report} = await connectivity(sim, '--test', '^pod-ips$')
      expect(report.results.filter((r) => r.family === 'ipv4').map((r) => r.status)).toEqual(['pass', 'pass', 'pass'])
      const v6 = report.results.filter((r) => r.family === 'ipv6')
      expect(v6.map((r) => r.status)).toEqual(['fail', 'fail', 'fail'])
      expect(v6[0]!.message).toMatch(/^pod dualstack-server-\w+-\w+ has no IPv6 address \(podIPs: 10\.244\.[\d.]+\); pod dualstack-client-\w+-\w+ has no IPv6 address/)
    } finally {
      await sim.stop()
    }
  }, 60_000)

  it('a Service of each policy on a single-stack cluster: RequireDualStack and an IPv6 SingleStack are refused (fail), a skip saying why with --family ipv4; before 1.20 skips', async () => {
    const sim = await startSim('ipv4-only')
    try {
      const all = await connectivity(sim, '--test', '^service/', '--timeout', '1s')
      const outcome = (r: Report['results'][number]) => `${r.test} ${r.family} ${r.status}`
      expect(all.report.results.map(outcome)).toEqual([
        'service/single-stack ipv4 pass', 'service/prefer-dual-stack ipv4 fail', 'service/require-dual-stack/ipv4-first ipv4 fail', 'service/require-dual-stack/ipv6-first ipv4 fail',
        'service/single-stack ipv6 fail', 'service/prefer-dual-stack ipv6 fail', 'service/require-dual-stack/ipv4-first ipv6 fail', 'service/require-dual-stack/ipv6-first ipv6 fail',
      ])
      const message = (test: string, family: string) => all.report.results.find((r) => r.test === test && r.family === family)!.message
      expect(message('service/prefer-dual-stack', 'ipv4')).toBe('PreferDualStack: one family (IPv4): the API server has one Service range (--service-cluster-ip-range)')
      expect(message('service/require-dual-stack/ipv4-first', 'ipv4')).toMatch(/^the API server refused RequireDualStack ipFamilies IPv4,IPv6: Service "dualstack-server-\w+-require-ipv4-ipv6" is invalid: .*"RequireDualStack": this cluster is not configured for dual-stack services/)
      expect(message('service/single-stack', 'ipv6')).toMatch(/^the API server refused SingleStack ipFamilies IPv6: .*"IPv6": not configured on this cluster/)
      const one = await connectivity(sim, '--test', '^service/', '--family', 'ipv4')
      expect(one.code).toBe(0)
      expect(one.report.results.map(outcome)).toEqual(['service/single-stack ipv4 pass', 'service/prefer-dual-stack ipv4 pass',
        'service/require-dual-stack/ipv4-first ipv4 skip', 'service/require-dual-stack/ipv6-first ipv4 skip'])
      expect(one.report.results[2]!.message).toMatch(/^the API server refuses RequireDualStack \(.*\): Services have one family here; --family all fails on it$/)
      // The refused Services were never made; what was made is gone.
      expect(one.report.workload.services).toHaveLength(2)
    } finally {
      await sim.stop()
    }
    const old = await startSim('runbook-rke-1.18')
    try {
      const {report} = await connectivity(old, '--test', '^service/|host-ips', '--family', 'ipv4')
      expect(new Set(report.results.map((r) => r.status))).toEqual(new Set(['skip']))
      expect(report.results.find((r) => r.test === 'service/single-stack')!.message).toBe('ipFamilyPolicy is from Kubernetes 1.20; this cluster is v1.18.20 (a Service has one family, its alpha ipFamily field)')
      expect(report.results.find((r) => r.test === 'host-ips')!.message).toMatch(/^status\.hostIPs comes with Kubernetes 1\.29 \(the PodHostIPs feature; alpha in 1\.28\); this cluster is v1\.18\.20: status\.hostIP 10\.10\.0\.\d+ only$/)
      expect(report.workload.services).toEqual([`dualstack-server-${report.workload.run}-ipv4`])
    } finally {
      await old.stop()
    }
  }, 90_000)
})

describe('connectivity: the hostNetwork client and Pod Security', () => {
  it('in a namespace enforcing baseline the host tests are skips saying why and what to do, the others run; without host tests its own namespace stays baseline', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.objects!.push({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'apps', labels: {'pod-security.kubernetes.io/enforce': 'baseline'}}})
    })
    try {
      const {code, report} = await connectivity(sim, '--namespace-for-tests', 'apps', '--family', 'ipv4', '--test', 'node-to|nodeport|same-node')
      expect(code).toBe(0)
      const skipped = report.results.filter((r) => r.status === 'skip')
      expect(skipped.map((r) => r.test).sort()).toEqual([...Array(3).fill('node-to-pod'), ...Array(3).fill('node-to-service'), ...Array(3).fill('nodeport/from-node')])
      expect(skipped[0]!.message).toBe('admission refused the hostNetwork client in namespace apps: pods "dualstack-host-' + report.workload.run
        + '-xxxxx" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true); leave --namespace-for-tests out (the namespace a run makes admits it), '
        + 'or label the namespace pod-security.kubernetes.io/enforce=privileged; --test \'!^node-to|nodeport/from-node\' leaves the host tests out')
      expect(report.results.filter((r) => r.status === 'pass').map((r) => r.test).sort()).toEqual([...Array(3).fill('nodeport/from-pod'), ...Array(3).fill('pod-to-pod/same-node')])
      expect(report.workload.hostNetwork).toEqual({run: false, reason: expect.stringMatching(/^admission refused the hostNetwork client/)})
      expect(report.workload.daemonSets).toHaveLength(2)

      const own = await connectivity(sim, '--family', 'ipv4', '--test', "!^node-to|nodeport/from-node")
      expect(own.code).toBe(0)
      expect(own.report.workload).toMatchObject({namespacePodSecurity: 'baseline', hostNetwork: {run: false, reason: 'no host test chosen'}})
      expect(own.report.workload.daemonSets).toHaveLength(2)
    } finally {
      await sim.stop()
    }
  }, 60_000)
})
