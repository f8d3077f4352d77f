// The tests of a connectivity run, as data: per family and per node, pod to pod on the node, to the next node
// of a ring (each node is a source once and a target once: N tests, not N*N), to the Service, a DNS lookup and
// optionally a host outside.
import {parseAddress, type Family} from '../net/ip.js'

/** Every test by name, in the order a run plans them: what --test chooses from. */
export const CONNECTIVITY_TESTS = ['pod-to-pod/same-node', 'pod-to-pod/cross-node', 'pod-to-service', 'dns', 'external'] as const

export type ConnectivityTest = (typeof CONNECTIVITY_TESTS)[number]

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

export function planTests(nodes: readonly string[], families: readonly Family[], options: PlanOptions): PlannedTest[] {
  const next = ringSuccessor(nodes)
  const literal = options.externalTarget ? parseAddress(options.externalTarget) : undefined
  const tests: PlannedTest[] = []
  for (const family of families) {
    for (const node of [...nodes].sort()) {
      tests.push({test: 'pod-to-pod/same-node', family, fromNode: node, toNode: node})
      const successor = next.get(node)
      if (successor) tests.push({test: 'pod-to-pod/cross-node', family, fromNode: node, toNode: successor})
      tests.push({test: 'pod-to-service', family, fromNode: node, ...(options.serviceIsNodeLocal ? {toNode: node} : {})})
      tests.push({test: 'dns', family, fromNode: node})
      if (options.externalTarget && (!literal || literal.family === family)) tests.push({test: 'external', family, fromNode: node})
    }
  }
  return tests
}
