// Which pods hold which addresses, and who owns them: what a pool change affects and what must be
// recreated. Owner resolution follows ownerReferences up to what `kubectl rollout restart` can act on.
import {mapLimit} from '../cluster/concurrency.js'
import type {ClusterApi} from '../cluster/kube.js'
import type {KubeObject, PodDetail} from '../cluster/types.js'
import {ApiError} from '../errors.js'
import {cidrContains, nthAddress, parseAddress} from '../net/ip.js'

export interface OwnerRef {
  kind: string
  name: string
}

export interface HolderPod {
  namespace: string
  name: string
  node?: string
  /** Its addresses inside the pool. */
  ips: string[]
  /** The controller to act through: Deployment for pods of a Deployment's ReplicaSet; undefined for a bare pod. */
  owner?: OwnerRef
  /** Why a rollout restart of that owner would not replace the pod (paused, OnDelete), as read with the owner. */
  notRestartable?: OwnerRefusal
}

/** Why the plugin does not act on an owner, and what the user can do instead (a kubectl command). */
export interface OwnerRefusal {
  why: string
  remedy: string
}

export interface TunnelAddress {
  node: string
  ip: string
  type: string
}

export interface Impact {
  cidr: string
  /** Pods on the pod network with an address inside the pool. */
  pods: HolderPod[]
  /** Nodes' tunnel addresses (IPIP, VXLAN, WireGuard) inside the pool. */
  tunnels: TunnelAddress[]
  /** IPAM blocks carved out of the pool; undefined when they could not be read. */
  blocks?: number
  /** IPAM allocations for pods that no longer exist (leaked addresses). */
  leaked: Array<{ip: string; pod: string}>
  /** Why IPAM blocks could not be read, when they could not. */
  ipamError?: string
}

type WithOwners = KubeObject & {metadata?: KubeObject['metadata'] & {ownerReferences?: Array<{kind: string; name: string; controller?: boolean}>}}

export function controllerOf(obj: WithOwners): OwnerRef | undefined {
  const refs = obj.metadata?.ownerReferences ?? []
  const ref = refs.find((r) => r.controller) ?? refs[0]
  return ref ? {kind: ref.kind, name: ref.name} : undefined
}

/** Addresses of a pod inside a CIDR (hostNetwork pods have the node's addresses: never a pool's). */
export function addressesIn(pod: PodDetail, cidr: string): string[] {
  if (pod.spec?.hostNetwork) return []
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return []
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip ?? '').concat(pod.status?.podIP ?? [])
  return [...new Set(ips.flatMap((ip) => (ip && cidrContains(cidr, ip) ? [parseAddress(ip)!.text] : [])))]
}

/** The collection of each kind a rollout restart acts on. */
export const ROLLOUT_PLURAL: Record<string, string> = {Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets'}

export interface RollableOwner extends KubeObject {
  spec?: {paused?: boolean; updateStrategy?: {type?: string; rollingUpdate?: {partition?: number}}}
}

/**
 * Why a rollout restart would not replace this owner's pods, or undefined: kubectl refuses to restart a
 * paused Deployment, and an OnDelete (or partitioned) StatefulSet or DaemonSet never rolls, so waiting for
 * it would only end in a timeout with the restart annotation left behind.
 */
export function restartRefusal(kind: string, namespace: string, name: string, owner: RollableOwner): OwnerRefusal | undefined {
  const ref = `${kind.toLowerCase()}/${name} -n ${namespace}`
  if (kind === 'Deployment' && owner.spec?.paused) {
    return {why: 'the Deployment is paused, and kubectl refuses to restart a paused Deployment', remedy: `resume it first (kubectl rollout resume ${ref}), then run this again`}
  }
  if (kind !== 'StatefulSet' && kind !== 'DaemonSet') return undefined
  const strategy = owner.spec?.updateStrategy
  if (strategy?.type === 'OnDelete') {
    return {why: `its updateStrategy is OnDelete: the ${kind} controller replaces a pod only once it is deleted, so a restart never rolls`,
      remedy: `delete its pods one at a time, each once the previous one's replacement is Ready (kubectl delete pod POD -n ${namespace}), or set its updateStrategy to RollingUpdate`}
  }
  const partition = strategy?.rollingUpdate?.partition ?? 0
  if (kind === 'StatefulSet' && partition > 0) {
    return {why: `its rolling update has partition ${partition}: a restart replaces only the pods of ordinal ${partition} and up`,
      remedy: `set spec.updateStrategy.rollingUpdate.partition to 0 (kubectl patch ${ref} -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}'), then run this again`}
  }
  return undefined
}

/** A read that may be refused or find nothing: either leaves the decision to the restart, which reads the owner again. */
async function readIfAllowed<T>(client: ClusterApi, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>('GET', path)
  } catch (error) {
    if (error instanceof ApiError && (error.code === 404 || error.code === 403)) return undefined
    throw error
  }
}

