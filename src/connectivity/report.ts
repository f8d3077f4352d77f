// What a connectivity run found, per test and per node: sent and received per family, and the nodes that
// explain the failures ("node-7: IPv6 fails in and out; IPv6 forwarding is 0 there").
import type {Family} from '../net/ip.js'
import type {PlannedTest} from './plan.js'

export interface ConnectivityResult extends PlannedTest {
  /** The client pod and its node. */
  from: string
  /** The server pod, Service, name or host, with the address used. */
  to: string
  status: 'pass' | 'fail' | 'skip'
  latencyMs?: number
  message: string
}

export interface Traffic {
  pass: number
  fail: number
}

export interface NodeSummary {
  node: string
  /** pass: all its tests passed; fail: it has failures of its own; affected: it fails only with failing nodes; not-ready: not tested. */
  status: 'pass' | 'fail' | 'affected' | 'not-ready'
  families: Partial<Record<Family, {sent: Traffic; received: Traffic}>>
  /** Sentences about the node, for people. */
  findings: string[]
}

export const FAMILY_LABEL: Record<Family, string> = {ipv4: 'IPv4', ipv6: 'IPv6'}

type Tally = Map<string, Record<Family, {sent: Traffic; received: Traffic}>>

function tally(nodes: readonly string[], results: readonly ConnectivityResult[]): Tally {
  const empty = () => ({sent: {pass: 0, fail: 0}, received: {pass: 0, fail: 0}})
  const byNode: Tally = new Map(nodes.map((n) => [n, {ipv4: empty(), ipv6: empty()}]))
  for (const r of results) {
    if (r.status === 'skip') continue
    const sent = byNode.get(r.fromNode)?.[r.family].sent
    if (sent) sent[r.status]++
    const received = r.toNode ? byNode.get(r.toNode)?.[r.family].received : undefined
    if (received) received[r.status]++
  }
  return byNode
}

/**
 * The nodes where every pod-to-pod test of a family fails, sent and received (the same-node one is both):
 * the ones to look at. Their neighbours' failures with them follow from theirs. DNS and outside are left
 * out: they can pass over another family's transport, or fail everywhere for one cluster-wide reason.
 */
export function brokenNodes(nodes: readonly string[], results: readonly ConnectivityResult[], family: Family): string[] {
  const podToPod = results.filter((r) => r.family === family && r.status !== 'skip' && r.test.startsWith('pod-to-pod/'))
  const seen = new Map(nodes.map((n) => [n, {out: 0, in: 0, passed: false}]))
  for (const r of podToPod) {
    for (const [node, side] of [[r.fromNode, 'out'], [r.toNode, 'in']] as const) {
      const entry = node ? seen.get(node) : undefined
      if (!entry) continue
      entry[side]++
      if (r.status === 'pass') entry.passed = true
    }
  }
  return nodes.filter((node) => {
    const entry = seen.get(node)!
    return entry.out > 0 && entry.in > 0 && !entry.passed
  })
}

export interface FailingEverywhere {
  test: ConnectivityResult['test']
  family: Family
  message: string
}

/** Tests of a kind and family that failed from every node (two or more): one cluster-wide cause, said once. */
function failingEverywhere(nodes: readonly string[], results: readonly ConnectivityResult[], families: readonly Family[],
  broken: ReadonlyMap<Family, ReadonlySet<string>>): FailingEverywhere[] {
  if (nodes.length < 2) return []
  const kinds = new Map<string, ConnectivityResult[]>()
  for (const r of results) {
    const key = `${r.test} ${r.family}`
    const runs = kinds.get(key)
    if (runs) runs.push(r)
    else kinds.set(key, [r])
  }
  const everywhere: FailingEverywhere[] = []
  for (const family of families) {
    for (const [key, runs] of kinds) {
      if (!key.endsWith(` ${family}`) || runs[0]!.test.startsWith('pod-to-pod/')) continue
      // Through a Service that is not node-local, every sender may meet a broken node's server: that node's failure.
      if (runs[0]!.test === 'pod-to-service' && runs[0]!.toNode === undefined && (broken.get(family)?.size ?? 0) > 0) continue
      const failedFrom = new Set(runs.filter((r) => r.status === 'fail').map((r) => r.fromNode))
      if (nodes.every((n) => failedFrom.has(n))) everywhere.push({test: runs[0]!.test, family, message: runs.find((r) => r.status === 'fail')!.message})
    }
  }
  return everywhere
}

