// connectivity against the simulated cluster: every node tested (DaemonSets of test pods), the node without
// IPv6 forwarding found wherever it is, a node whose firewall drops IPv6 from other nodes and a pair of nodes
// that cannot reach each other named as such, a node whose pod stays Pending, taints, --nodes, --sample, and
// everything it made deleted (request record and store), also on Ctrl-C.
import type {ConnectivityReport} from '../../src/connectivity/run.js'
import {generateNodes} from '../sim/generate.js'
import {interruptPlugin, runKubectl, runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import {viaOperator, type Scenario} from '../sim/scenario.js'

// What -o json prints is the report the command returns.
type Report = ConnectivityReport

/** The tests these cases are about (the node verdicts, the workload): the e2e suite's other paths are test/commands/connectivity-paths.test.ts's. */
const CORE = ['--test', '^(pod-to-pod/(same|cross)-node|pod-to-service|dns|external)$']

async function connectivity(sim: RunningSim, ...args: string[]): Promise<{code: number; report: Report; stderr: string}> {
  const result = await runPlugin(['connectivity', ...CORE, ...args, '-o', 'json', '--kubeconfig', sim.kubeconfig])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr}
}

/** One exec per DNS and outside test; the HTTP tests of a client pod (both families, at most 10) go in one curl. */
function execsOf(report: Report): number {
  return report.results.filter((r) => r.test === 'dns' || r.test === 'external').length + report.nodes.length
}

/** Everything the run created is gone: the store has none of it and each create has its delete. */
function expectCleanedUp(sim: RunningSim, namespace: string): void {
  const {store, requests} = sim.server.sim
  expect(store.list(sim.server.sim.type('v1', 'Pod'), namespace)).toEqual([])
  expect(store.list(sim.server.sim.type('apps/v1', 'DaemonSet'), namespace)).toEqual([])
  expect(store.list(sim.server.sim.type('v1', 'Service'), namespace)).toEqual([])
  expect(store.get(sim.server.sim.type('v1', 'Namespace'), undefined, namespace)).toBeUndefined()
  const created = requests.filter((r) => r.verb === 'create' && !r.dryRun && r.code === 201 && r.namespace === namespace)
  const deleted = requests.filter((r) => r.verb === 'delete' && r.namespace === namespace)
  expect(created.map((r) => r.resource).sort()).toEqual(['daemonsets', 'daemonsets', 'services'])
  expect(deleted.map((r) => r.resource).sort()).toEqual(['daemonsets', 'daemonsets', 'services'])
  expect(requests.filter((r) => r.verb === 'delete' && r.resource === 'namespaces' && r.name === namespace)).toHaveLength(1)
}

/** Four dual-stack nodes: the healthy cluster and one more worker. */
function fourNodes(s: Scenario): void {
  s.nodes.push({name: 'worker-3', addresses: ['10.0.0.13', 'fd00:10::13'], podCIDRs: ['10.244.3.0/24', 'fd00:10:244:3::/64']})
}

