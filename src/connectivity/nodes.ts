// Which nodes connectivity tests: every schedulable Linux node (tainted ones only when asked), or a sample
// that keeps every node a doctor-style read finds suspicious. Plain data in, plain data out.
import type {KubeObject} from '../cluster/types.js'
import {addressFamily, type Family} from '../net/ip.js'

export interface Taint {
  key: string
  value?: string
  effect: string
}

export interface ConnectivityNodeObject extends KubeObject {
  spec?: {unschedulable?: boolean; taints?: Taint[]}
  status?: {addresses?: Array<{type: string; address: string}>; conditions?: Array<{type: string; status: string}>}
}

export interface NodeChoice {
  /** The nodes the test workload goes to, by name, sorted. */
  targets: string[]
  /** Nodes left out and why, so that a run never passes quietly over one. */
  skipped: Array<{node: string; reason: string}>
}

const OS_LABELS = ['kubernetes.io/os', 'beta.kubernetes.io/os']

function taintText(taint: Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`
}

/** Why a node cannot take the test pods, or undefined when it can. */
function unfit(node: ConnectivityNodeObject, includeTainted: boolean): string | undefined {
  const os = OS_LABELS.map((label) => node.metadata?.labels?.[label]).find((value) => value !== undefined)
  if (os !== undefined && os !== 'linux') return `${os} node (the test images are Linux)`
  if (!(node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')) return 'NotReady'
  if (node.spec?.unschedulable) return 'cordoned (unschedulable)'
  const taint = (node.spec?.taints ?? []).find((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')
  if (taint && !includeTainted) return `tainted ${taintText(taint)} (--include-tainted tests it)`
  return undefined
}

/**
 * The nodes to test among those listed (already narrowed by --node-selector on the server). With `names`
 * (--nodes), exactly those; a name that is not among the nodes is the caller's usage error (`missing`).
 */
export function chooseNodes(nodes: readonly ConnectivityNodeObject[], options: {names?: readonly string[]; includeTainted: boolean}): NodeChoice & {missing: string[]} {
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]))
  const wanted = options.names ? [...new Set(options.names)] : [...byName.keys()]
  const missing = wanted.filter((name) => !byName.has(name))
  const targets: string[] = []
  const skipped: NodeChoice['skipped'] = []
  for (const name of wanted) {
    const node = byName.get(name)
    if (!node) continue
    const reason = unfit(node, options.includeTainted)
    if (reason) skipped.push({node: name, reason})
    else targets.push(name)
  }
  return {targets: targets.sort(), skipped: skipped.sort((a, b) => a.node.localeCompare(b.node)), missing}
}

/** What a node's own object says against it: no InternalIP of a tested family. */
export function addressSuspicions(node: ConnectivityNodeObject, families: readonly Family[]): string[] {
  const internal = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => addressFamily(a.address))
  return families.filter((family) => !internal.includes(family)).map((family) => `no ${family === 'ipv4' ? 'IPv4' : 'IPv6'} InternalIP`)
}

/** Default sample size: every node up to this many, a sample beyond. */
export const DEFAULT_SAMPLE = 100

/**
 * `size` nodes out of `targets`: every suspicious one (even beyond `size`), then the rest spread evenly over
 * the sorted names, so that a sample reaches across racks and zones named in order. size 0: every node.
 */
export function pickSample(targets: readonly string[], suspicious: ReadonlySet<string>, size: number): string[] {
  if (size <= 0 || size >= targets.length) return [...targets]
  const chosen = targets.filter((node) => suspicious.has(node))
  const others = targets.filter((node) => !suspicious.has(node))
  const room = Math.max(0, size - chosen.length)
  for (let i = 0; i < room; i++) chosen.push(others[Math.floor((i * others.length) / room)]!)
  return chosen.sort()
}