/**
 * Replaces ReplicaSet owners by their Deployment, as rollout restart works on Deployments, then reads each
 * owner that would be rolled for what stops a restart (a paused Deployment, OnDelete): one read per distinct
 * owner, a bounded number at a time (thousands of pods share a few hundred ReplicaSets).
 */
export async function resolveOwners(client: ClusterApi, pods: HolderPod[]): Promise<HolderPod[]> {
  const keys = [...new Set(pods.filter((p) => p.owner?.kind === 'ReplicaSet').map((p) => `${p.namespace}/${p.owner!.name}`))]
  const deployments = new Map<string, OwnerRef | undefined>()
  await mapLimit(keys, 16, async (key) => {
    const [namespace, name] = key.split('/') as [string, string]
    // A ReplicaSet already gone keeps its own name as the owner.
    const rs = await client.getIfExists<WithOwners>(`/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets/${encodeURIComponent(name)}`)
    const up = rs && controllerOf(rs)
    if (up?.kind === 'Deployment') deployments.set(key, up)
  })
  for (const pod of pods) {
    if (pod.owner?.kind === 'ReplicaSet') pod.owner = deployments.get(`${pod.namespace}/${pod.owner.name}`) ?? pod.owner
  }
  const rollable = [...new Set(pods.filter((p) => p.owner && ROLLOUT_PLURAL[p.owner.kind]).map((p) => `${p.namespace}/${p.owner!.kind}/${p.owner!.name}`))]
  const refusals = new Map<string, OwnerRefusal>()
  await mapLimit(rollable, 16, async (key) => {
    const [namespace, kind, name] = key.split('/') as [string, string, string]
    const owner = await readIfAllowed<RollableOwner>(client, `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${ROLLOUT_PLURAL[kind]}/${encodeURIComponent(name)}`)
    const refusal = owner && restartRefusal(kind, namespace, name, owner)
    if (refusal) refusals.set(key, refusal)
  })
  for (const pod of pods) {
    const refusal = pod.owner && refusals.get(`${pod.namespace}/${pod.owner.kind}/${pod.owner.name}`)
    if (refusal) pod.notRestartable = refusal
  }
  return pods
}

export type OwnerAction = 'rollout-restart' | 'evict' | 'list'

export interface OwnerGroup {
  namespace: string
  /** undefined: bare pods (no controller). */
  owner?: OwnerRef
  pods: string[]
  action: OwnerAction
  /** Why the pods are only listed, when they are. */
  why?: string
  /** What the user can do about listed pods instead, when it is not "recreate them yourself, or pass --evict-bare". */
  remedy?: string
}

export interface GroupOptions {
  /** Also evict bare pods in kube-system (usually static or critical ones), with evictBare. */
  evictKubeSystemBare?: boolean
}

const ROLLABLE = new Set(Object.keys(ROLLOUT_PLURAL))

const JOB_WHY = 'evicting a Job\'s pod counts as a failure against its backoffLimit; with backoffLimit 0 the Job fails'

