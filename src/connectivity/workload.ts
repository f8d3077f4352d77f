// The test workload: two DaemonSets (a server and a client pod per node) pinned to the chosen nodes, and a
// Service in front of the servers. Where each pod landed is read from the API, never assumed.
import type {ClusterClient} from '../cluster/kube.js'
import {isPodReady} from '../cluster/resources.js'
import type {KubeObject, PodObject} from '../cluster/types.js'
import {waitFor} from '../cluster/watch.js'
import {restrictedPodSpec} from '../pods/security.js'

export const LABELS = {'app.kubernetes.io/managed-by': 'kubectl-dualstack', 'app.kubernetes.io/component': 'connectivity'}
/** The label that tells one run's objects from another's (and from anything else in a namespace it shares). */
export const RUN_LABEL = 'dualstack.run'
export const SERVER_PORT = 8080
/** agnhost netexec's UDP server (its default port, said explicitly): answers "hostname" with the pod's name. */
export const SERVER_UDP_PORT = 8081
/** server and client: a node is tested when both are Ready; host (hostNetwork, optional): the tests from the node itself. */
export type Role = 'server' | 'client' | 'host'
/** The roles every tested node has. */
export const ROLES: ReadonlyArray<'server' | 'client'> = ['server', 'client']

/**
 * The test images, pinned: a tag that moves (`:latest`) gives different nodes different tools, and pulls on
 * every start (imagePullPolicy Always). Written with their registry, so that --image-registry's rewrite reads.
 */
export const CLIENT_IMAGE = 'docker.io/nicolaka/netshoot:v0.13'
export const SERVER_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.52'

/** A registry given to --image-registry: a host[:port] with an optional path, no scheme. */
export function checkRegistry(registry: string): string | undefined {
  const trimmed = registry.trim().replace(/\/+$/, '')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return `--image-registry ${registry} has a scheme: give the registry as a host, e.g. registry.internal:5000/mirror`
  if (!/^[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._-]+)*$/.test(trimmed)) return `--image-registry ${JSON.stringify(registry)} is not a registry host[:port][/path], e.g. registry.internal:5000/mirror`
  return undefined
}

/**
 * `image` from `registry` instead of its own: its registry (the first part when it has a dot or a port, or
 * is localhost; Docker Hub's docker.io otherwise, whose single-name images are library/NAME) is replaced,
 * its repository, tag and digest kept: docker.io/nicolaka/netshoot:v0.13 from registry.internal/mirror is
 * registry.internal/mirror/nicolaka/netshoot:v0.13.
 */
export function withRegistry(image: string, registry: string): string {
  const slash = image.indexOf('/')
  const first = slash === -1 ? '' : image.slice(0, slash)
  const named = first.includes('.') || first.includes(':') || first === 'localhost'
  const repository = named ? image.slice(slash + 1) : slash === -1 ? `library/${image}` : image
  return `${registry.trim().replace(/\/+$/, '')}/${repository}`
}

export interface WorkloadImages {
  image: string
  serverImage: string
}

/**
 * One run's names and labels: every object it makes is named for the run (dualstack-server-2f4943), never
 * a name a user may have taken, and labelled with it, so that it selects its own pods only.
 */
export interface Workload {
  run: string
  labels: Record<string, string>
  daemonSet: Record<Role, string>
  /** The Service's name (before 1.20, one per family: NAME-ipv4, NAME-ipv6). */
  service: string
}

export function workloadFor(run: string): Workload {
  return {
    run, labels: {...LABELS, [RUN_LABEL]: run},
    daemonSet: {server: `dualstack-server-${run}`, client: `dualstack-client-${run}`, host: `dualstack-host-${run}`},
    service: `dualstack-server-${run}`,
  }
}

export function selectorOf(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')
}

export interface DaemonSetManifest extends Record<string, unknown> {
  apiVersion: string
  kind: string
  metadata: {name: string; labels: Record<string, string>}
  spec: {selector: {matchLabels: Record<string, string>}; template: {metadata: {labels: Record<string, string>}; spec: {containers: Array<Record<string, unknown>>}}}
}

/**
 * A DaemonSet of one role, on exactly `nodes` (required node affinity on metadata.name, the way the
 * DaemonSet controller pins its own pods); tolerating every taint only when asked; its pods meeting Pod
 * Security restricted when the namespace wants it (ping then needs the node's unprivileged ICMP). The host
 * role's pods are in the node's network namespace (hostNetwork, which no Pod Security level but privileged
 * admits) and ask for nothing else: no privileged container, no capability added, no host path.
 */
export function daemonSetManifest(workload: Workload, role: Role, nodes: readonly string[], images: WorkloadImages, includeTainted: boolean,
  restricted = false): DaemonSetManifest {
  const labels = {...workload.labels, 'dualstack.role': role}
  const container = role === 'server'
    ? {name: 'server', image: images.serverImage, args: ['netexec', `--http-port=${SERVER_PORT}`, `--udp-port=${SERVER_UDP_PORT}`],
      ports: [{containerPort: SERVER_PORT, protocol: 'TCP'}, {containerPort: SERVER_UDP_PORT, protocol: 'UDP'}],
      readinessProbe: {httpGet: {path: '/healthz', port: SERVER_PORT}, periodSeconds: 2}}
    : {name: role, image: images.image, command: ['sleep', '2147483647']}
  const spec = {
    ...(role === 'host' ? {hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet'} : {}),
    affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {
      // One term per node: the apiserver takes a single value for a node field selector (terms are ORed).
      nodeSelectorTerms: [...nodes].map((node) => ({matchFields: [{key: 'metadata.name', operator: 'In', values: [node]}]})),
    }}},
    ...(includeTainted ? {tolerations: [{operator: 'Exists'}]} : {}),
    terminationGracePeriodSeconds: 0,
    automountServiceAccountToken: false,
    containers: [container] as Array<Record<string, unknown>>,
  }
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: {name: workload.daemonSet[role], labels},
    spec: {
      selector: {matchLabels: labels},
      template: {
        metadata: {labels},
        spec: restricted && role !== 'host' ? restrictedPodSpec(spec) : spec,
      },
    },
  }
}

