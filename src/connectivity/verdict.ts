// The verdict of a connectivity run: the smallest set of faults that explains every failed node-to-node test.
//
// Candidate faults, per family (each predicts a set of tests, all of which must have failed: a candidate
// crossed by a passing test is excluded):
// - a node: `in` drops what arrives from other nodes, `out` what it sends to other nodes, `both`; with
//   `onNode` its same-node tests fail too (IPv6 forwarding off, no address of the family: the node itself).
//   `in` with onNode is everything to its server pod (its own node's client too), `out` with onNode
//   everything from its client pod: a single pod. `on-node` is only its same-node tests (its own pods cannot
//   reach each other; with other nodes it passes).
// - a path between two nodes, one way or both ways (both pass with everyone else).
// Same-node tests are not evidence of in or out (the traffic never leaves the node): they count only for
// faults with onNode, the `on-node` fault, and the pods.
// Tests that name no destination node (a Service that is not node-local, DNS, outside) never blame a node by
// themselves: the caller decides what they mean once the verdict is known. A test kind that fails on every
// path (three nodes or more) is one cluster-wide cause and blames no node either.
//
// Among the smallest explanations those with more read evidence win; of those naming the same nodes, the one
// whose faults predict the most of what failed (forwarding off, not "the path between its own pods, and its
// neighbours' faults do the rest"). When explanations naming different nodes remain, the verdict says so and
// lists them instead of guessing. Explanations are found per connected group of failures: exclusion by
// passing tests leaves few candidates, and an exact branch-and-bound over those is milliseconds even on a
// thousand nodes; past a work budget it falls back to a greedy cover and says `partial`.
//
// A fault only some tests show (large packets lost, no NodePort on a node's address, the host network
// namespace, hairpin, UDP) passes every other test on the same path, so it contradicts every candidate above:
// computeScopedVerdict gives the verdict the base kinds (pod to pod from the client pod to the server pod),
// then each scope's kinds alone, for its failures the base culprits do not already explain; a culprit found
// there names the tests it is about (`tests`).
import type {Family} from '../net/ip.js'

export interface TestOutcome {
  test: string
  family: Family
  fromNode: string
  toNode?: string
  status: 'pass' | 'fail' | 'skip'
}

export type Direction = 'in' | 'out' | 'both' | 'on-node'

export interface NodeCulprit {
  node: string
  family: Family
  /** in: from other nodes; out: to other nodes; both; on-node: only between its own pods. */
  direction: Direction
  /** Its same-node tests fail too. */
  onNode: boolean
  /** in or out with onNode: everything to (server) or from (client) one test pod fails, its own node's too. */
  pod?: 'server' | 'client'
  /** What a read found there (e.g. "IPv6 forwarding is 0 there"). */
  evidence?: string
  /** The other nodes of its failed tests. */
  peers: string[]
  /** How many failed tests it explains. */
  failedTests: number
  /** Found in a scope: only these kinds of test fail there (the others pass). */
  tests?: string[]
}

export interface PathCulprit {
  from: string
  to: string
  family: Family
  /** Tested and failing both ways (the reverse may also be untested, or pass). */
  bothWays: boolean
  /** The reverse direction: failing (bothWays), passing, or not tested. */
  reverse: 'fail' | 'pass' | 'untested'
  /** Both ends pass every other test of the family with other nodes. */
  othersPass: boolean
  failedTests: number
  /** Found in a scope: only these kinds of test fail between them. */
  tests?: string[]
}

export interface Explanation {
  culprits: NodeCulprit[]
  paths: PathCulprit[]
}

export interface Ambiguity {
  family: Family
  /** The failed tests in question (the first ten), and how many there are. */
  tests: Array<{test: string; fromNode: string; toNode: string}>
  failedTests: number
  /** Explanations the tests cannot tell apart, each as small as the others. */
  alternatives: Explanation[]
}

export interface Verdict {
  culprits: NodeCulprit[]
  paths: PathCulprit[]
  ambiguous: Ambiguity[]
  /** Node-to-node test kinds that failed on every path (three nodes or more): one cluster-wide cause. */
  everywhere: Array<{test: string; family: Family}>
  /** Failed node-to-node tests no candidate explains (e.g. one kind fails where another passes on the same path). */
  unexplained: Array<{test: string; family: Family; fromNode: string; toNode: string}>
  /** The search gave up on finding the smallest explanation (a greedy one is given) or on weighing every one. */
  partial?: true
}

