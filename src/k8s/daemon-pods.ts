// Why a DaemonSet has no pod on a node, as its controller decides (pkg/controller/daemon NodeShouldRunDaemonPod):
// the template's nodeSelector and required node affinity, and the node's taints against the template's
// tolerations plus those the controller adds to every daemon pod. Pure, over plain objects.

interface Toleration {
  key?: string
  operator?: string
  value?: string
  effect?: string
}

interface Taint {
  key: string
  value?: string
  effect: string
}

interface Requirement {
  key: string
  operator: string
  values?: string[]
}

export interface DaemonPodSpec {
  nodeSelector?: Record<string, string>
  tolerations?: Toleration[]
  affinity?: {nodeAffinity?: {requiredDuringSchedulingIgnoredDuringExecution?: {nodeSelectorTerms?: Array<{matchExpressions?: Requirement[]; matchFields?: Requirement[]}>}}}
}

export interface SchedulableNode {
  metadata?: {name?: string; labels?: Record<string, string>}
  spec?: {taints?: Taint[]}
}

/** What the DaemonSet controller adds to each of its pods (daemon/util AddOrUpdateDaemonPodTolerations). */
const DAEMON_POD_TOLERATIONS: Toleration[] = [
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

function holds(requirement: Requirement, value: string | undefined): boolean {
  const values = requirement.values ?? []
  switch (requirement.operator) {
    case 'In': return value !== undefined && values.includes(value)
    case 'NotIn': return value === undefined || !values.includes(value)
    case 'Exists': return value !== undefined
    case 'DoesNotExist': return value === undefined
    case 'Gt': return value !== undefined && Number(value) > Number(values[0])
    case 'Lt': return value !== undefined && Number(value) < Number(values[0])
    default: return false
  }
}

const taintText = (t: Taint) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`

/**
 * Why the DaemonSet of this pod template runs no pod on the node, or undefined when it should run one there
 * (then its pod is not created yet, or was refused).
 */
export function whyNoDaemonPod(podSpec: DaemonPodSpec | undefined, node: SchedulableNode): string | undefined {
  const labels = node.metadata?.labels ?? {}
  const unmatched = Object.entries(podSpec?.nodeSelector ?? {}).filter(([k, v]) => labels[k] !== v)
  if (unmatched.length > 0) {
    return `the DaemonSet's nodeSelector ${unmatched.map(([k, v]) => `${k}=${v}`).join(',')} does not match the node (${unmatched.map(([k]) => `${k}=${labels[k] ?? '(unset)'}`).join(', ')})`
  }
  const terms = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
  if (terms.length > 0 && !terms.some((term) => (term.matchExpressions ?? []).every((r) => holds(r, labels[r.key]))
    && (term.matchFields ?? []).every((r) => r.key !== 'metadata.name' || holds(r, node.metadata?.name)))) {
    return 'the DaemonSet\'s required node affinity does not match the node'
  }
  const tolerations = [...(podSpec?.tolerations ?? []), ...DAEMON_POD_TOLERATIONS]
  const untolerated = (node.spec?.taints ?? []).filter((taint) => taint.effect !== 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint)))
  if (untolerated.length > 0) return `the DaemonSet does not tolerate the node's taint${untolerated.length > 1 ? 's' : ''} ${untolerated.map(taintText).join(', ')}`
  return undefined
}