describe('connectivity', () => {
  it('tests every node over both families (same node, the next two nodes of a ring, the Service, DNS, outside) and removes its workload', async () => {
    const sim = await startSim('healthy-dual-stack')
    try {
      const {code, report} = await connectivity(sim, '--external-target', '2606:4700:4700::1111')
      expect(code).toBe(0)
      expect(report.nodes).toEqual(['cp-1', 'worker-1', 'worker-2'])
      expect(sim.server.sim.requests.filter((r) => r.verb === 'exec' && r.namespace === report.namespace)).toHaveLength(execsOf(report))
      const ring = report.results.filter((r) => r.test === 'pod-to-pod/cross-node' && r.family === 'ipv6').map((r) => `${r.fromNode}->${r.toNode}`)
      expect(ring).toEqual(['cp-1->worker-1', 'cp-1->worker-2', 'worker-1->worker-2', 'worker-1->cp-1', 'worker-2->cp-1', 'worker-2->worker-1'])
      expect(report.summary).toEqual({pass: 33, fail: 0, skip: 0, notReady: 0})
      expect(report.nodeSummary.map((n) => n.status)).toEqual(['pass', 'pass', 'pass'])
      expect(report.verdict).toEqual({culprits: [], paths: [], ambiguous: [], everywhere: [], unexplained: []})
      expect(report.nodeSummary[0]!.families.ipv6).toEqual({sent: {pass: 6, fail: 0}, received: {pass: 4, fail: 0}})
      expect(report.results.find((r) => r.test === 'dns' && r.family === 'ipv6')!.message).toMatch(/^AAAA fd00:10:96::/)
      expectCleanedUp(sim, report.namespace)

      // Kept this time: each test ran in a client pod that is on the node it names, against a server on the other.
      const kept = (await connectivity(sim, '--keep', '--family', 'ipv4')).report
      const namespace = sim.server.sim.store.get(sim.server.sim.type('v1', 'Namespace'), undefined, kept.namespace)!
      expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('baseline')
      expect(kept.workload).toMatchObject({namespaceCreated: true, kept: true})
      const podNodes = new Map(sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod'), kept.namespace).map((p) => [p.metadata.name, p.spec?.nodeName]))
      expect(podNodes.size).toBe(6)
      const nodeOf = (text: string) => podNodes.get(text.split(' ')[0]!)
      expect(kept.results.map((r) => nodeOf(r.from))).toEqual(kept.results.map((r) => r.fromNode))
      const podToPod = kept.results.filter((r) => r.test.startsWith('pod-to-pod/'))
      expect(podToPod.map((r) => nodeOf(r.to))).toEqual(podToPod.map((r) => r.toNode))
    } finally {
      await sim.stop()
    }
  })

  it('finds the node without IPv6 forwarding wherever it is, and names the cause; IPv4 and the other nodes pass', async () => {
    for (const bad of ['cp-1', 'worker-1', 'worker-2', 'worker-3']) {
      const sim = await startSim('healthy-dual-stack', (s) => {
        fourNodes(s)
        s.nodes.find((n) => n.name === bad)!.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
      })
      try {
        const {code, report} = await connectivity(sim, '--timeout', '1s')
        expect(code).toBe(1)
        expect(report.nodes).toEqual(['cp-1', 'worker-1', 'worker-2', 'worker-3'])
        expect(report.results.filter((r) => r.status === 'fail').every((r) => r.family === 'ipv6' && (r.fromNode === bad || r.toNode === bad))).toBe(true)
        const failing = report.nodeSummary.filter((n) => n.status === 'fail')
        expect(failing.map((n) => n.node)).toEqual([bad])
        expect(failing[0]!.findings).toEqual(['IPv6 fails in and out; IPv6 forwarding is 0 there (net.ipv6.conf.all.forwarding; kubectl dualstack doctor --only node.ipv6-forwarding)'])
        expect(report.verdict.culprits).toEqual([expect.objectContaining({node: bad, family: 'ipv6', direction: 'both', onNode: true})])
        // On four nodes it sends to two and hears from two: every other node.
        expect(report.nodeSummary.filter((n) => n.status === 'affected')).toHaveLength(3)
        expectCleanedUp(sim, report.namespace)
      } finally {
        await sim.stop()
      }
    }
  })

  it('a node whose host firewall drops IPv6 from other nodes: only that node is named (in, IPv6); the others pass or are affected, none fails (issue 21)', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      fourNodes(s)
      s.nodes.find((n) => n.name === 'worker-2')!.firewall = [{family: 'ipv6', direction: 'in'}]
    })
    try {
      const {code, report} = await connectivity(sim, '--timeout', '1s')
      expect(code).toBe(1)
      expect(report.results.filter((r) => r.status === 'fail').map((r) => `${r.family} ${r.fromNode}->${r.toNode}`)).toEqual(['ipv6 cp-1->worker-2', 'ipv6 worker-1->worker-2'])
      expect(report.verdict).toEqual({
        culprits: [{node: 'worker-2', family: 'ipv6', direction: 'in', onNode: false, peers: ['cp-1', 'worker-1'], failedTests: 2}],
        paths: [], ambiguous: [], everywhere: [], unexplained: [],
      })
      expect(report.nodeSummary.map((n) => [n.node, n.status])).toEqual([['cp-1', 'affected'], ['worker-1', 'affected'], ['worker-2', 'fail'], ['worker-3', 'pass']])
      // Its forwarding was read (it is the suspect) and is on: no cause is made up.
      expect(report.nodeSummary.find((n) => n.node === 'worker-2')!.findings).toEqual(['IPv6 fails in from other nodes (from cp-1, worker-1); out passes'])

      const table = await runPlugin(['connectivity', ...CORE, '--timeout', '1s', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(1)
      const nodes = table.stdout.split('\nNodes:\n')[1]!.split('\n\n')[0]!.split('\n')
      expect(nodes).toEqual([
        '  ✖ worker-2: IPv6 fails in from other nodes (from cp-1, worker-1); out passes',
        '  ! cp-1: IPv6 with worker-2 fails (see that node)',
        '  ! worker-1: IPv6 with worker-2 fails (see that node)',
      ])
      expect(table.stdout).toMatch(/worker-3 +✔ 5\/5 +✔ 4\/4 +✔ 5\/5 +✔ 4\/4 +pass/)
      expect(table.stdout).toMatch(/\n2 of 40 tests failed; culprit: worker-2 \(IPv6 in\)\n$/)
      const junit = await runPlugin(['connectivity', ...CORE, '--timeout', '1s', '-o', 'junit', '--kubeconfig', sim.kubeconfig])
      expect(junit.stdout).toMatch(/<testsuite name="kubectl-dualstack connectivity" tests="40" failures="2" errors="0" skipped="0">/)
    } finally {
      await sim.stop()
    }
  })

  it('two nodes that fail only with each other: the path between them, and neither node is failing', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      fourNodes(s)
      s.nodes.find((n) => n.name === 'worker-1')!.firewall = [{family: 'ipv6', direction: 'both', peers: ['worker-3']}]
    })
    try {
      const {code, report} = await connectivity(sim, '--timeout', '1s')
      expect(code).toBe(1)
      expect(report.verdict.culprits).toEqual([])
      expect(report.verdict.paths).toEqual([{from: 'worker-1', to: 'worker-3', family: 'ipv6', bothWays: true, reverse: 'fail', othersPass: true, failedTests: 2}])
      expect(report.nodeSummary.map((n) => [n.node, n.status])).toEqual([['cp-1', 'pass'], ['worker-1', 'affected'], ['worker-2', 'pass'], ['worker-3', 'affected']])
      const table = await runPlugin(['connectivity', ...CORE, '--timeout', '1s', '--kubeconfig', sim.kubeconfig])
      expect(table.stdout.split('\nNodes:\n')[1]!.split('\n\n')[0]!.split('\n')).toEqual([
        '  ✖ worker-1 -> worker-3: IPv6 fails both ways; both pass with every other node: the path between them',
        '  ! worker-1: IPv6 with worker-3 fails both ways: the path between them',
        '  ! worker-3: IPv6 with worker-1 fails both ways: the path between them',
      ])
      expect(table.stdout).toMatch(/\n2 of 40 tests failed; culprit: the path worker-1 <-> worker-3 \(IPv6\)\n$/)
    } finally {
      await sim.stop()
    }
  })

  it('names the cause on an operator install too (calico-node in calico-system)', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      viaOperator([{cidr: '10.244.0.0/16', encapsulation: 'None', natOutgoing: 'Enabled'}, {cidr: 'fd00:10:244::/56', encapsulation: 'None', natOutgoing: 'Enabled'}])(s)
      s.nodes[2]!.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
    })
    try {
      const {code, report} = await connectivity(sim, '--timeout', '1s')
      expect(code).toBe(1)
      expect(report.nodeSummary.filter((n) => n.status === 'fail').map((n) => `${n.node}: ${n.findings.join('; ')}`))
        .toEqual([expect.stringMatching(/^worker-2: IPv6 fails in and out; IPv6 forwarding is 0 there/)])
    } finally {
      await sim.stop()
    }
  })

  it('a node whose test pod stays Pending is reported by name with the reason, and the others are still tested', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      fourNodes(s)
      s.nodes.find((n) => n.name === 'worker-2')!.podsPending = {reason: 'ErrImagePull', message: 'failed to pull image: dial tcp: i/o timeout'}
    })
    try {
      const table = await runPlugin(['connectivity', ...CORE, '--ready-timeout', '2s', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(1)
      expect(table.stdout).toMatch(/worker-2 +- +- +- +- +not-ready/)
      expect(table.stdout).toMatch(/✖ worker-2: not tested: server pod dualstack-server-[0-9a-f]{6}-\w+ Pending: ErrImagePull: failed to pull image: dial tcp: i\/o timeout; client pod dualstack-client-[0-9a-f]{6}-\w+ Pending: ErrImagePull/)
      expect(table.stdout).toMatch(/\n30 tests passed; not tested \(test pods not Ready\): worker-2\n$/)
      const {code, report} = await connectivity(sim, '--ready-timeout', '2s')
      expect(code).toBe(1)
      expect(report.notReady.map((n) => n.node)).toEqual(['worker-2'])
      expect([...new Set(report.results.map((r) => r.fromNode))].sort()).toEqual(['cp-1', 'worker-1', 'worker-3'])
      expect(report.summary).toEqual({pass: 30, fail: 0, skip: 0, notReady: 1})
      expectCleanedUp(sim, report.namespace)
    } finally {
      await sim.stop()
    }
  })

  it('skips tainted and cordoned nodes unless asked, and says so; --include-tainted runs the pods there', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      fourNodes(s)
      s.nodes.find((n) => n.name === 'cp-1')!.taints = [{key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'}]
      s.nodes.find((n) => n.name === 'worker-3')!.unschedulable = true
    })
    try {
      const table = await runPlugin(['connectivity', ...CORE, '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(0)
      expect(table.stdout.split('\n').slice(0, 2)).toEqual([
        expect.stringMatching(/^Testing all 2 nodes from namespace dualstack-connectivity-\w+ \(deleted afterwards\)$/),
        'Skipped 2: cp-1 (tainted node-role.kubernetes.io/control-plane:NoSchedule (--include-tainted tests it)), worker-3 (cordoned (unschedulable))',
      ])
      const {report} = await connectivity(sim, '--include-tainted')
      expect(report.nodes).toEqual(['cp-1', 'worker-1', 'worker-2'])
      expect(report.summary.fail).toBe(0)
      const placed = sim.server.sim.requests.filter((r) => r.verb === 'exec' && r.namespace === report.namespace)
      expect(placed.length).toBe(execsOf(report))
      expect(report.results.some((r) => r.fromNode === 'cp-1')).toBe(true)
    } finally {
      await sim.stop()
    }
  })

  it('--nodes tests exactly those; an unknown name is a usage error; --node-selector asks the API server', async () => {
    const sim = await startSim('healthy-dual-stack', fourNodes)
    try {
      const {report} = await connectivity(sim, '--nodes', 'worker-3,worker-1', '--family', 'ipv6')
      expect(report.nodes).toEqual(['worker-1', 'worker-3'])
      expect(new Set(report.results.map((r) => r.family))).toEqual(new Set(['ipv6']))
      const table = await runPlugin(['connectivity', ...CORE, '--nodes', 'worker-1', '--family', 'ipv4', '--kubeconfig', sim.kubeconfig])
      expect(table.stdout.split('\n')[0]).toMatch(/^Testing the 1 node of --nodes from namespace dualstack-connectivity-\w+ \(deleted afterwards\)$/)
      const unknown = await runPlugin(['connectivity', ...CORE, '--nodes', 'worker-9', '--kubeconfig', sim.kubeconfig])
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toBe('error: no node named worker-9; kubectl get nodes lists them\n')
      const none = await runPlugin(['connectivity', ...CORE, '--node-selector', 'nosuch=label', '--kubeconfig', sim.kubeconfig])
      expect(none.code).toBe(2)
      expect(none.stderr).toBe("error: no node matches --node-selector nosuch=label; kubectl get nodes -l 'nosuch=label' shows what it picks\n")
      const selected = await connectivity(sim, '--node-selector', 'node-role.kubernetes.io/control-plane')
      expect(selected.report.nodes).toEqual(['cp-1'])
      expect(sim.server.sim.requests.some((r) => r.verb === 'list' && r.resource === 'nodes' && /labelSelector=node-role/.test(r.path))).toBe(true)
    } finally {
      await sim.stop()
    }
  })

  it('--sample N keeps every suspicious node and says it sampled in the first line', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      generateNodes(s, 12)
      s.nodes[7]!.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
    })
    try {
      const table = await runPlugin(['connectivity', ...CORE, '--sample', '3', '--timeout', '1s', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(1)
      expect(table.stdout.split('\n')[0]).toMatch(/^Testing 3 of 12 nodes from namespace dualstack-connectivity-\w+ \(deleted afterwards\): a sample holding the 1 suspicious node \(node-00007: IPv6 forwarding is 0\) and the rest spread over the node names; --sample 0 tests all$/)
      expect(table.stdout).toMatch(/✖ node-00007: IPv6 fails in and out; IPv6 forwarding is 0 there/)
      const {report} = await connectivity(sim, '--sample', '3', '--timeout', '1s')
      expect(report.nodes).toHaveLength(3)
      expect(report.nodes).toContain('node-00007')
      expect(report.sample).toEqual({size: 3, suspicious: [{node: 'node-00007', reasons: ['IPv6 forwarding is 0']}]})
    } finally {
      await sim.stop()
    }
  })

  it('on 1.18 it makes one Service per family (the alpha ipFamily field) and reports as a table and JUnit', async () => {
    const sim = await startSim('runbook-rke-1.18')
    try {
      const table = await runPlugin(['connectivity', ...CORE, '--timeout', '1s', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(1)
      expect(table.stdout).toMatch(/^Testing all 3 nodes from namespace dualstack-connectivity-[0-9a-f]{6} \(deleted afterwards\)\n/)
      expect(table.stdout).toMatch(/node-2 +✔ 5\/5 +✔ 3\/3 +✖ 1\/5 +✖ 0\/3 +fail/)
      expect(table.stdout).toContain('✖ node-2: IPv6 fails in and out; IPv6 forwarding is 0 there')
      const wide = await runPlugin(['connectivity', ...CORE, '--timeout', '1s', '-o', 'wide', '--kubeconfig', sim.kubeconfig])
      expect(wide.stdout).toMatch(/pod-to-service +dualstack-client-[\w-]+ \(node-1\) +service\/dualstack-server-[0-9a-f]{6}-ipv4 +✔ [\d.]+ ms/)
      expect(wide.stdout).toMatch(/dns +dualstack-client-[\w-]+ \(node-1\) +dualstack-server-([0-9a-f]{6})-ipv6\.dualstack-connectivity-\1\.svc\.cluster\.local +✔/)
      const junit = await runPlugin(['connectivity', ...CORE, '--timeout', '1s', '-o', 'junit', '--kubeconfig', sim.kubeconfig])
      expect(junit.stdout).toMatch(/<testsuite name="kubectl-dualstack connectivity" tests="30" failures="\d+" errors="0" skipped="0">/)
    } finally {
      await sim.stop()
    }
  })

  it('Ctrl-C in the middle: exit 130 and the whole workload is deleted', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.execLatencyMs = 10_000
    })
    try {
      const {code} = await interruptPlugin(['connectivity', ...CORE, '--kubeconfig', sim.kubeconfig], () => sim.server.sim.requests.some((r) => r.verb === 'exec'))
      expect(code).toBe(130)
      const namespace = sim.server.sim.requests.find((r) => r.verb === 'create' && r.resource === 'daemonsets')!.namespace!
      expectCleanedUp(sim, namespace)
    } finally {
      await sim.stop()
    }
  })
})