/** A pod as the DaemonSet controller would make it from the template: what a dry-run shows admission. */
export function templatePod(daemonSet: DaemonSetManifest): Record<string, unknown> {
  return {apiVersion: 'v1', kind: 'Pod', metadata: {generateName: `${daemonSet.metadata.name}-`, labels: daemonSet.spec.template.metadata.labels}, spec: daemonSet.spec.template.spec}
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
  return role === 'server' || role === 'client' || role === 'host' ? role : undefined
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
  ready: Map<string, {server: PodObject; client: PodObject}>
  /** Nodes without, and why (each missing or not-Ready pod named). */
  notReady: Array<{node: string; reason: string}>
  /** With a hostNetwork client DaemonSet: the tested nodes whose host pod is Ready, and why it is not on the others. */
  hosts: Map<string, PodObject>
  hostsNotReady: Map<string, string>
}

/**
 * Sorts the workload's pods by node: Ready pairs, and for the rest what keeps each pod from Ready. A pod the
 * DaemonSet never made is explained by its FailedCreate Event when there is one (an admission refusal, a quota).
 */
export function testPodsByNode(workload: Workload, nodes: readonly string[], pods: readonly PodObject[], failedCreate: ReadonlyMap<Role, string> = new Map(),
  withHost = false): TestPods {
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
  const missing = (pod: PodObject | undefined, role: Role) => pod ? `${role} pod ${pod.metadata?.name} ${notReadyReason(pod)}`
    : `no ${role} pod was created there${failedCreate.has(role) ? `: ${failedCreate.get(role)}` : ` (see kubectl describe daemonset ${workload.daemonSet[role]})`}`
  const ready: TestPods['ready'] = new Map()
  const notReady: TestPods['notReady'] = []
  const hosts: TestPods['hosts'] = new Map()
  const hostsNotReady: TestPods['hostsNotReady'] = new Map()
  for (const node of nodes) {
    const pods = found.get(node) ?? {}
    if (pods.server && pods.client && isPodReady(pods.server) && isPodReady(pods.client)) {
      ready.set(node, {server: pods.server, client: pods.client})
      if (!withHost) continue
      if (pods.host && isPodReady(pods.host)) hosts.set(node, pods.host)
      else hostsNotReady.set(node, missing(pods.host, 'host'))
      continue
    }
    notReady.push({node, reason: ROLES.filter((role) => !pods[role] || !isPodReady(pods[role])).map((role) => missing(pods[role], role)).join('; ')})
  }
  return {ready, notReady, hosts, hostsNotReady}
}

/**
 * Watches the workload's pods until every node has its Ready pair (and host pod, `withHost`) or the deadline
 * comes; then says, per node, what is missing. A node that never gets there does not hold up the others'
 * tests past the deadline.
 */
export async function waitForTestPods(client: ClusterClient, workload: Workload, namespace: string, nodes: readonly string[], deadline: number,
  onProgress?: (message: string) => void, withHost = false): Promise<TestPods> {
  const selector = selectorOf(workload.labels)
  let last = ''
  const {objects} = await waitFor<PodObject, true>(client, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, (pods) => {
    const {ready, hosts} = testPodsByNode(workload, nodes, pods, new Map(), withHost)
    const message = `waiting for the test pods: ${ready.size} of ${nodes.length} nodes ready${withHost ? `, ${hosts.size} with the hostNetwork client` : ''}`
    if (message !== last) onProgress?.((last = message))
    return ready.size === nodes.length && (!withHost || hosts.size === nodes.length) ? true : undefined
  }, {deadline, labelSelector: selector})
  const found = testPodsByNode(workload, nodes, objects, new Map(), withHost)
  const unmade = (reason: string) => reason.includes('was created there')
  if (!found.notReady.some((n) => unmade(n.reason)) && ![...found.hostsNotReady.values()].some(unmade)) return found
  return testPodsByNode(workload, nodes, objects, await failedCreateMessages(client, workload, namespace), withHost)
}

interface EventObject {
  involvedObject?: {name?: string}
  message?: string
  lastTimestamp?: string
}

/** The newest FailedCreate message of each test DaemonSet (unreadable events: none, the reason then points to describe). */
async function failedCreateMessages(client: ClusterClient, workload: Workload, namespace: string): Promise<Map<Role, string>> {
  const events = await client.listAll<EventObject & KubeObject>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
    {fieldSelector: 'involvedObject.kind=DaemonSet,reason=FailedCreate'}).catch(() => [])
  const newest = new Map<Role, EventObject>()
  for (const event of events) {
    const role = (['server', 'client', 'host'] as const).find((r) => event.involvedObject?.name === workload.daemonSet[r])
    if (role && (newest.get(role)?.lastTimestamp ?? '') <= (event.lastTimestamp ?? '')) newest.set(role, event)
  }
  return new Map([...newest].map(([role, event]) => [role, event.message ?? 'FailedCreate']))
}