/** How each failed node-to-node result is explained (aligned with the results given). */
export type Cause =
  | {kind: 'culprit'; culprits: NodeCulprit[]; paths: PathCulprit[]}
  | {kind: 'ambiguous'; ambiguity: Ambiguity}
  | {kind: 'everywhere'}
  | {kind: 'unexplained'}

export interface VerdictAnalysis {
  verdict: Verdict
  causes: Array<Cause | undefined>
}

export interface VerdictInput {
  nodes: readonly string[]
  families: readonly Family[]
  results: readonly TestOutcome[]
  /** What a read found, by "node family". */
  evidence?: ReadonlyMap<string, string>
}

type NodeFault = {kind: 'node'; node: string; direction: Direction; onNode: boolean}
type PathFault = {kind: 'path'; from: string; to: string; bothWays: boolean}

interface Candidate {
  id: string
  /** Preference among candidates that predict the same tests at the same nodes (lower first). */
  rank: number
  nodes: string[]
  fault: NodeFault | PathFault
  /** Every test it predicts (indices into the family's links), all failed. */
  tests: number[]
  /** The failures it explains (indices into the family's failures to explain). */
  cover: number[]
  evidence?: string
}

interface Link {
  /** Index into the input results. */
  at: number
  test: string
  from: string
  to: string
  failed: boolean
}

interface Side {
  pass: number
  fail: number
  tests: number[]
}

const side = (): Side => ({pass: 0, fail: 0, tests: []})

/** Work allowed for the exact search, per component and in all. */
const COMPONENT_BUDGET = 200_000
const TOTAL_BUDGET = 2_000_000
/** Smallest explanations weighed per component. */
const SOLUTION_CAP = 256

const NODE_KINDS: Array<{direction: Exclude<Direction, 'on-node'>; onNode: boolean; rank: number}> = [
  {direction: 'both', onNode: true, rank: 0}, {direction: 'both', onNode: false, rank: 1},
  {direction: 'in', onNode: true, rank: 2}, {direction: 'out', onNode: true, rank: 3},
  {direction: 'in', onNode: false, rank: 4}, {direction: 'out', onNode: false, rank: 5},
]

export function computeVerdict(input: VerdictInput): VerdictAnalysis {
  const verdict: Verdict = {culprits: [], paths: [], ambiguous: [], everywhere: [], unexplained: []}
  const causes: Array<Cause | undefined> = new Array(input.results.length)
  const budget = {left: TOTAL_BUDGET}
  for (const family of input.families) familyVerdict(input, family, verdict, causes, budget)
  verdict.culprits.sort((a, b) => a.node.localeCompare(b.node) || a.family.localeCompare(b.family))
  verdict.paths.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.family.localeCompare(b.family))
  return {verdict, causes}
}

/** Kinds of test that share a fault only they show (e.g. the large payload: an MTU problem). */
export interface VerdictScope {
  tests: readonly string[]
}
export interface ScopedVerdictInput extends VerdictInput {
  /** The kinds every candidate fault predicts: pod to pod, from the client pod to the server pod. */
  base: ReadonlySet<string>
  /**
   * Disjoint from base; a kind may be in two scopes (a NodePort from the host), a kind in none is no
   * node-to-node evidence (e.g. the pods' addresses).
   */
  scopes: readonly VerdictScope[]
}

/**
 * The verdict over the base kinds, then per scope (in order) over its kinds alone, without the failures a
 * culprit found before already explains: a base one (a node dropping IPv6 in fails its large payloads too:
 * the same fault) or an earlier scope's of that kind. A failure is unexplained when no scope holding it
 * explains it. `causes` are aligned with the results given; a kind in no scope has none.
 */