/** A namespace of the user's enforcing Pod Security restricted. */
function lockedNamespace(s: Scenario): void {
  s.objects!.push({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'locked', labels: {'pod-security.kubernetes.io/enforce': 'restricted'}}})
}

describe('connectivity in a namespace enforcing Pod Security restricted (issue 20, point 8)', () => {
  it('its pods meet restricted there: the tests pass, and ping outside (no NET_RAW) is a skip that says why', async () => {
    const sim = await startSim('healthy-dual-stack', lockedNamespace)
    try {
      const {code, report, stderr} = await connectivity(sim, '--namespace-for-tests', 'locked', '--ready-timeout', '10s', '--external-target', '2606:4700:4700::1111')
      expect(stderr).toBe('')
      expect(report.notReady).toEqual([])
      expect(report.workload.podSecurity).toBe('restricted')
      expect(report.summary).toEqual({pass: 30, fail: 0, skip: 3, notReady: 0})
      for (const r of report.results.filter((t) => t.test === 'external')) {
        expect(r.message).toMatch(/^ping is not permitted in pod dualstack-client-[0-9a-f]{6}-\w+ \(no NET_RAW, as Pod Security restricted requires, and its node does not allow unprivileged ICMP: net\.ipv4\.ping_group_range\): ping: socket: Operation not permitted$/)
      }
      expect(code).toBe(0)
      // What admission was shown first: dry-runs, nothing stored; the DaemonSets then made as restricted wants.
      const dryRuns = sim.server.sim.requests.filter((r) => r.verb === 'create' && r.resource === 'pods' && r.namespace === 'locked')
      expect(dryRuns.every((r) => r.dryRun)).toBe(true)
      expect(dryRuns.map((r) => r.code)).toEqual([403, 201, 201])
      const {store} = sim.server.sim
      expect(store.list(sim.server.sim.type('apps/v1', 'DaemonSet'), 'locked')).toEqual([])
      expect(store.get(sim.server.sim.type('v1', 'Namespace'), undefined, 'locked')).toBeDefined()
    } finally {
      await sim.stop()
    }
  })

  it('refused by admission even so: one line saying it is admission, and what to do, not RBAC advice (exit 3)', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      lockedNamespace(s)
      s.faults = [{verb: 'create', resource: 'pods', code: 403, message: 'admission webhook "images.policy.example.com" denied the request: images must come from registry.internal'}]
    })
    try {
      const result = await runPlugin(['connectivity', ...CORE, '--namespace-for-tests', 'locked', '--kubeconfig', sim.kubeconfig])
      expect(result.code).toBe(3)
      expect(result.stderr).toBe('error: admission refused the test pods in namespace locked: admission webhook "images.policy.example.com" denied the request: images must come from registry.internal; '
        + 'pass --namespace-for-tests NS naming a namespace that admits them, or leave it out to have one made (labelled Pod Security baseline)\n')
      expect(sim.server.sim.requests.filter((r) => r.verb === 'create' && r.resource === 'daemonsets')).toEqual([])
      expect(sim.server.sim.store.list(sim.server.sim.type('v1', 'Service'), 'locked')).toEqual([])
    } finally {
      await sim.stop()
    }
  })
})

