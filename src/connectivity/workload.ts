// The test workload: two DaemonSets (a server and a client pod per node) pinned to the chosen nodes, and a
// Service in front of the servers. Where each pod landed is read from the API, never assumed.
import type {ClusterClient} from '../cluster/kube.js'
import {isPodReady} from '../cluster/resources.js'
import type {KubeObject, PodObject} from '../cluster/types.js'
import {waitFor} from '../cluster/watch.js'

export const LABELS = {'app.kubernetes.io/managed-by': 'kubectl-dualstack', 'app.kubernetes.io/component': 'connectivity'}
export const SERVER_PORT = 8080
export type Role = 'server' | 'client'
export const ROLES: readonly Role[] = ['server', 'client']

export interface WorkloadImages {
  image: string
  serverImage: string
}

/**
 * A DaemonSet of one role, on exactly `nodes` (required node affinity on metadata.name, the way the
 * DaemonSet controller pins its own pods); tolerating every taint only when asked.
 */
export function daemonSetManifest(role: Role, nodes: readonly string[], images: WorkloadImages, includeTainted: boolean): Record<string, unknown> {
  const labels = {...LABELS, 'dualstack.role': role}
  const container = role === 'server'
    ? {name: 'server', image: images.serverImage, args: ['netexec', `--http-port=${SERVER_PORT}`], ports: [{containerPort: SERVER_PORT}],
      readinessProbe: {httpGet: {path: '/healthz', port: SERVER_PORT}, periodSeconds: 2}}
    : {name: 'client', image: images.image, command: ['sleep', '2147483647']}
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: {name: `dualstack-${role}`, labels},
    spec: {
      selector: {matchLabels: labels},
      template: {
        metadata: {labels},
        spec: {
          affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {
            // One term per node: the apiserver takes a single value for a node field selector (terms are ORed).
            nodeSelectorTerms: [...nodes].map((node) => ({matchFields: [{key: 'metadata.name', operator: 'In', values: [node]}]})),
          }}},
          ...(includeTainted ? {tolerations: [{operator: 'Exists'}]} : {}),
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
          containers: [container],
        },
      },
    },
  }
}

/** The node a pod is on, or (still unscheduled) the one its DaemonSet meant it for. */
export function podNode(pod: PodObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName
  const terms = (pod.spec as {affinity?: {nodeAffinity?: {requiredDuringSchedulingIgnoredDuringExecution?: {
    nodeSelectorTerms?: Array<{matchFields?: Array<{key: string; values?: string[]}>}>}}}} | undefined)
    ?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
  const names = terms.flatMap((t) => (t.matchFields ?? []).filter((f) => f.key === 'metadata.name').flatMap((f) => f.values ?? []))
  const unique = [...new Set(names)]
  return unique.length === 1 ? unique[0] : undefined
}

function roleOf(pod: PodObject): Role | undefined {
  const role = pod.metadata?.labels?.['dualstack.role']
  return role === 'server' || role === 'client' ? role : undefined
}

interface PodStatusDetail {
  phase?: string
  conditions?: Array<{type: string; status: string; reason?: string; message?: string}>
  containerStatuses?: Array<{state?: {waiting?: {reason?: string; message?: string}; terminated?: {reason?: string; exitCode?: number}}}>
}

/** Why a pod is not Ready, as kubectl describe would show it: the scheduler's message, a waiting reason, or the phase. */
export function notReadyReason(pod: PodObject): string {
  const status = pod.status as PodStatusDetail | undefined
  const unscheduled = status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
  if (unscheduled) return `${status?.phase ?? 'Pending'}: ${unscheduled.reason ?? 'Unschedulable'}${unscheduled.message ? `: ${unscheduled.message}` : ''}`
  const waiting = status?.containerStatuses?.map((c) => c.state?.waiting).find((w) => w?.reason)
  if (waiting) return `${status?.phase ?? 'Pending'}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`
  const terminated = status?.containerStatuses?.map((c) => c.state?.terminated).find((t) => t)
  if (terminated) return `${status?.phase ?? 'Running'}: ${terminated.reason ?? 'Terminated'} (exit ${terminated.exitCode ?? '?'})`
  return status?.phase === 'Running' ? 'Running but not Ready' : status?.phase ?? 'Pending'
}