export function computeScopedVerdict(input: ScopedVerdictInput): VerdictAnalysis {
  const only = (kinds: ReadonlySet<string>, keep: (r: TestOutcome, i: number) => boolean = () => true) =>
    input.results.map((r, i) => (kinds.has(r.test) && keep(r, i) ? r : {...r, status: 'skip' as const}))
  const base = computeVerdict({...input, results: only(input.base)})
  const {verdict} = base
  const causes = [...base.causes]
  const explainers: Array<{culprits: NodeCulprit[]; paths: PathCulprit[]; kinds?: ReadonlySet<string>}> = [{culprits: [...verdict.culprits], paths: [...verdict.paths]}]
  const explainedBy = (r: TestOutcome): Cause | undefined => {
    if (r.status !== 'fail' || r.toNode === undefined) return undefined
    const by = explainers.filter((x) => !x.kinds || x.kinds.has(r.test))
    const culprits = by.flatMap((x) => x.culprits).filter((c) => c.family === r.family && predicts(c, r))
    const paths = by.flatMap((x) => x.paths).filter((p) => p.family === r.family
      && ((p.from === r.fromNode && p.to === r.toNode) || (p.bothWays && p.from === r.toNode && p.to === r.fromNode)))
    return culprits.length > 0 || paths.length > 0 ? {kind: 'culprit', culprits, paths} : undefined
  }
  const scopedKinds = new Set<string>()
  for (const scope of input.scopes) {
    const kinds = new Set(scope.tests)
    for (const k of kinds) scopedKinds.add(k)
    const already = input.results.map((r) => (kinds.has(r.test) ? explainedBy(r) : undefined))
    const scoped = computeVerdict({nodes: input.nodes, families: input.families, results: only(kinds, (_, i) => already[i] === undefined)})
    const mark = <T extends {tests?: string[]}>(list: T[]) => list.map((x) => Object.assign(x, {tests: [...scope.tests]}))
    verdict.culprits.push(...mark(scoped.verdict.culprits))
    verdict.paths.push(...mark(scoped.verdict.paths))
    for (const a of scoped.verdict.ambiguous) {
      for (const alt of a.alternatives) {
        mark(alt.culprits)
        mark(alt.paths)
      }
    }
    verdict.ambiguous.push(...scoped.verdict.ambiguous)
    verdict.everywhere.push(...scoped.verdict.everywhere)
    if (scoped.verdict.partial) verdict.partial = true
    explainers.push({culprits: scoped.verdict.culprits, paths: scoped.verdict.paths, kinds})
    input.results.forEach((r, i) => {
      if (!kinds.has(r.test)) return
      const cause = already[i] ?? scoped.causes[i]
      if (cause && (causes[i] === undefined || causes[i]!.kind === 'unexplained')) causes[i] = cause
    })
  }
  input.results.forEach((r, i) => {
    if (scopedKinds.has(r.test) && causes[i]?.kind === 'unexplained') verdict.unexplained.push({test: r.test, family: r.family, fromNode: r.fromNode, toNode: r.toNode!})
  })
  verdict.culprits.sort((a, b) => a.node.localeCompare(b.node) || a.family.localeCompare(b.family))
  verdict.paths.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.family.localeCompare(b.family))
  return {verdict, causes}
}

/** Whether a node culprit's fault fails this test (across nodes: its direction; on the node: a fault of the node itself). */
function predicts(c: NodeCulprit, r: TestOutcome): boolean {
  if (r.fromNode === r.toNode) return c.node === r.fromNode && c.onNode
  if (c.direction === 'on-node') return false
  return (c.node === r.toNode && c.direction !== 'out') || (c.node === r.fromNode && c.direction !== 'in')
}

/** The nodes a read should look at for a family: every node the verdict (without evidence) names as a node fault, for sure or as an alternative. */
export function suspectNodes(nodes: readonly string[], results: readonly TestOutcome[], family: Family): string[] {
  const {verdict} = computeVerdict({nodes, families: [family], results})
  const named = new Set(verdict.culprits.map((c) => c.node))
  for (const a of verdict.ambiguous) for (const alt of a.alternatives) for (const c of alt.culprits) named.add(c.node)
  return [...named].sort()
}