/** What is done with a pod's owner: rolled, evicted through, or only listed (with why, and what to do instead). */
function actionFor(pod: HolderPod, evictBare: boolean, options: GroupOptions): Pick<OwnerGroup, 'action' | 'why' | 'remedy'> {
  const kind = pod.owner?.kind
  if (kind && ROLLABLE.has(kind)) return pod.notRestartable ? {action: 'list', ...pod.notRestartable} : {action: 'rollout-restart'}
  // A Job replaces an evicted pod only while its backoffLimit allows: the eviction is a failure of the Job.
  if (kind === 'Job') return {action: 'list', why: JOB_WHY, remedy: 'let it finish (the pods of Jobs created later get both families), or delete the Job and create it again yourself'}
  // A mirror pod's owner is its Node: the kubelet runs the static pod from a file and recreates only the mirror.
  if (kind === 'Node') {
    return {action: 'list', why: `a static pod of node ${pod.owner!.name}: evicting its mirror pod does not restart it`,
      remedy: 'restart it on that node (move its manifest out of the kubelet\'s manifest directory and back)'}
  }
  if (kind) return {action: 'evict'}
  if (pod.namespace === 'kube-system' && !(evictBare && options.evictKubeSystemBare)) {
    return {action: 'list', why: 'a bare pod in kube-system is usually a static or critical one (CoreDNS was one), and nothing recreates it once evicted',
      remedy: 'recreate it yourself from its manifest, or pass --evict-bare-in-kube-system with --evict-bare'}
  }
  return evictBare ? {action: 'evict'} : {action: 'list', why: 'a bare pod is gone for good once deleted'}
}

/**
 * One group per owner, in a stable order. Deployments, StatefulSets and DaemonSets are rolled (unless their
 * restart would not roll: paused, OnDelete); pods of other controllers (a bare ReplicaSet, an operator's CRD)
 * are evicted one by one for their controller to recreate; Jobs' and static pods are only listed; bare pods
 * are only listed unless evictBare (nothing brings them back), and in kube-system even then.
 */
export function groupByOwner(pods: readonly HolderPod[], evictBare: boolean, options: GroupOptions = {}): OwnerGroup[] {
  const groups = new Map<string, OwnerGroup>()
  for (const pod of pods) {
    const key = `${pod.namespace}/${pod.owner ? `${pod.owner.kind}/${pod.owner.name}` : ''}`
    let group = groups.get(key)
    if (!group) {
      const {action, why, remedy} = actionFor(pod, evictBare, options)
      group = {namespace: pod.namespace, owner: pod.owner, pods: [], action, ...(why ? {why} : {}), ...(remedy ? {remedy} : {})}
      groups.set(key, group)
    }
    group.pods.push(pod.name)
  }
  const order = (g: OwnerGroup) => `${g.action === 'list' ? 1 : 0}/${g.namespace}/${g.owner?.kind ?? ''}/${g.owner?.name ?? ''}`
  return [...groups.values()].sort((a, b) => order(a).localeCompare(order(b)))
}

export interface IpamBlock {
  spec?: {cidr?: string; affinity?: string; allocations?: Array<number | null>; attributes?: Array<{handle_id?: string; secondary?: Record<string, string>}>}
}

/** Tunnel types of Calico IPAM attributes (libcalico-go ipam.AttributeType*), IPv6 ones included. */
export const TUNNEL_TYPES = new Set(['ipipTunnelAddress', 'vxlanTunnelAddress', 'vxlanV6TunnelAddress', 'wireguardTunnelAddress', 'wireguardV6TunnelAddress'])

/** Node annotations that hold tunnel addresses (calico-node's allocate-tunnel-addrs writes them). */
export const TUNNEL_ANNOTATIONS: Record<string, string> = {
  'projectcalico.org/IPv4IPIPTunnelAddr': 'ipipTunnelAddress',
  'projectcalico.org/IPv4VXLANTunnelAddr': 'vxlanTunnelAddress',
  'projectcalico.org/IPv6VXLANTunnelAddr': 'vxlanV6TunnelAddress',
  'projectcalico.org/IPv4WireguardInterfaceAddr': 'wireguardTunnelAddress',
  'projectcalico.org/IPv6WireguardInterfaceAddr': 'wireguardV6TunnelAddress',
}

