// What a connectivity run found, per test and per node: sent and received per family, the verdict (the
// faults that explain the failures: "node-7: IPv6 fails in and out; IPv6 forwarding is 0 there") and what it
// means for each node.
import type {Family} from '../net/ip.js'
import {VERDICT_BASE, VERDICT_SCOPES, type PlannedTest} from './plan.js'
import {computeScopedVerdict, type Ambiguity, type Explanation, type NodeCulprit, type PathCulprit, type Verdict} from './verdict.js'

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
  /**
   * pass: all its tests passed; fail: it is a culprit of the verdict, may be one (the tests cannot tell), or has
   * failures nothing else explains; affected: it fails only in tests with a culprit (another node, a path, a
   * cluster-wide cause); not-ready: not tested.
   */
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

export interface FailingEverywhere {
  test: ConnectivityResult['test']
  family: Family
  message: string
}

/**
 * Tests of a kind and family that failed from every node: one cluster-wide cause, said once.
 * Kinds naming a destination node are the verdict's (`nodeKinds`: it says which failed on every path).
 */
function failingEverywhere(nodes: readonly string[], results: readonly ConnectivityResult[], families: readonly Family[],
  verdict: Verdict): FailingEverywhere[] {
  const kinds = new Map<string, ConnectivityResult[]>()
  for (const r of results) {
    const key = `${r.test} ${r.family}`
    const runs = kinds.get(key)
    if (runs) runs.push(r)
    else kinds.set(key, [r])
  }
  const nodeKinds = new Set(verdict.everywhere.map((e) => `${e.test} ${e.family}`))
  const blamed = (family: Family) => verdict.culprits.some((c) => c.family === family) || verdict.paths.some((p) => p.family === family)
    || verdict.ambiguous.some((a) => a.family === family)
  const everywhere: FailingEverywhere[] = []
  for (const family of families) {
    for (const [key, runs] of kinds) {
      if (!key.endsWith(` ${family}`)) continue
      const failed = runs.filter((r) => r.status === 'fail')
      if (nodeKinds.has(key)) {
        everywhere.push({test: runs[0]!.test, family, message: failed[0]!.message})
        continue
      }
      // With one node too: a test naming no destination node never blames a node by itself.
      if (nodes.length === 0 || runs.some((r) => r.toNode !== undefined)) continue
      // Through a Service that is not node-local, every sender may meet a culprit's server: that culprit's failure.
      if (runs[0]!.test === 'pod-to-service' && blamed(family)) continue
      const failedFrom = new Set(failed.map((r) => r.fromNode))
      if (nodes.every((n) => failedFrom.has(n))) everywhere.push({test: runs[0]!.test, family, message: failed[0]!.message})
    }
  }
  return everywhere
}

const names = (list: readonly string[]) => `${list.slice(0, 10).join(', ')}${list.length > 10 ? ` and ${list.length - 10} more` : ''}`

/** What a node culprit shows, for people: "IPv6 fails in from other nodes (from cp-1, worker-1); out passes". */
export function culpritText(c: NodeCulprit): string {
  const label = c.tests ? `${FAMILY_LABEL[c.family]} ${c.tests.join(', ')}` : FAMILY_LABEL[c.family]
  const text = c.direction === 'both' ? `${label} fails in and out`
    : c.direction === 'on-node' ? (c.tests ? `${label} fails on the node` : `${label} fails between its own pods (pod to pod on the node)`)
      : c.pod === 'server' && !c.tests ? `${label} to its server pod fails, from its own node too; out passes: the server pod, or what is in front of it`
        : c.pod === 'client' && !c.tests ? `${label} from its client pod fails, to its own node too; in passes: the client pod`
          : c.direction === 'in' ? `${label} fails in from other nodes (from ${names(c.peers)})${c.onNode ? ' and on the node' : ''}; out passes`
            : `${label} fails out to other nodes (to ${names(c.peers)})${c.onNode ? ' and on the node' : ''}; in passes`
  // A scope's culprit: its other tests pass, so the cause is what those kinds need alone.
  const scoped = c.tests ? `${text}; its other tests pass` : text
  return c.evidence ? `${scoped}; ${c.evidence}` : scoped
}