function familyVerdict(input: VerdictInput, family: Family, verdict: Verdict, causes: Array<Cause | undefined>, budget: {left: number}): void {
  const tested = new Set(input.nodes)
  const links: Link[] = []
  input.results.forEach((r, at) => {
    if (r.family !== family || r.status === 'skip' || r.toNode === undefined || !tested.has(r.fromNode) || !tested.has(r.toNode)) return
    links.push({at, test: r.test, from: r.fromNode, to: r.toNode, failed: r.status === 'fail'})
  })
  if (!links.some((l) => l.failed)) return

  // A kind that failed on every path is one cluster-wide cause, not every node's: on every node of two or
  // more when it stays on the node, on every path between three or more nodes when it crosses them.
  const byKind = new Map<string, Link[]>()
  for (const l of links) {
    const all = byKind.get(l.test)
    if (all) all.push(l)
    else byKind.set(l.test, [l])
  }
  const everywhere = new Set<string>()
  for (const [kind, all] of byKind) {
    const onNodes = all.every((l) => l.from === l.to)
    if (tested.size >= (onNodes ? 2 : 3) && all.every((l) => l.failed)) {
      everywhere.add(kind)
      verdict.everywhere.push({test: kind, family})
    }
  }

  const stats = new Map<string, {in: Side; out: Side; self: Side}>()
  const pairs = new Map<string, Side>()
  const statOf = (node: string) => {
    let s = stats.get(node)
    if (!s) stats.set(node, s = {in: side(), out: side(), self: side()})
    return s
  }
  const pairOf = (from: string, to: string) => {
    const key = `${from}\u0000${to}`
    let s = pairs.get(key)
    if (!s) pairs.set(key, s = side())
    return s
  }
  const count = (s: Side, i: number, failed: boolean) => {
    s.tests.push(i)
    if (failed) s.fail++
    else s.pass++
  }
  links.forEach((l, i) => {
    if (l.from === l.to) count(statOf(l.from).self, i, l.failed)
    else {
      count(statOf(l.from).out, i, l.failed)
      count(statOf(l.to).in, i, l.failed)
    }
    count(pairOf(l.from, l.to), i, l.failed)
  })

  // The failures to explain, by their index among links.
  const failures: number[] = []
  const failureAt = new Map<number, number>()
  links.forEach((l, i) => {
    if (!l.failed) return
    if (everywhere.has(l.test)) {
      causes[l.at] = {kind: 'everywhere'}
      return
    }
    failureAt.set(i, failures.length)
    failures.push(i)
  })
  if (failures.length === 0) return

  const evidenceOf = (node: string) => input.evidence?.get(`${node} ${family}`)
  const candidates = new Map<string, Candidate>()
  const make = (id: string, rank: number, nodes: string[], fault: NodeFault | PathFault, tests: number[], evidence?: string) => {
    if (candidates.has(id)) return
    const cover = tests.map((t) => failureAt.get(t)).filter((f): f is number => f !== undefined)
    if (cover.length > 0) candidates.set(id, {id, rank, nodes, fault, tests, cover, ...(evidence ? {evidence} : {})})
  }
  // Each part a fault predicts must have been tested and must have failed every time.
  const failedAll = (s: Side) => s.fail > 0 && s.pass === 0
  const nodeCandidates = (node: string) => {
    const s = statOf(node)
    for (const {direction, onNode, rank} of NODE_KINDS) {
      const parts = [...(direction !== 'out' ? [s.in] : []), ...(direction !== 'in' ? [s.out] : []), ...(onNode ? [s.self] : [])]
      if (!parts.every(failedAll)) continue
      make(`node ${node} ${direction}${onNode ? '+' : ''}`, rank, [node], {kind: 'node', node, direction, onNode}, parts.flatMap((p) => p.tests), evidenceOf(node))
    }
    if (failedAll(s.self)) make(`node ${node} on-node`, 6, [node], {kind: 'node', node, direction: 'on-node', onNode: true}, s.self.tests, evidenceOf(node))
  }
  const pathCandidates = (from: string, to: string) => {
    const there = pairOf(from, to)
    if (!failedAll(there)) return
    make(`path ${from} ${to}`, 8, [from, to].sort(), {kind: 'path', from, to, bothWays: false}, there.tests)
    const back = pairs.get(`${to}\u0000${from}`)
    if (back && failedAll(back)) {
      const [a, b] = [from, to].sort() as [string, string]
      make(`path ${a} ${b} both`, 7, [a, b], {kind: 'path', from: a, to: b, bothWays: true}, [...there.tests, ...back.tests])
    }
  }
  const seenNode = new Set<string>()
  for (const i of failures) {
    const l = links[i]!
    for (const node of new Set([l.from, l.to])) {
      if (!seenNode.has(node)) {
        seenNode.add(node)
        nodeCandidates(node)
      }
    }
    if (l.from !== l.to) pathCandidates(l.from, l.to)
  }

  // Of candidates at the same nodes, one that predicts a subset of another's tests adds nothing (and one
  // that predicts the same tests is the same explanation): the larger one stays.
  const groups = new Map<string, Candidate[]>()
  for (const c of candidates.values()) {
    const key = c.nodes.join(' ')
    const group = groups.get(key)
    if (group) group.push(c)
    else groups.set(key, [c])
  }
  const kept: Candidate[] = []
  for (const group of groups.values()) {
    const sets = group.map((c) => new Set(c.tests))
    group.forEach((c, i) => {
      const dominated = group.some((d, j) => j !== i && c.tests.every((t) => sets[j]!.has(t))
        && (d.tests.length > c.tests.length || d.rank < c.rank || (d.rank === c.rank && d.id < c.id)))
      if (!dominated) kept.push(c)
    })
  }
  kept.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

  // Connected groups of failures (joined by a candidate explaining both), solved one by one.
  const parent = failures.map((_, i) => i)
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!
    return x
  }
  for (const c of kept) for (const f of c.cover.slice(1)) parent[find(f)] = find(c.cover[0]!)
  const components = new Map<number, {failures: number[]; candidates: Candidate[]}>()
  failures.forEach((_, f) => {
    const root = find(f)
    const comp = components.get(root) ?? {failures: [], candidates: []}
    comp.failures.push(f)
    components.set(root, comp)
  })
  for (const c of kept) components.get(find(c.cover[0]!))!.candidates.push(c)

  const explained = new Set<number>()
  for (const comp of components.values()) {
    if (comp.candidates.length === 0) continue
    const solved = solveComponent(comp.failures, comp.candidates, budget)
    if (solved.partial) verdict.partial = true
    const toCulprits = (chosen: Candidate[]): Explanation => ({
      culprits: chosen.filter((c) => c.fault.kind === 'node').map((c) => nodeCulprit(c, family, links)),
      paths: chosen.filter((c) => c.fault.kind === 'path').map((c) => pathCulprit(c, family, links, pairs, stats)),
    })
    const definite = toCulprits(solved.definite)
    verdict.culprits.push(...definite.culprits)
    verdict.paths.push(...definite.paths)
    const coveredBy = new Map<number, Explanation>()
    const add = (f: number, culprit: NodeCulprit | PathCulprit, isPath: boolean) => {
      const e = coveredBy.get(f) ?? {culprits: [], paths: []}
      if (isPath) e.paths.push(culprit as PathCulprit)
      else e.culprits.push(culprit as NodeCulprit)
      coveredBy.set(f, e)
    }
    solved.definite.forEach((c) => {
      const isPath = c.fault.kind === 'path'
      const culprit = isPath ? definite.paths.find((p) => pathId(p) === c.id)! : definite.culprits.find((n) => nodeId(n) === c.id)!
      for (const f of c.cover) add(f, culprit, isPath)
    })
    let ambiguity: Ambiguity | undefined
    if (solved.alternatives.length > 0) {
      const open = comp.failures.filter((f) => !coveredBy.has(f)).map((f) => links[failures[f]!]!)
      ambiguity = {
        family, failedTests: open.length, tests: open.slice(0, 10).map((l) => ({test: l.test, fromNode: l.from, toNode: l.to})),
        alternatives: solved.alternatives.map(toCulprits),
      }
      verdict.ambiguous.push(ambiguity)
    }
    for (const f of comp.failures) {
      const at = links[failures[f]!]!.at
      const by = coveredBy.get(f)
      if (by) causes[at] = {kind: 'culprit', ...by}
      else if (ambiguity) causes[at] = {kind: 'ambiguous', ambiguity}
      explained.add(f)
    }
  }
  failures.forEach((i, f) => {
    if (explained.has(f)) return
    const l = links[i]!
    causes[l.at] = {kind: 'unexplained'}
    verdict.unexplained.push({test: l.test, family, fromNode: l.from, toNode: l.to})
  })
}