/** A namespace of the user's, holding a Service named server and a DaemonSet named as older runs named theirs. */
function shop(s: Scenario): void {
  s.objects!.push(
    {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'shop'}},
    {apiVersion: 'v1', kind: 'Service', metadata: {name: 'server', namespace: 'shop'}, spec: {selector: {app: 'shop'}, ports: [{port: 80}]}},
  )
}

describe('connectivity in a namespace of the user\'s (issue 20, points 15 and 20)', () => {
  it('uses names of its own, never collides with or touches the user\'s objects, and says exactly what it deletes', async () => {
    const sim = await startSim('healthy-dual-stack', shop)
    const svcType = sim.server.sim.type('v1', 'Service')
    const userService = sim.server.sim.store.get(svcType, 'shop', 'server')!
    try {
      // Kept: says what it keeps and the command that deletes exactly that.
      const kept = await runPlugin(['connectivity', ...CORE, '--namespace-for-tests', 'shop', '--keep', '--family', 'ipv4', '--kubeconfig', sim.kubeconfig])
      expect(kept.code).toBe(0)
      const keptRun = /dualstack-server-([0-9a-f]{6})/.exec(kept.stdout)![1]!
      const deleteKept = `kubectl delete daemonsets,services -n shop -l dualstack.run=${keptRun}`
      expect(kept.stdout.split('\n')[0]).toBe(`Testing all 3 nodes from namespace shop (kept (--keep): DaemonSets dualstack-server-${keptRun}, dualstack-client-${keptRun} and Service dualstack-server-${keptRun}; delete them with: ${deleteKept})`)

      // Again in the same namespace: its own names and its own pods only; the kept run's workload and the user's Service stay.
      const table = await runPlugin(['connectivity', ...CORE, '--namespace-for-tests', 'shop', '--kubeconfig', sim.kubeconfig])
      expect(table.stderr).toBe('')
      expect(table.code).toBe(0)
      const run = /from namespace shop \(.*dualstack-server-([0-9a-f]{6}),/.exec(table.stdout)![1]!
      expect(run).not.toBe(keptRun)
      expect(table.stdout.split('\n')[0]).toBe(`Testing all 3 nodes from namespace shop (the namespace stays, not made by this run; deleted afterwards: the run's DaemonSets dualstack-server-${run}, dualstack-client-${run} and Service dualstack-server-${run})`)
      const {report} = await connectivity(sim, '--namespace-for-tests', 'shop', '--family', 'ipv6')
      expect(report.summary).toEqual({pass: 15, fail: 0, skip: 0, notReady: 0})
      expect(report.workload).toMatchObject({namespaceCreated: false, kept: false})
      expect(new Set(report.results.map((r) => r.from.split('-')[2]))).toEqual(new Set([report.workload.run]))
      const names = () => sim.server.sim.store.list(svcType, 'shop').map((o) => o.metadata.name).sort()
      expect(names()).toEqual([`dualstack-server-${keptRun}`, 'server'])
      expect(sim.server.sim.store.get(svcType, 'shop', 'server')!.metadata.resourceVersion).toBe(userService.metadata.resourceVersion)
      expect(sim.server.sim.requests.filter((r) => r.namespace === 'shop' && ['delete', 'patch', 'update'].includes(r.verb) && r.name === 'server')).toEqual([])

      // The command it gave deletes what it kept, and only that.
      const deleted = await runKubectl(['--kubeconfig', sim.kubeconfig, ...deleteKept.split(' ').slice(1)])
      expect(deleted.code).toBe(0)
      expect(names()).toEqual(['server'])
      expect(sim.server.sim.store.list(sim.server.sim.type('apps/v1', 'DaemonSet'), 'shop')).toEqual([])
    } finally {
      await sim.stop()
    }
  })
})

describe('connectivity and what a finalizer keeps (issue 20, point 5)', () => {
  /** Another controller (a mutating webhook, a backup tool) puts its finalizer on the first server pod made in the namespace. */
  function holdFirstServerPod(sim: RunningSim): void {
    const podType = sim.server.sim.type('v1', 'Pod')
    let held = false
    sim.server.sim.store.subscribe((event) => {
      const pod = event.object
      if (held || event.type !== 'ADDED' || pod.kind !== 'Pod' || !pod.metadata.name?.startsWith('dualstack-server-')) return
      held = true
      setImmediate(() => sim.server.sim.store.write(podType, {...pod, metadata: {...pod.metadata, finalizers: ['example.com/hold']}}))
    })
  }

  it('its namespace held Terminating: waits (bounded), then names the pod left in it with the command that lets both go', async () => {
    const sim = await startSim('healthy-dual-stack')
    holdFirstServerPod(sim)
    try {
      const started = Date.now()
      const {code, report, stderr} = await connectivity(sim, '--family', 'ipv4', '--delete-timeout', '2s')
      expect(code).toBe(0)
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000)
      const ns = report.namespace
      const [pod] = sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod'), ns).map((p) => p.metadata.name)
      const command = `kubectl -n ${ns} patch pod ${pod} --type merge -p '{"metadata":{"finalizers":null}}'`
      expect(stderr).toBe(`warning: namespace ${ns} is still Terminating 2s after it was deleted: pod ${ns}/${pod} is left in it (finalizers: example.com/hold); it goes once they are removed: ${command} (the namespace then goes too)\n`)
      // The simulator keeps the namespace Terminating, as the real one stays while anything is left in it.
      const nsType = sim.server.sim.type('v1', 'Namespace')
      expect(sim.server.sim.store.get(nsType, undefined, ns)!.status.phase).toBe('Terminating')
      expect((await runKubectl(['--kubeconfig', sim.kubeconfig, ...command.split(' ').slice(1, -1), '{"metadata":{"finalizers":null}}'])).code).toBe(0)
      expect(sim.server.sim.store.get(nsType, undefined, ns)).toBeUndefined()
    } finally {
      await sim.stop()
    }
  })

  it('in a namespace of the user\'s: names its pod a finalizer keeps Terminating', async () => {
    const sim = await startSim('healthy-dual-stack', shop)
    holdFirstServerPod(sim)
    try {
      const {code, stderr} = await connectivity(sim, '--namespace-for-tests', 'shop', '--family', 'ipv4', '--delete-timeout', '2s')
      expect(code).toBe(0)
      const [pod] = sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod'), 'shop').map((p) => p.metadata.name)
      expect(stderr).toBe(`warning: pod shop/${pod} is still Terminating 2s after it was deleted (finalizers: example.com/hold); it goes once they are removed: kubectl -n shop patch pod ${pod} --type merge -p '{"metadata":{"finalizers":null}}'\n`)
    } finally {
      await sim.stop()
    }
  })
})