/** "worker-1 -> worker-3: IPv6 fails both ways; both pass with every other node: the path between them". */
export function pathText(p: PathCulprit): string {
  const how = p.bothWays ? 'fails both ways' : `fails (${p.to} -> ${p.from} ${p.reverse === 'pass' ? 'passes' : 'is not tested'})`
  const label = p.tests ? `${FAMILY_LABEL[p.family]} ${p.tests.join(', ')}` : FAMILY_LABEL[p.family]
  return `${p.from} -> ${p.to}: ${label} ${how}; ${p.othersPass ? 'both pass with every other node: ' : ''}the path between them`
}

function alternativeText(e: Explanation): string {
  const node = (c: NodeCulprit) => `${c.node} ${c.direction === 'in' && !c.onNode ? 'drops it in' : c.direction === 'out' && !c.onNode ? 'drops it out'
    : c.direction === 'both' ? `drops it in and out${c.onNode ? ' and between its own pods' : ''}` : c.pod === 'server' ? 'its server pod'
      : c.pod === 'client' ? 'its client pod' : 'between its own pods'}${c.evidence ? ` (${c.evidence})` : ''}`
  const path = (p: PathCulprit) => (p.bothWays ? `the path between ${p.from} and ${p.to}` : `the path ${p.from} -> ${p.to}`)
  return [...e.culprits.map(node), ...e.paths.map(path)].join(' and ')
}

/** "cp-1 -> worker-1: IPv6 fails; the tests cannot tell which: worker-1 drops it in, cp-1 drops it out, or the path cp-1 -> worker-1". */
export function ambiguityText(a: Ambiguity): string {
  const paths = [...new Set(a.tests.map((t) => `${t.fromNode} -> ${t.toNode}`))]
  const shown = paths.slice(0, 3).join(', ') + (a.failedTests > a.tests.length || paths.length > 3 ? ' and more' : '')
  const alternatives = a.alternatives.map(alternativeText)
  const listed = alternatives.length === 2 ? alternatives.join(' or ') : `${alternatives.slice(0, -1).join(', ')}, or ${alternatives.at(-1)}`
  // A scope's: which kinds fail (the others pass on the same paths).
  const scoped = a.alternatives.some((alt) => [...alt.culprits, ...alt.paths].some((x) => x.tests))
  const kinds = scoped ? ` ${[...new Set(a.tests.map((t) => t.test))].join(', ')}` : ''
  return `${shown}: ${FAMILY_LABEL[a.family]}${kinds} fails; the tests cannot tell which: ${listed}`
}

/**
 * One summary per node, the tests that failed from every node, and the verdict. `causes` holds what a read
 * found for a suspect node and family (key "node family"), e.g. "IPv6 forwarding is 0 there": the verdict
 * prefers explanations it supports.
 */
