// The tests of a connectivity run, as data: per family and per node, pod to pod on the node, to the next two
// nodes of a ring (each node is a source twice and a target twice: 2N tests, not N*N), to the Service, a DNS
// lookup and optionally a host outside.
import {parseAddress, type Family} from '../net/ip.js'

export type ConnectivityTest = 'pod-to-pod/same-node' | 'pod-to-pod/cross-node' | 'pod-to-service' | 'dns' | 'external'

export interface PlannedTest {
  test: ConnectivityTest
  family: Family
  /** The node whose client pod sends. */
  fromNode: string
  /** The node whose server pod answers (pod to pod; the Service too when it keeps traffic on the node). */
  toNode?: string
}

export interface PlanOptions {
  externalTarget?: string
  /** The Service has internalTrafficPolicy Local: a client reaches the server on its own node through it. */
  serviceIsNodeLocal: boolean
}

/** Each node's successor in the ring over the sorted names; none with fewer than two nodes. */
export function ringSuccessor(nodes: readonly string[]): Map<string, string> {
  const sorted = [...nodes].sort()
  const next = new Map<string, string>()
  if (sorted.length < 2) return next
  sorted.forEach((node, i) => next.set(node, sorted[(i + 1) % sorted.length]!))
  return next
}

/**
 * The nodes each node sends to across nodes: the next one and the one after in the ring over the sorted names.
 * Every node is then a target from two others and a source to two, so one node's failing direction fails two
 * tests while its senders and receivers pass with someone else, and the verdict can tell them apart; still
 * O(N). Two nodes: each to the other; one: none.
 */
export function crossNodeTargets(nodes: readonly string[]): Map<string, string[]> {
  const sorted = [...new Set(nodes)].sort()
  const steps = sorted.length >= 3 ? [1, 2] : sorted.length === 2 ? [1] : []
  return new Map(sorted.map((node, i) => [node, steps.map((step) => sorted[(i + step) % sorted.length]!)]))
}

export function planTests(nodes: readonly string[], families: readonly Family[], options: PlanOptions): PlannedTest[] {
  const targets = crossNodeTargets(nodes)
  const literal = options.externalTarget ? parseAddress(options.externalTarget) : undefined
  const tests: PlannedTest[] = []
  for (const family of families) {
    for (const node of [...nodes].sort()) {
      tests.push({test: 'pod-to-pod/same-node', family, fromNode: node, toNode: node})
      for (const target of targets.get(node) ?? []) tests.push({test: 'pod-to-pod/cross-node', family, fromNode: node, toNode: target})
      tests.push({test: 'pod-to-service', family, fromNode: node, ...(options.serviceIsNodeLocal ? {toNode: node} : {})})
      tests.push({test: 'dns', family, fromNode: node})
      if (options.externalTarget && (!literal || literal.family === family)) tests.push({test: 'external', family, fromNode: node})
    }
  }
  return tests
}
