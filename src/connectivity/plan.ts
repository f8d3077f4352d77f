// The tests of a connectivity run, as data: per family and per node, pod to pod on the node, to the next two
// nodes of a ring (each node is a source twice and a target twice: 2N tests, not N*N), to the Service, a DNS
// lookup, optionally a host outside, and the e2e suite's other paths (NODE_PATHS); per family, a Service of each
// ipFamilyPolicy.
import {parseAddress, type Family} from '../net/ip.js'

/**
 * The paths of Kubernetes' dual-stack e2e suite beyond pod to pod, per node and family: the test pods'
 * addresses (pod IPs, status.hostIPs); from the host network namespace (a hostNetwork client per node) to the
 * next node's pod and to the Service; a NodePort on the next node's address from a pod and from the host; a
 * server reaching itself through its Service (hairpin); UDP to the Service; and a 2,000-byte echo to the next
 * node's pod, more than one packet of the IPv6 minimum MTU (1,280), so that an MTU problem shows as small
 * packets passing and large ones failing.
 */
export const NODE_PATHS = ['pod-ips', 'host-ips', 'node-to-pod', 'node-to-service', 'nodeport/from-pod', 'nodeport/from-node', 'hairpin', 'udp-to-service',
  'pod-to-pod/large-payload'] as const

/**
 * A Service of each ipFamilyPolicy, as the e2e suite makes them: SingleStack of the family, PreferDualStack (the
 * run's own Service), RequireDualStack with IPv4 first and with IPv6 first; each judged per family by its
 * ClusterIPs, its EndpointSlices of the family and a request to it. A few per run, spread over the nodes.
 */
export const SERVICE_POLICY_TESTS = ['service/single-stack', 'service/prefer-dual-stack', 'service/require-dual-stack/ipv4-first', 'service/require-dual-stack/ipv6-first'] as const

/** The tests run from the host network namespace (the hostNetwork client pod). */
export const HOST_TESTS: ReadonlySet<string> = new Set(['node-to-pod', 'node-to-service', 'nodeport/from-node'])

/** Every test by name, in the order a run plans them: what --test chooses from. */
export const CONNECTIVITY_TESTS = ['pod-to-pod/same-node', 'pod-to-pod/cross-node', 'pod-to-service', 'dns', 'external',
  ...NODE_PATHS, ...SERVICE_POLICY_TESTS] as const

export type ConnectivityTest = (typeof CONNECTIVITY_TESTS)[number]

/**
 * What the verdict reasons over (verdict.ts): the base kinds go from a node's client pod to a server pod, so
 * that any fault of a node, its pods or a path fails them; each scope's kinds share a fault only they show
 * (large packets; NodePorts on a node's address; the host network namespace, a NodePort from the host in
 * both; a server through its own Service; UDP). The pods' addresses and the policy Services are no
 * node-to-node evidence: in none.
 */
export const VERDICT_BASE: ReadonlySet<string> = new Set(['pod-to-pod/same-node', 'pod-to-pod/cross-node', 'pod-to-service', 'dns', 'external'])
export const VERDICT_SCOPES: ReadonlyArray<{tests: readonly ConnectivityTest[]}> = [
  {tests: ['pod-to-pod/large-payload']}, {tests: ['nodeport/from-pod', 'nodeport/from-node']}, {tests: ['node-to-pod', 'node-to-service', 'nodeport/from-node']},
  {tests: ['hairpin']}, {tests: ['udp-to-service']},
]

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

/** The tests of NODE_PATHS per node and family, then the policy Services' per family: O(N) too. */
export function planPaths(nodes: readonly string[], families: readonly Family[], options: PlanOptions): PlannedTest[] {
  const next = ringSuccessor(nodes)
  const tests: PlannedTest[] = []
  for (const family of families) {
    for (const node of [...nodes].sort()) tests.push(...nodePaths(node, next.get(node) ?? node, family, options.serviceIsNodeLocal))
    tests.push(...servicePolicyTests(nodes, family, options.serviceIsNodeLocal))
  }
  return tests
}

/** The paths of NODE_PATHS from a node; `next` is its ring successor (itself on a cluster of one). */
function nodePaths(node: string, next: string, family: Family, nodeLocal: boolean): PlannedTest[] {
  const local = nodeLocal ? {toNode: node} : {}
  return [
    {test: 'pod-ips', family, fromNode: node, toNode: node},
    {test: 'host-ips', family, fromNode: node, toNode: node},
    {test: 'node-to-pod', family, fromNode: node, toNode: next},
    {test: 'node-to-service', family, fromNode: node, ...local},
    // The NodePort Service has externalTrafficPolicy Local: the next node's address is answered by its own server.
    {test: 'nodeport/from-pod', family, fromNode: node, toNode: next},
    {test: 'nodeport/from-node', family, fromNode: node, toNode: next},
    {test: 'hairpin', family, fromNode: node, toNode: node},
    {test: 'udp-to-service', family, fromNode: node, ...local},
    {test: 'pod-to-pod/large-payload', family, fromNode: node, toNode: next},
  ]
}

/** One test per policy Service and family, sent from the nodes in turn (a few tests per run, not per node). */
function servicePolicyTests(nodes: readonly string[], family: Family, nodeLocal: boolean): PlannedTest[] {
  const sorted = [...nodes].sort()
  if (sorted.length === 0) return []
  return SERVICE_POLICY_TESTS.map((test, i) => {
    const node = sorted[(i + (family === 'ipv6' ? SERVICE_POLICY_TESTS.length : 0)) % sorted.length]!
    return {test, family, fromNode: node, ...(nodeLocal ? {toNode: node} : {})}
  })
}
