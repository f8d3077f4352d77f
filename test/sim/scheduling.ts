// Which nodes a pod template may run on, as the scheduler's and the DaemonSet controller's predicates decide:
// nodeSelector, required node affinity (matchExpressions on labels, matchFields on metadata.name), and taints
// against tolerations. kubernetes/pkg/scheduler/framework/plugins/{nodeaffinity,tainttoleration} and
// pkg/controller/daemon/util (the tolerations every DaemonSet pod gets).
import {matchesLabels, type LabelSelector} from './selectors.js'
import type {Obj} from './store.js'

interface Toleration {
  key?: string
  operator?: 'Exists' | 'Equal'
  value?: string
  effect?: string
}

interface Taint {
  key: string
  value?: string
  effect: string
}

interface NodeSelectorRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'
  values?: string[]
}

interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[]
  matchFields?: NodeSelectorRequirement[]
}

/** What the DaemonSet controller adds to each of its pods (daemon/util/daemonset_util.go AddOrUpdateDaemonPodTolerations). */
export const DAEMON_POD_TOLERATIONS: Toleration[] = [
  {key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute'},
  {key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute'},
  {key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule'},
  {key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule'},
  {key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule'},
  {key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule'},
]

function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false
  if (!toleration.key) return toleration.operator === 'Exists'
  if (toleration.key !== taint.key) return false
  return toleration.operator === 'Exists' || (toleration.value ?? '') === (taint.value ?? '')
}

const OPERATORS = {In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists', Gt: 'gt', Lt: 'lt'} as const

/** A node selector term's requirements in the label-selector grammar the server already matches. */
function asSelector(requirements: NodeSelectorRequirement[] | undefined): LabelSelector {
  return (requirements ?? []).map((r) => ({key: r.key, op: OPERATORS[r.operator], values: r.values ?? []}) as LabelSelector[number])
}

function termHolds(term: NodeSelectorTerm, node: Obj): boolean {
  return matchesLabels(asSelector(term.matchExpressions), node.metadata.labels)
    && matchesLabels(asSelector(term.matchFields), {'metadata.name': node.metadata.name})
}

/** A taint the pod does not tolerate keeps it off the node (NoSchedule and NoExecute; PreferNoSchedule only prefers). */
export function untoleratedTaint(podSpec: Obj['spec'], node: Obj, extra: Toleration[] = []): Taint | undefined {
  const tolerations: Toleration[] = [...(podSpec?.tolerations ?? []), ...extra]
  return ((node.spec?.taints ?? []) as Taint[]).find((taint) => taint.effect !== 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint)))
}

/** nodeSelector and required node affinity (its terms are ORed, a term's requirements ANDed). */
export function matchesNodeAffinity(podSpec: Obj['spec'], node: Obj): boolean {
  const selector: Record<string, string> = podSpec?.nodeSelector ?? {}
  if (!Object.entries(selector).every(([k, v]) => node.metadata.labels?.[k] === v)) return false
  const terms: NodeSelectorTerm[] | undefined = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
  return !terms || terms.length === 0 || terms.some((term) => termHolds(term, node))
}

/** Should the DaemonSet run a pod of this template on the node (daemon controller's NodeShouldRunDaemonPod)? */
export function daemonPodFits(podSpec: Obj['spec'], node: Obj): boolean {
  return matchesNodeAffinity(podSpec, node) && !untoleratedTaint(podSpec, node, DAEMON_POD_TOLERATIONS)
}

/** May a DaemonSet pod already on the node stay there? A NoSchedule taint added later does not evict it; NoExecute does. */
export function daemonPodMayStay(podSpec: Obj['spec'], node: Obj): boolean {
  if (!matchesNodeAffinity(podSpec, node)) return false
  const taint = untoleratedTaint(podSpec, node, DAEMON_POD_TOLERATIONS)
  return !taint || taint.effect !== 'NoExecute'
}