/**
 * Everything that holds an address of the pool: pods by their IPs, nodes by their tunnel annotations, and
 * Calico's IPAM blocks (which also show tunnel addresses and allocations whose pod is gone).
 */
export function impactOf(cidr: string, holders: HolderPod[], blocks: readonly IpamBlock[] | {error: string}, nodes: readonly KubeObject[]): Impact {
  const tunnels = new Map<string, TunnelAddress>()
  for (const node of nodes) {
    for (const [annotation, type] of Object.entries(TUNNEL_ANNOTATIONS)) {
      const ip = node.metadata?.annotations?.[annotation]
      if (ip && cidrContains(cidr, ip)) tunnels.set(parseAddress(ip)!.text, {node: node.metadata?.name ?? '', ip: parseAddress(ip)!.text, type})
    }
  }
  const impact: Impact = {cidr, pods: holders, tunnels: [], leaked: []}
  if ('error' in blocks) impact.ipamError = blocks.error
  else {
    const inPool = blocks.filter((b) => b.spec?.cidr && cidrContains(cidr, b.spec.cidr.split('/')[0]!))
    impact.blocks = inPool.length
    const podNames = new Set(holders.map((p) => `${p.namespace}/${p.name}`))
    const known = new Set(holders.flatMap((p) => p.ips))
    for (const block of inPool) {
      for (const {ip, attrs} of blockAllocations(block)) {
        if (attrs.type && TUNNEL_TYPES.has(attrs.type)) {
          if (!tunnels.has(ip)) tunnels.set(ip, {node: attrs.node ?? '', ip, type: attrs.type})
        } else if (attrs.pod && !known.has(ip) && !podNames.has(`${attrs.namespace}/${attrs.pod}`)) {
          impact.leaked.push({ip, pod: `${attrs.namespace}/${attrs.pod}`})
        }
      }
    }
  }
  impact.tunnels = [...tunnels.values()]
  return impact
}

/** A block's allocated addresses, each with the attributes IPAM keeps for it (pod and namespace, or a tunnel type and node). */
export function blockAllocations(block: IpamBlock): Array<{ip: string; attrs: Record<string, string>}> {
  const out: Array<{ip: string; attrs: Record<string, string>}> = []
  ;(block.spec?.allocations ?? []).forEach((attrIndex, slot) => {
    if (attrIndex === null || attrIndex === undefined || !block.spec?.cidr) return
    const ip = nthOf(block.spec.cidr, slot)
    if (ip) out.push({ip, attrs: block.spec.attributes?.[attrIndex]?.secondary ?? {}})
  })
  return out
}

/** The address in a block's slot, or undefined for a block whose CIDR cannot be read. */
function nthOf(cidr: string, slot: number): string | undefined {
  try {
    return nthAddress(cidr, BigInt(slot))
  } catch {
    return undefined
  }
}

/** Checks groups of pods read back from a journal: undefined when valid, else what is wrong. */
export function groupsProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'the pods to recreate are not a list'
  for (const g of value as Array<Record<string, unknown>>) {
    if (typeof g?.namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(g.namespace)) return 'a group of pods has no valid namespace'
    if (!['rollout-restart', 'evict', 'list'].includes(g.action as string)) return `${JSON.stringify(g.action)} is not a way to recreate pods`
    const owner = g.owner as Record<string, unknown> | undefined
    const name = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/
    if (owner !== undefined && (typeof owner.name !== 'string' || !name.test(owner.name) || typeof owner.kind !== 'string' || !/^[A-Za-z]{1,63}$/.test(owner.kind))) return 'a group of pods has an owner this tool does not act through'
    if (g.action === 'rollout-restart' && !(owner && Object.hasOwn(ROLLOUT_PLURAL, owner.kind as string))) return 'a group to restart has no owner a rollout restart acts on'
    // A rollout's pods are kept as a count ("3 pod(s)"): only evicted or listed pods are named one by one.
    if (!Array.isArray(g.pods) || !g.pods.every((p) => typeof p === 'string' && (name.test(p) || (g.action === 'rollout-restart' && /^\d+ pod\(s\)$/.test(p))))) return 'a group\'s pods are not names'
  }
  return undefined
}
