// connectivity against the simulated cluster: every node tested (DaemonSets of test pods), the node without
// IPv6 forwarding found wherever it is, a node whose pod stays Pending, taints, --nodes, --sample, and
// everything it made deleted (request record and store), also on Ctrl-C.
import type {ConnectivityReport} from '../../src/connectivity/run.js'
import {generateNodes} from '../sim/generate.js'
import {interruptPlugin, runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import {viaOperator, type Scenario} from '../sim/scenario.js'

// What -o json prints is the report the command returns.
type Report = ConnectivityReport

async function connectivity(sim: RunningSim, ...args: string[]): Promise<{code: number; report: Report; stderr: string}> {
  const result = await runPlugin(['connectivity', ...args, '-o', 'json', '--kubeconfig', sim.kubeconfig])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr}
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
  it('tests every node over both families (same node, a ring, the Service, DNS, outside) and removes its workload', async () => {
    const sim = await startSim('healthy-dual-stack')
    try {
      const {code, report} = await connectivity(sim, '--external-target', '2606:4700:4700::1111')
      expect(code).toBe(0)
      expect(report.nodes).toEqual(['cp-1', 'worker-1', 'worker-2'])
      expect(sim.server.sim.requests.filter((r) => r.verb === 'exec' && r.namespace === report.namespace)).toHaveLength(report.results.length)
      const ring = report.results.filter((r) => r.test === 'pod-to-pod/cross-node' && r.family === 'ipv6').map((r) => `${r.fromNode}->${r.toNode}`)
      expect(ring).toEqual(['cp-1->worker-1', 'worker-1->worker-2', 'worker-2->cp-1'])
      expect(report.summary).toEqual({pass: 27, fail: 0, skip: 0, notReady: 0})
      expect(report.nodeSummary.map((n) => n.status)).toEqual(['pass', 'pass', 'pass'])
      expect(report.nodeSummary[0]!.families.ipv6).toEqual({sent: {pass: 5, fail: 0}, received: {pass: 3, fail: 0}})
      expect(report.results.find((r) => r.test === 'dns' && r.family === 'ipv6')!.message).toMatch(/^AAAA fd00:10:96::/)
      expectCleanedUp(sim, report.namespace)

      // Kept this time: each test ran in a client pod that is on the node it names, against a server on the other.
      const kept = (await connectivity(sim, '--keep', '--family', 'ipv4')).report
      const namespace = sim.server.sim.store.get(sim.server.sim.type('v1', 'Namespace'), undefined, kept.namespace)!
      expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('baseline')
      // A second run in the namespace the kept one used: refused in one line, and the kept workload stays.
      const again = await runPlugin(['connectivity', '--namespace-for-tests', kept.namespace, '--kubeconfig', sim.kubeconfig])
      expect(again.code).toBe(2)
      expect(again.stderr).toBe(`error: namespace ${kept.namespace} already holds a connectivity workload (services "server" already exists), left by a run with --keep?; `
        + `delete it first: kubectl delete daemonsets,services -n ${kept.namespace} -l app.kubernetes.io/managed-by=kubectl-dualstack\n`)
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
        expect(report.nodeSummary.filter((n) => n.status === 'affected')).toHaveLength(2) // its two ring neighbours
        expectCleanedUp(sim, report.namespace)
      } finally {
        await sim.stop()
      }
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
      const table = await runPlugin(['connectivity', '--ready-timeout', '2s', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(1)
      expect(table.stdout).toMatch(/worker-2 +- +- +- +- +not-ready/)
      expect(table.stdout).toMatch(/✖ worker-2: not tested: server pod dualstack-server-\w+ Pending: ErrImagePull: failed to pull image: dial tcp: i\/o timeout; client pod dualstack-client-\w+ Pending: ErrImagePull/)
      expect(table.stdout).toMatch(/\n24 tests passed; not tested \(test pods not Ready\): worker-2\n$/)
      const {code, report} = await connectivity(sim, '--ready-timeout', '2s')
      expect(code).toBe(1)
      expect(report.notReady.map((n) => n.node)).toEqual(['worker-2'])
      expect([...new Set(report.results.map((r) => r.fromNode))].sort()).toEqual(['cp-1', 'worker-1', 'worker-3'])
      expect(report.summary).toEqual({pass: 24, fail: 0, skip: 0, notReady: 1})
      expectCleanedUp(sim, report.namespace)
    } finally {
      await sim.stop()
    }
  })

  it('test pods that admission refuses: every node named with the refusal, from the DaemonSet\'s FailedCreate Event', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.objects!.push({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'locked', labels: {'pod-security.kubernetes.io/enforce': 'restricted'}}})
    })
    try {
      const {code, report} = await connectivity(sim, '--namespace-for-tests', 'locked', '--ready-timeout', '2s')
      expect(code).toBe(1)
      expect(report.results).toEqual([])
      expect(report.notReady.map((n) => n.node)).toEqual(['cp-1', 'worker-1', 'worker-2'])
      for (const {reason} of report.notReady) {
        expect(reason).toMatch(/^no server pod was created there: Error creating: pods "dualstack-server-\w+" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/)
        expect(reason).toContain('; no client pod was created there: Error creating: pods "dualstack-client-')
      }
      // Its DaemonSets and Service are gone; the namespace was not its own, so it stays.
      const {store} = sim.server.sim
      expect(store.list(sim.server.sim.type('apps/v1', 'DaemonSet'), 'locked')).toEqual([])
      expect(store.list(sim.server.sim.type('v1', 'Service'), 'locked')).toEqual([])
      expect(store.get(sim.server.sim.type('v1', 'Namespace'), undefined, 'locked')).toBeDefined()
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
      const table = await runPlugin(['connectivity', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(0)
      expect(table.stdout.split('\n').slice(0, 2)).toEqual([
        expect.stringMatching(/^Testing all 2 nodes from namespace dualstack-connectivity-\w+ \(deleted afterwards\)$/),
        'Skipped 2: cp-1 (tainted node-role.kubernetes.io/control-plane:NoSchedule (--include-tainted tests it)), worker-3 (cordoned (unschedulable))',
      ])
      const {report} = await connectivity(sim, '--include-tainted')
      expect(report.nodes).toEqual(['cp-1', 'worker-1', 'worker-2'])
      expect(report.summary.fail).toBe(0)
      const placed = sim.server.sim.requests.filter((r) => r.verb === 'exec' && r.namespace === report.namespace)
      expect(placed.length).toBe(report.results.length)
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
      const table = await runPlugin(['connectivity', '--nodes', 'worker-1', '--family', 'ipv4', '--kubeconfig', sim.kubeconfig])
      expect(table.stdout.split('\n')[0]).toMatch(/^Testing the 1 node of --nodes from namespace dualstack-connectivity-\w+ \(deleted afterwards\)$/)
      const unknown = await runPlugin(['connectivity', '--nodes', 'worker-9', '--kubeconfig', sim.kubeconfig])
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toBe('error: no node named worker-9; kubectl get nodes lists them\n')
      const none = await runPlugin(['connectivity', '--node-selector', 'nosuch=label', '--kubeconfig', sim.kubeconfig])
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
      const table = await runPlugin(['connectivity', '--sample', '3', '--timeout', '1s', '--kubeconfig', sim.kubeconfig])
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
      const table = await runPlugin(['connectivity', '--timeout', '1s', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(1)
      expect(table.stdout).toMatch(/^Testing all 3 nodes from namespace dualstack-connectivity-[0-9a-f]{6} \(deleted afterwards\)\n/)
      expect(table.stdout).toMatch(/node-2 +✔ 4\/4 +✔ 2\/2 +✖ 1\/4 +✖ 0\/2 +fail/)
      expect(table.stdout).toContain('✖ node-2: IPv6 fails in and out; IPv6 forwarding is 0 there')
      const wide = await runPlugin(['connectivity', '--timeout', '1s', '-o', 'wide', '--kubeconfig', sim.kubeconfig])
      expect(wide.stdout).toMatch(/pod-to-service +dualstack-client-\w+ \(node-1\) +service\/server-ipv4 +✔ [\d.]+ ms/)
      expect(wide.stdout).toMatch(/dns +dualstack-client-\w+ \(node-1\) +server-ipv6\.dualstack-connectivity-[0-9a-f]{6}\.svc\.cluster\.local +✔/)
      const junit = await runPlugin(['connectivity', '--timeout', '1s', '-o', 'junit', '--kubeconfig', sim.kubeconfig])
      expect(junit.stdout).toMatch(/<testsuite name="kubectl-dualstack connectivity" tests="24" failures="\d+" errors="0" skipped="0">/)
    } finally {
      await sim.stop()
    }
  })

  it('Ctrl-C in the middle: exit 130 and the whole workload is deleted', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.execLatencyMs = 10_000
    })
    try {
      const {code} = await interruptPlugin(['connectivity', '--kubeconfig', sim.kubeconfig], () => sim.server.sim.requests.some((r) => r.verb === 'exec'))
      expect(code).toBe(130)
      const namespace = sim.server.sim.requests.find((r) => r.verb === 'create' && r.resource === 'daemonsets')!.namespace!
      expectCleanedUp(sim, namespace)
    } finally {
      await sim.stop()
    }
  })
})
