// connectivity's plain logic: which nodes, the cross-node plan, the sample, and the per-node summaries.
import {chooseNodes, pickSample, type ConnectivityNodeObject} from '../../src/connectivity/nodes.js'
import {crossNodeTargets, planTests, ringSuccessor} from '../../src/connectivity/plan.js'
import {summarizeNodes, type ConnectivityResult} from '../../src/connectivity/report.js'
import {seededRandom} from '../sim/random.js'

function node(name: string, extra: {labels?: Record<string, string>; unschedulable?: boolean; taints?: Array<{key: string; value?: string; effect: string}>; ready?: boolean} = {}): ConnectivityNodeObject {
  return {
    metadata: {name, labels: {'kubernetes.io/os': 'linux', ...extra.labels}},
    spec: {unschedulable: extra.unschedulable, taints: extra.taints},
    status: {conditions: [{type: 'Ready', status: extra.ready === false ? 'False' : 'True'}]},
  }
}

const names = (n: number) => Array.from({length: n}, (_, i) => `node-${String(i).padStart(3, '0')}`)

describe('the cross-node plan', () => {
  it('makes every node a target from two others and a source to two (the ring and the ring two on), for any number of nodes', () => {
    for (let n = 1; n <= 60; n++) {
      const nodes = names(n).reverse() // the order given does not matter
      const cross = planTests(nodes, ['ipv4', 'ipv6'], {serviceIsNodeLocal: true}).filter((t) => t.test === 'pod-to-pod/cross-node')
      const degree = n >= 3 ? 2 : n === 2 ? 1 : 0
      for (const family of ['ipv4', 'ipv6'] as const) {
        const tests = cross.filter((t) => t.family === family)
        expect(tests).toHaveLength(n * degree) // O(N), not N*N
        expect(tests.every((t) => t.fromNode !== t.toNode)).toBe(true)
        expect(new Set(tests.map((t) => `${t.fromNode} ${t.toNode}`)).size).toBe(tests.length)
        for (const node of nodes) {
          expect(tests.filter((t) => t.fromNode === node)).toHaveLength(degree)
          expect(tests.filter((t) => t.toNode === node)).toHaveLength(degree)
        }
      }
      // Following successors from any node visits every node before coming back: one cycle, not several.
      const next = ringSuccessor(nodes)
      const seen = new Set<string>()
      for (let at = next.get(nodes[0]!); at !== undefined && !seen.has(at); at = next.get(at)) seen.add(at)
      expect(seen.size).toBe(n >= 2 ? n : 0)
      expect([...crossNodeTargets(nodes)].every(([node, targets]) => targets[0] === next.get(node) && (n < 3 || targets[1] === next.get(next.get(node)!)))).toBe(true)
    }
    // In a fixed order: by node, then the next one, then the one after.
    expect(planTests(['c', 'a', 'b', 'd'], ['ipv6'], {serviceIsNodeLocal: true}).filter((t) => t.test === 'pod-to-pod/cross-node').map((t) => `${t.fromNode}->${t.toNode}`))
      .toEqual(['a->b', 'a->c', 'b->c', 'b->d', 'c->d', 'c->a', 'd->a', 'd->b'])
  })

  it('plans same-node, ring, Service and DNS per node and family, and outside only for the family of a literal target', () => {
    const tests = planTests(['b', 'a'], ['ipv4', 'ipv6'], {serviceIsNodeLocal: false, externalTarget: '2606:4700:4700::1111'})
    const kinds = (family: string) => tests.filter((t) => t.family === family).map((t) => `${t.test} ${t.fromNode}->${t.toNode ?? ''}`)
    expect(kinds('ipv4')).toEqual(['pod-to-pod/same-node a->a', 'pod-to-pod/cross-node a->b', 'pod-to-service a->', 'dns a->',
      'pod-to-pod/same-node b->b', 'pod-to-pod/cross-node b->a', 'pod-to-service b->', 'dns b->'])
    expect(kinds('ipv6').filter((k) => k.startsWith('external'))).toEqual(['external a->', 'external b->'])
    expect(planTests(['a'], ['ipv4'], {serviceIsNodeLocal: true, externalTarget: 'example.com'}).map((t) => t.test))
      .toEqual(['pod-to-pod/same-node', 'pod-to-service', 'dns', 'external'])
  })
})