export interface TestPods {
  /** Nodes with a Ready server and client pod, and those pods. */
  ready: Map<string, Record<Role, PodObject>>
  /** Nodes without, and why (each missing or not-Ready pod named). */
  notReady: Array<{node: string; reason: string}>
}

/**
 * Sorts the workload's pods by node: Ready pairs, and for the rest what keeps each pod from Ready. A pod the
 * DaemonSet never made is explained by its FailedCreate Event when there is one (an admission refusal, a quota).
 */
export function testPodsByNode(nodes: readonly string[], pods: readonly PodObject[], failedCreate: ReadonlyMap<Role, string> = new Map()): TestPods {
  const found = new Map<string, Partial<Record<Role, PodObject>>>()
  for (const pod of pods) {
    const node = podNode(pod)
    const role = roleOf(pod)
    if (!node || !role || pod.metadata?.deletionTimestamp) continue
    const onNode = found.get(node) ?? {}
    // A DaemonSet may briefly have two pods on a node (one going): prefer the Ready one.
    if (!onNode[role] || (!isPodReady(onNode[role]) && isPodReady(pod))) onNode[role] = pod
    found.set(node, onNode)
  }
  const ready: TestPods['ready'] = new Map()
  const notReady: TestPods['notReady'] = []
  for (const node of nodes) {
    const pair = found.get(node) ?? {}
    if (pair.server && pair.client && isPodReady(pair.server) && isPodReady(pair.client)) {
      ready.set(node, {server: pair.server, client: pair.client})
      continue
    }
    const why = ROLES.filter((role) => !pair[role] || !isPodReady(pair[role]))
      .map((role) => pair[role] ? `${role} pod ${pair[role].metadata?.name} ${notReadyReason(pair[role])}`
        : `no ${role} pod was created there${failedCreate.has(role) ? `: ${failedCreate.get(role)}` : ` (see kubectl describe daemonset dualstack-${role})`}`)
    notReady.push({node, reason: why.join('; ')})
  }
  return {ready, notReady}
}

/**
 * Watches the workload's pods until every node has its Ready pair or the deadline comes; then says, per
 * node, what is missing. A node that never gets there does not hold up the others' tests past the deadline.
 */
export async function waitForTestPods(client: ClusterClient, namespace: string, nodes: readonly string[], deadline: number,
  onProgress?: (message: string) => void): Promise<TestPods> {
  const selector = Object.entries(LABELS).map(([k, v]) => `${k}=${v}`).join(',')
  let last = ''
  const {objects} = await waitFor<PodObject, true>(client, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, (pods) => {
    const {ready} = testPodsByNode(nodes, pods)
    const message = `waiting for the test pods: ${ready.size} of ${nodes.length} nodes ready`
    if (message !== last) onProgress?.((last = message))
    return ready.size === nodes.length ? true : undefined
  }, {deadline, labelSelector: selector})
  const found = testPodsByNode(nodes, objects)
  if (!found.notReady.some((n) => n.reason.includes('was created there'))) return found
  return testPodsByNode(nodes, objects, await failedCreateMessages(client, namespace))
}

interface EventObject {
  involvedObject?: {name?: string}
  message?: string
  lastTimestamp?: string
}

/** The newest FailedCreate message of each test DaemonSet (unreadable events: none, the reason then points to describe). */
async function failedCreateMessages(client: ClusterClient, namespace: string): Promise<Map<Role, string>> {
  const events = await client.listAll<EventObject & KubeObject>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
    {fieldSelector: 'involvedObject.kind=DaemonSet,reason=FailedCreate'}).catch(() => [])
  const newest = new Map<Role, EventObject>()
  for (const event of events) {
    const role = ROLES.find((r) => event.involvedObject?.name === `dualstack-${r}`)
    if (role && (newest.get(role)?.lastTimestamp ?? '') <= (event.lastTimestamp ?? '')) newest.set(role, event)
  }
  return new Map([...newest].map(([role, event]) => [role, event.message ?? 'FailedCreate']))
}