export function summarizeNodes(
  nodes: readonly string[], results: readonly ConnectivityResult[], families: readonly Family[],
  notReady: ReadonlyArray<{node: string; reason: string}>, causes: ReadonlyMap<string, string>,
): {nodes: NodeSummary[]; everywhere: FailingEverywhere[]; verdict: Verdict} {
  const byNode = tally(nodes, results)
  const analysis = computeScopedVerdict({nodes, families, results, evidence: causes, base: VERDICT_BASE, scopes: VERDICT_SCOPES})
  const {verdict} = analysis
  const everywhere = failingEverywhere(nodes, results, families, verdict)
  const everywhereKeys = new Set(everywhere.map((e) => `${e.test} ${e.family}`))
  // Failed tests by the nodes they touch, indexed once: a thousand nodes make ten thousand results.
  const failedWith = new Map<string, number[]>()
  results.forEach((r, i) => {
    if (r.status !== 'fail') return
    for (const node of new Set([r.fromNode, r.toNode])) {
      if (!node) continue
      const touching = failedWith.get(node)
      if (touching) touching.push(i)
      else failedWith.set(node, [i])
    }
  })
  const culpritsAt = new Map<string, NodeCulprit[]>()
  for (const c of verdict.culprits) culpritsAt.set(`${c.node} ${c.family}`, [...culpritsAt.get(`${c.node} ${c.family}`) ?? [], c])
  const maybeAt = new Set<string>()
  for (const a of verdict.ambiguous) for (const alt of a.alternatives) for (const c of alt.culprits) maybeAt.add(`${c.node} ${c.family}`)
  // What a test that names no destination node goes through: a culprit breaking traffic into some node.
  const intoNodes = new Map(families.map((f) => [f, verdict.culprits.filter((c) => c.family === f && c.direction !== 'out' && c.direction !== 'on-node').map((c) => c.node)]))
  const anyFault = (f: Family) => verdict.culprits.some((c) => c.family === f) || verdict.paths.some((p) => p.family === f) || verdict.ambiguous.some((a) => a.family === f)
    || verdict.everywhere.some((e) => e.family === f)

  const summaries: NodeSummary[] = nodes.map((node) => {
    const findings: string[] = []
    let own = false
    let affected = false
    for (const family of families) {
      const label = FAMILY_LABEL[family]
      const mine = culpritsAt.get(`${node} ${family}`) ?? []
      if (mine.length > 0) own = true
      findings.push(...mine.map(culpritText))
      const sendsOut = mine.some((c) => c.direction === 'out' || c.direction === 'both' || c.onNode)
      if (maybeAt.has(`${node} ${family}`)) own = true
      const peersOf = new Set<string>()
      const pathsWith = new Map<string, PathCulprit>()
      const undecided = new Set<string>()
      const viaService: ConnectivityResult[] = []
      const unexplained: ConnectivityResult[] = []
      for (const i of failedWith.get(node) ?? []) {
        const r = results[i]!
        if (r.family !== family) continue
        const cause = analysis.causes[i]
        const other = r.fromNode === node ? r.toNode : r.fromNode
        if (everywhereKeys.has(`${r.test} ${r.family}`) || cause?.kind === 'everywhere') {
          // What fails everywhere is said once for the cluster, not once per node.
          affected = true
        } else if (cause?.kind === 'culprit') {
          if (cause.culprits.some((c) => c.node === node)) continue
          const path = cause.paths.find((p) => p.from === node || p.to === node)
          if (path) pathsWith.set(path.from === node ? path.to : path.from, path)
          else for (const c of cause.culprits) peersOf.add(c.node)
          affected = true
        } else if (cause?.kind === 'ambiguous') {
          if (other && other !== node) undecided.add(other)
          affected = true
        } else if (r.test.startsWith('service/') && r.fromNode === node && sendsOut) {
          // A policy Service's request (no node-to-node evidence) from a node whose culprit fails what it sends.
          continue
        } else if (cause?.kind === 'unexplained' || r.toNode !== undefined) {
          unexplained.push(r)
        } else if (r.fromNode === node && sendsOut) {
          continue
        } else if (r.test === 'pod-to-service' && anyFault(family)) {
          viaService.push(r)
        } else {
          unexplained.push(r)
        }
      }
      if (pathsWith.size > 0) {
        for (const [peer, p] of pathsWith) findings.push(`${label} with ${peer} fails${p.bothWays ? ' both ways' : ''}: the path between them`)
      }
      if (peersOf.size > 0) {
        const peers = [...peersOf].sort()
        findings.push(`${label} with ${names(peers)} fails (see ${peers.length === 1 ? 'that node' : 'those nodes'})`)
      }
      if (undecided.size > 0) findings.push(`${label} with ${names([...undecided].sort())} fails; the tests cannot tell which node is at fault`)
      if (viaService.length > 0) {
        affected = true
        const behind = intoNodes.get(family)!
        findings.push(`${label} to the Service fails (${behind.length > 0 ? `its backends include ${names(behind)}` : 'a path to one of its backends fails'})`)
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
  return {nodes: summaries.sort((a, b) => a.node.localeCompare(b.node)), everywhere, verdict}
}