describe('choosing nodes', () => {
  const cluster = [
    node('worker-b'), node('worker-a'),
    node('gpu-1', {taints: [{key: 'dedicated', value: 'gpu', effect: 'NoSchedule'}]}),
    node('soft-1', {taints: [{key: 'prefer', effect: 'PreferNoSchedule'}]}),
    node('cordoned-1', {unschedulable: true}),
    node('win-1', {labels: {'kubernetes.io/os': 'windows'}}),
    node('down-1', {ready: false}),
  ]

  it('takes schedulable, Ready Linux nodes without NoSchedule/NoExecute taints, sorted, and says why each other one is left out', () => {
    const choice = chooseNodes(cluster, {includeTainted: false})
    expect(choice.targets).toEqual(['soft-1', 'worker-a', 'worker-b'])
    expect(choice.skipped).toEqual([
      {node: 'cordoned-1', reason: 'cordoned (unschedulable)'},
      {node: 'down-1', reason: 'NotReady'},
      {node: 'gpu-1', reason: 'tainted dedicated=gpu:NoSchedule (--include-tainted tests it)'},
      {node: 'win-1', reason: 'windows node (the test images are Linux)'},
    ])
  })

  it('takes tainted nodes when asked, and exactly the named ones with --nodes (naming what does not exist)', () => {
    expect(chooseNodes(cluster, {includeTainted: true}).targets).toEqual(['gpu-1', 'soft-1', 'worker-a', 'worker-b'])
    const named = chooseNodes(cluster, {includeTainted: false, names: ['worker-b', 'gpu-1', 'nope']})
    expect(named.targets).toEqual(['worker-b'])
    expect(named.skipped.map((s) => s.node)).toEqual(['gpu-1'])
    expect(named.missing).toEqual(['nope'])
  })
})

describe('the sample', () => {
  it('holds every suspicious node and spreads the rest over the names, N in all', () => {
    const random = seededRandom(12)
    for (let run = 0; run < 200; run++) {
      const all = names(1 + Math.floor(random() * 400))
      const suspicious = new Set(all.filter(() => random() < 0.02))
      const size = 1 + Math.floor(random() * 150)
      const sample = pickSample(all, suspicious, size)
      for (const s of suspicious) expect(sample).toContain(s)
      expect(new Set(sample).size).toBe(sample.length)
      expect(sample.length).toBe(size >= all.length ? all.length : Math.max(size, suspicious.size))
      expect(sample).toEqual([...sample].sort())
    }
  })

  it('reaches both ends of the node list, and 0 means every node', () => {
    const all = names(1000)
    const sample = pickSample(all, new Set(['node-500']), 10)
    expect(sample).toHaveLength(10)
    expect(sample[0]).toBe('node-000')
    expect(Number(sample.at(-1)!.slice(5))).toBeGreaterThan(850)
    expect(pickSample(all, new Set(), 0)).toHaveLength(1000)
  })
})