/**
 * One summary per node, and the tests that failed from every node. `causes` holds what a read found for a
 * broken node and family (key "node family"), e.g. "IPv6 forwarding is 0 there".
 */
export function summarizeNodes(
  nodes: readonly string[], results: readonly ConnectivityResult[], families: readonly Family[],
  notReady: ReadonlyArray<{node: string; reason: string}>, causes: ReadonlyMap<string, string>,
): {nodes: NodeSummary[]; everywhere: FailingEverywhere[]} {
  const byNode = tally(nodes, results)
  const broken = new Map(families.map((family) => [family, new Set(brokenNodes(nodes, results, family))]))
  const everywhere = failingEverywhere(nodes, results, families, broken)
  const everywhereKeys = new Set(everywhere.map((e) => `${e.test} ${e.family}`))
  // Failed tests by the nodes they touch, indexed once: a thousand nodes make ten thousand results.
  const failedWith = new Map<string, ConnectivityResult[]>()
  for (const r of results) {
    if (r.status !== 'fail') continue
    for (const node of new Set([r.fromNode, r.toNode])) {
      if (!node) continue
      const touching = failedWith.get(node)
      if (touching) touching.push(r)
      else failedWith.set(node, [r])
    }
  }
  const summaries: NodeSummary[] = nodes.map((node) => {
    const findings: string[] = []
    let own = false
    let affected = false
    for (const family of families) {
      const label = FAMILY_LABEL[family]
      if (broken.get(family)!.has(node)) {
        own = true
        const cause = causes.get(`${node} ${family}`)
        findings.push(`${label} fails in and out${cause ? `; ${cause}` : ''}`)
        continue
      }
      // What fails from every node is said once for the cluster, not once per node.
      const all = (failedWith.get(node) ?? []).filter((r) => r.family === family)
      const failed = all.filter((r) => !everywhereKeys.has(`${r.test} ${r.family}`))
      if (failed.length < all.length) affected = true
      const brokenHere = broken.get(family)!
      const other = (r: ConnectivityResult) => (r.fromNode === node ? r.toNode : r.fromNode)
      const explained = failed.filter((r) => other(r) !== undefined && other(r) !== node && brokenHere.has(other(r)!))
      // A Service that is not node-local sends to any node's server, the broken ones' too.
      const viaService = brokenHere.size > 0 ? failed.filter((r) => r.test === 'pod-to-service' && r.toNode === undefined) : []
      const unexplained = failed.filter((r) => !explained.includes(r) && !viaService.includes(r))
      if (explained.length > 0) {
        affected = true
        const peers = [...new Set(explained.map((r) => other(r)!))]
        findings.push(`${label} with ${peers.join(', ')} fails (see ${peers.length === 1 ? 'that node' : 'those nodes'})`)
      }
      if (viaService.length > 0) {
        affected = true
        findings.push(`${label} to the Service fails (its backends include ${[...brokenHere].join(', ')})`)
      }
      if (unexplained.length > 0) {
        own = true
        const {sent, received} = byNode.get(node)![family]
        const out = unexplained.filter((r) => r.fromNode === node)
        const into = unexplained.filter((r) => r.fromNode !== node)
        if (out.length > 0) findings.push(`${label} out: ${out.length} of ${sent.pass + sent.fail} failed (${[...new Set(out.map((r) => r.test))].join(', ')})`)
        if (into.length > 0) findings.push(`${label} in: ${into.length} of ${received.pass + received.fail} failed (from ${[...new Set(into.map((r) => r.fromNode))].join(', ')})`)
      }
    }
    const traffic = byNode.get(node)!
    return {
      node, status: own ? 'fail' : affected ? 'affected' : 'pass',
      families: Object.fromEntries(families.map((f) => [f, traffic[f]])), findings,
    }
  })
  for (const {node, reason} of notReady) summaries.push({node, status: 'not-ready', families: {}, findings: [`not tested: ${reason}`]})
  return {nodes: summaries.sort((a, b) => a.node.localeCompare(b.node)), everywhere}
}