const nodeId = (c: NodeCulprit) => `node ${c.node} ${c.direction}${c.onNode && c.direction !== 'on-node' ? '+' : ''}`
const pathId = (p: PathCulprit) => (p.bothWays ? `path ${p.from} ${p.to} both` : `path ${p.from} ${p.to}`)

function nodeCulprit(c: Candidate, family: Family, links: Link[]): NodeCulprit {
  const fault = c.fault as NodeFault
  const peers = new Set<string>()
  for (const t of c.tests) {
    const l = links[t]!
    if (l.from !== l.to) peers.add(l.from === fault.node ? l.to : l.from)
  }
  const pod = fault.onNode && fault.direction === 'in' ? 'server' as const : fault.onNode && fault.direction === 'out' ? 'client' as const : undefined
  return {node: fault.node, family, direction: fault.direction, onNode: fault.onNode, ...(pod ? {pod} : {}), ...(c.evidence ? {evidence: c.evidence} : {}),
    peers: [...peers].sort(), failedTests: c.tests.length}
}

function pathCulprit(c: Candidate, family: Family, links: Link[], pairs: Map<string, Side>, stats: Map<string, {in: Side; out: Side}>): PathCulprit {
  const fault = c.fault as PathFault
  const back = pairs.get(`${fault.to}\u0000${fault.from}`)
  const reverse = fault.bothWays ? 'fail' as const : !back ? 'untested' as const : back.pass > 0 ? 'pass' as const : 'fail' as const
  const between = (l: Link) => (l.from === fault.from && l.to === fault.to) || (l.from === fault.to && l.to === fault.from)
  const othersPass = [fault.from, fault.to].every((node) => {
    const s = stats.get(node)!
    return [...s.in.tests, ...s.out.tests].every((t) => between(links[t]!) || !links[t]!.failed)
  })
  return {from: fault.from, to: fault.to, family, bothWays: fault.bothWays, reverse, othersPass, failedTests: c.tests.length}
}