describe('per-node summaries', () => {
  /** Results of a run where `bad` drops every IPv6 packet in and out (forwarding off), everything else passes. */
  function runWith(nodes: string[], bad: string): ConnectivityResult[] {
    return planTests(nodes, ['ipv4', 'ipv6'], {serviceIsNodeLocal: true, externalTarget: '2606:4700:4700::1111'}).map((t) => {
      const touchesBad = t.fromNode === bad || t.toNode === bad
      const fails = t.family === 'ipv6' && (t.test === 'external' || (touchesBad && t.test !== 'dns'))
      return {...t, from: `client (${t.fromNode})`, to: t.toNode ?? 'x', status: fails ? 'fail' : 'pass', message: fails ? 'timed out' : 'HTTP 200'}
    })
  }

  it('finds the broken node wherever it is in the ring; the two it sends to and the two sending to it are only affected; what fails everywhere is said once', () => {
    const nodes = names(7)
    const targets = crossNodeTargets(nodes)
    for (const bad of nodes) {
      const {nodes: summaries, everywhere, verdict} = summarizeNodes(nodes, runWith(nodes, bad), ['ipv4', 'ipv6'], [], new Map([[`${bad} ipv6`, 'IPv6 forwarding is 0 there']]))
      expect(everywhere).toEqual([{test: 'external', family: 'ipv6', message: 'timed out'}])
      expect(verdict.culprits).toEqual([{node: bad, family: 'ipv6', direction: 'both', onNode: true, evidence: 'IPv6 forwarding is 0 there', peers: expect.any(Array), failedTests: 6}])
      expect(summaries.filter((s) => s.status === 'fail').map((s) => s.node)).toEqual([bad])
      expect(summaries.find((s) => s.node === bad)!.findings).toEqual(['IPv6 fails in and out; IPv6 forwarding is 0 there'])
      const neighbours = new Set([...targets.get(bad)!, ...nodes.filter((n) => targets.get(n)!.includes(bad))])
      expect(neighbours.size).toBe(4)
      for (const n of neighbours) expect(summaries.find((s) => s.node === n)!.findings).toEqual([`IPv6 with ${bad} fails (see that node)`])
      // Only the external test fails on the others, and that is the cluster's, not theirs.
      const others = summaries.filter((s) => s.node !== bad && !neighbours.has(s.node))
      expect(others.every((s) => s.status === 'affected' && s.findings.length === 0)).toBe(true)
      // Sent: on the node, two across, the Service (node-local), DNS (passes), outside; received: on the node, two across, the Service.
      expect(summaries.find((s) => s.node === bad)!.families.ipv6).toEqual({sent: {pass: 1, fail: 5}, received: {pass: 0, fail: 4}})
    }
  })

  it('before node-local Services, Service failures anywhere are put down to the broken node, not to the senders or the cluster', () => {
    const nodes = names(4)
    const bad = 'node-002'
    const results: ConnectivityResult[] = planTests(nodes, ['ipv6'], {serviceIsNodeLocal: false}).map((t) => {
      // The Service sent every packet to the backend on the broken node.
      const fails = t.test === 'pod-to-service' || (t.test.startsWith('pod-to-pod/') && (t.fromNode === bad || t.toNode === bad))
      return {...t, from: t.fromNode, to: t.toNode ?? 'service/server', status: fails ? 'fail' : 'pass', message: fails ? 'timed out' : 'HTTP 200'}
    })
    const {nodes: summaries, everywhere} = summarizeNodes(nodes, results, ['ipv6'], [], new Map())
    expect(summaries.filter((s) => s.status === 'fail').map((s) => s.node)).toEqual([bad])
    // node-000 sends to node-001 and node-002: the second fails, and so does the Service.
    expect(summaries.find((s) => s.node === 'node-000')!.findings).toEqual(['IPv6 with node-002 fails (see that node)', 'IPv6 to the Service fails (its backends include node-002)'])
    expect(summaries.find((s) => s.node === 'node-003')).toMatchObject({status: 'affected', findings: ['IPv6 with node-002 fails (see that node)', 'IPv6 to the Service fails (its backends include node-002)']})
    expect(everywhere).toEqual([])
  })

  it('a node with its own partial failure is failing with what failed; a not-Ready node is listed as such', () => {
    const nodes = names(3)
    const results = runWith(nodes, 'none').map((r) => (r.test === 'dns' && r.fromNode === 'node-001' && r.family === 'ipv4' ? {...r, status: 'fail' as const} : r))
    const {nodes: summaries} = summarizeNodes(nodes, results, ['ipv4', 'ipv6'], [{node: 'node-009', reason: 'server pod x Pending: ErrImagePull'}], new Map())
    expect(summaries.find((s) => s.node === 'node-001')).toMatchObject({status: 'fail', findings: ['IPv4 out: 1 of 5 failed (dns)']})
    expect(summaries.find((s) => s.node === 'node-009')).toMatchObject({status: 'not-ready', findings: ['not tested: server pod x Pending: ErrImagePull']})
  })
})
