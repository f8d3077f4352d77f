// connectivity against the simulated cluster: the matrix per family, what a node without IPv6 forwarding
// and NAT outgoing off do to it, and everything it made deleted (request record and store).
import {interruptPlugin, runPlugin, startSim, type RunningSim} from '../sim/harness.js'

interface Report {
  namespace: string
  nodes: string[]
  results: Array<{test: string; family: string; from: string; to: string; status: string; latencyMs?: number; message: string}>
  summary: {pass: number; fail: number; skip: number}
}

async function connectivity(sim: RunningSim, ...args: string[]): Promise<{code: number; report: Report; stderr: string}> {
  const result = await runPlugin(['connectivity', ...args, '-o', 'json', '--kubeconfig', sim.kubeconfig])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr}
}

/** Everything the run created is gone: the store has none of it and each create has its delete. */
function expectCleanedUp(sim: RunningSim, namespace: string): void {
  const {store, requests} = sim.server.sim
  expect(store.list(sim.server.sim.type('v1', 'Pod'), namespace)).toEqual([])
  expect(store.list(sim.server.sim.type('v1', 'Service'), namespace)).toEqual([])
  expect(store.get(sim.server.sim.type('v1', 'Namespace'), undefined, namespace)).toBeUndefined()
  const created = requests.filter((r) => r.verb === 'create' && !r.dryRun && r.code === 201 && (r.namespace === namespace || r.resource === 'namespaces'))
  const deleted = requests.filter((r) => r.verb === 'delete' && (r.namespace === namespace || r.name === namespace))
  expect(created.length).toBe(6)
  expect(deleted.length).toBe(created.length)
}

describe('connectivity', () => {
  it('passes the whole matrix over both families on the healthy cluster, then removes its workload', async () => {
    const sim = await startSim('healthy-dual-stack')
    try {
      const {code, report} = await connectivity(sim, '--external-target', '2606:4700:4700::1111')
      expect(code).toBe(0)
      expect(report.nodes).toHaveLength(2)
      const tests = [...new Set(report.results.map((r) => `${r.test} ${r.family}`))].sort()
      expect(tests).toEqual(['dns ipv4', 'dns ipv6', 'external ipv6', 'pod-to-pod/cross-node ipv4', 'pod-to-pod/cross-node ipv6',
        'pod-to-pod/same-node ipv4', 'pod-to-pod/same-node ipv6', 'pod-to-service ipv4', 'pod-to-service ipv6'])
      expect(report.summary).toEqual({pass: 15, fail: 0, skip: 0})
      expect(report.results.find((r) => r.test === 'dns' && r.family === 'ipv6')!.message).toMatch(/^AAAA fd00:10:96::/)
      expectCleanedUp(sim, report.namespace)
    } finally {
      await sim.stop()
    }
  })

  it('a node without IPv6 forwarding breaks IPv6 to and from it, not IPv4; NAT outgoing off breaks outside IPv6', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.nodes[1]!.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
      s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool'},
        spec: {cidr: 'fd00:10:244::/56', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()'}})
    })
    try {
      const {code, report} = await connectivity(sim, '--external-target', '2606:4700:4700::1111', '--timeout', '1s')
      expect(code).toBe(1)
      expect(report.nodes).toEqual(['cp-1', 'worker-1'])
      const failed = report.results.filter((r) => r.status === 'fail')
      expect(failed.every((r) => r.family === 'ipv6')).toBe(true)
      expect(report.results.filter((r) => r.family === 'ipv4').every((r) => r.status === 'pass')).toBe(true)
      // Same-node traffic on the healthy node still works; everything touching worker-1 does not.
      const v6 = (test: string, from: string) => report.results.find((r) => r.family === 'ipv6' && r.test === test && r.from.startsWith(from))!.status
      expect(v6('pod-to-pod/same-node', 'client-0')).toBe('pass')
      expect(v6('pod-to-pod/cross-node', 'client-0')).toBe('fail')
      expect(v6('pod-to-pod/same-node', 'client-1')).toBe('fail')
      for (const r of failed.filter((x) => x.test.startsWith('pod-to-pod'))) {
        expect(r.message).toContain('likely cause: IPv6 forwarding is off on node worker-1 (kubectl dualstack doctor --only node.ipv6-forwarding)')
      }
      expect(report.results.find((r) => r.test === 'external')!.message).toContain('natOutgoing')
      expectCleanedUp(sim, report.namespace)
    } finally {
      await sim.stop()
    }
  })

  it('on 1.18 it makes one Service per family (the alpha ipFamily field) and reports the matrix as a table and JUnit', async () => {
    const sim = await startSim('runbook-rke-1.18')
    try {
      const table = await runPlugin(['connectivity', '--timeout', '1s', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(1)
      expect(table.stdout).toMatch(/^Test workload in namespace dualstack-connectivity-[0-9a-f]{6} on node-1, node-2 \(deleted afterwards\)\n/)
      expect(table.stdout).toMatch(/pod-to-service +client-0 \(node-1\) +service\/server-ipv4 +✔ [\d.]+ ms/)
      expect(table.stdout).toMatch(/dns +client-0 +server-ipv6\.dualstack-connectivity-[0-9a-f]{6}\.svc\.cluster\.local +✔/)
      expect(table.stdout).toContain('Failures:')
      const junit = await runPlugin(['connectivity', '--timeout', '1s', '-o', 'junit', '--kubeconfig', sim.kubeconfig])
      expect(junit.stdout).toMatch(/<testsuite name="kubectl-dualstack connectivity" tests="14" failures="\d+" errors="0" skipped="0">/)
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
      const namespace = sim.server.sim.requests.find((r) => r.verb === 'create' && r.resource === 'pods')!.namespace!
      expectCleanedUp(sim, namespace)
    } finally {
      await sim.stop()
    }
  })
})