interface Solved {
  definite: Candidate[]
  alternatives: Candidate[][]
  partial: boolean
}

/**
 * The smallest covers of a component's failures. One left after weighing (evidence first; then, of covers
 * naming the same nodes, the one predicting the most): every fault is definite. Several naming different
 * nodes: the faults they share are definite, the rest alternatives.
 */
function solveComponent(failures: number[], candidates: Candidate[], budget: {left: number}): Solved {
  const local = new Map(failures.map((f, i) => [f, i]))
  const covers = candidates.map((c) => c.cover.map((f) => local.get(f)!))
  // A candidate that alone explains some failure is in every cover: taken first, the search is over the rest.
  const by: number[][] = Array.from({length: failures.length}, () => [])
  covers.forEach((cover, c) => cover.forEach((f) => by[f]!.push(c)))
  const covered = new Array<boolean>(failures.length).fill(false)
  const essential: number[] = []
  for (let changed = true; changed;) {
    changed = false
    for (let f = 0; f < failures.length; f++) {
      if (covered[f] || by[f]!.length !== 1) continue
      const c = by[f]![0]!
      essential.push(c)
      for (const g of covers[c]!) covered[g] = true
      changed = true
    }
  }
  const rest = failures.map((_, f) => f).filter((f) => !covered[f])
  const restAt = new Map(rest.map((f, i) => [f, i]))
  const restCandidates = covers.map((cover, c) => ({c, cover: cover.filter((f) => restAt.has(f)).map((f) => restAt.get(f)!)})).filter((x) => x.cover.length > 0)
  const search = rest.length === 0 ? {solutions: [[]], complete: true, capped: false, work: 0}
    : smallestCovers(rest.length, restCandidates.map((x) => x.cover), Math.min(COMPONENT_BUDGET, budget.left))
  budget.left -= search.work
  if (!search.complete) {
    return {definite: greedyCover(failures.length, covers, candidates).map((i) => candidates[i]!), alternatives: [], partial: true}
  }
  search.solutions = search.solutions.map((s) => [...essential, ...s.map((i) => restCandidates[i]!.c)].sort((a, b) => a - b))
  // Evidence counts per node named (two faults at one node with a read cause are one node explained).
  const evidence = (s: number[]) => new Set(s.filter((i) => candidates[i]!.evidence !== undefined).map((i) => candidates[i]!.nodes[0])).size
  const weight = (s: number[]) => s.reduce((sum, i) => sum + candidates[i]!.tests.length, 0)
  const most = Math.max(...search.solutions.map(evidence))
  const byNodes = new Map<string, number[]>()
  for (const s of search.solutions.filter((x) => evidence(x) === most)) {
    const key = [...new Set(s.flatMap((i) => candidates[i]!.nodes))].sort().join(' ')
    const held = byNodes.get(key)
    if (!held || weight(s) > weight(held)) byNodes.set(key, s)
  }
  const chosen = [...byNodes.values()]
  const shared = chosen[0]!.filter((i) => chosen.every((s) => s.includes(i)))
  const sharedSet = new Set(shared)
  return {
    definite: shared.map((i) => candidates[i]!),
    alternatives: chosen.length > 1 ? chosen.map((s) => s.filter((i) => !sharedSet.has(i)).map((i) => candidates[i]!)) : [],
    partial: search.capped,
  }
}

/**
 * Exact minimum set covers by branch and bound: branch on the uncovered failure with the fewest candidates;
 * in branch k the candidates of branches before it are forbidden, so each cover is found once. Every cover
 * of the smallest size is kept (up to SOLUTION_CAP).
 */
function smallestCovers(n: number, covers: number[][], budget: number): {solutions: number[][]; complete: boolean; capped: boolean; work: number} {
  const by: number[][] = Array.from({length: n}, () => [])
  covers.forEach((cover, c) => cover.forEach((f) => by[f]!.push(c)))
  for (const list of by) list.sort((a, b) => covers[b]!.length - covers[a]!.length || a - b)
  const maxCover = Math.max(...covers.map((c) => c.length))
  const covered = new Array<number>(n).fill(0)
  const forbidden = new Array<boolean>(covers.length).fill(false)
  const chosen: number[] = []
  let uncovered = n
  let best = greedyCover(n, covers).length
  let solutions: number[][] = []
  let work = 0
  let capped = false
  let aborted = false
  const take = (c: number, sign: 1 | -1) => {
    for (const f of covers[c]!) {
      const before = covered[f]!
      covered[f] = before + sign
      if (sign === 1 && before === 0) uncovered--
      if (sign === -1 && before === 1) uncovered++
    }
  }
  const recurse = () => {
    if (aborted) return
    // A step costs the scan over the component's failures.
    work += n
    if (work > budget) {
      aborted = true
      return
    }
    if (uncovered === 0) {
      if (chosen.length < best) {
        best = chosen.length
        solutions = []
        capped = false
      }
      if (solutions.length < SOLUTION_CAP) solutions.push([...chosen].sort((a, b) => a - b))
      else capped = true
      return
    }
    if (chosen.length + Math.ceil(uncovered / maxCover) > best) return
    let pick = -1
    let fewest = Infinity
    for (let f = 0; f < n; f++) {
      if (covered[f]! > 0) continue
      let options = 0
      for (const c of by[f]!) if (!forbidden[c]) options++
      if (options < fewest) {
        fewest = options
        pick = f
      }
    }
    if (fewest === 0) return
    const tried: number[] = []
    for (const c of by[pick]!) {
      if (forbidden[c]) continue
      chosen.push(c)
      take(c, 1)
      recurse()
      take(c, -1)
      chosen.pop()
      forbidden[c] = true
      tried.push(c)
      if (aborted) break
    }
    for (const c of tried) forbidden[c] = false
  }
  recurse()
  return {solutions, complete: !aborted && solutions.length > 0, capped, work}
}

/** Whether a is preferred to b: read evidence, then more predicted (and failed) tests, then rank. */
function preferred(a: Candidate, b: Candidate): boolean {
  if ((a.evidence !== undefined) !== (b.evidence !== undefined)) return a.evidence !== undefined
  if (a.tests.length !== b.tests.length) return a.tests.length > b.tests.length
  return a.rank <= b.rank
}

/** Repeatedly the candidate explaining most of what is left (ties: evidence, then what it predicts, then order). */
function greedyCover(n: number, covers: number[][], candidates?: Candidate[]): number[] {
  const covered = new Array<boolean>(n).fill(false)
  let left = n
  const chosen: number[] = []
  while (left > 0) {
    let bestC = -1
    let bestGain = 0
    for (let c = 0; c < covers.length; c++) {
      const gain = covers[c]!.filter((f) => !covered[f]).length
      if (gain === 0 || gain < bestGain) continue
      if (gain === bestGain && (!candidates || preferred(candidates[bestC]!, candidates[c]!))) continue
      bestGain = gain
      bestC = c
    }
    if (bestC < 0) break
    chosen.push(bestC)
    for (const f of covers[bestC]!) {
      if (!covered[f]) {
        covered[f] = true
        left--
      }
    }
  }
  return chosen
}
