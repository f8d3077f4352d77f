// Which pods hold which addresses, and who owns them: what a pool change affects and what must be
// recreated. Owner resolution follows ownerReferences up to what `kubectl rollout restart` can act on.
import {mapLimit} from '../cluster/concurrency.js'
import type {ClusterClient} from '../cluster/kube.js'
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

/**
 * Replaces ReplicaSet owners by their Deployment, as rollout restart works on Deployments: one read per
 * distinct ReplicaSet, a bounded number at a time (thousands of pods share a few hundred ReplicaSets).
 */
export async function resolveOwners(client: ClusterClient, pods: HolderPod[]): Promise<HolderPod[]> {
  const keys = [...new Set(pods.filter((p) => p.owner?.kind === 'ReplicaSet').map((p) => `${p.namespace}/${p.owner!.name}`))]
  const deployments = new Map<string, OwnerRef | undefined>()
  await mapLimit(keys, 16, async (key) => {
    const [namespace, name] = key.split('/') as [string, string]
    try {
      const rs = await client.request<WithOwners>('GET', `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets/${encodeURIComponent(name)}`)
      const up = controllerOf(rs)
      if (up?.kind === 'Deployment') deployments.set(key, up)
    } catch (error) {
      // A ReplicaSet already gone keeps its own name as the owner.
      if (!(error instanceof ApiError && error.code === 404)) throw error
    }
  })
  for (const pod of pods) {
    if (pod.owner?.kind === 'ReplicaSet') pod.owner = deployments.get(`${pod.namespace}/${pod.owner.name}`) ?? pod.owner
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
}

const ROLLABLE = new Set(['Deployment', 'StatefulSet', 'DaemonSet'])

/**
 * One group per owner, in a stable order. Deployments, StatefulSets and DaemonSets are rolled; pods of
 * other controllers (a bare ReplicaSet, an operator's CRD) are evicted one by one for their controller to
 * recreate; Jobs and bare pods are only listed unless evictBare (deleting them would not bring them back).
 */
export function groupByOwner(pods: readonly HolderPod[], evictBare: boolean): OwnerGroup[] {
  const groups = new Map<string, OwnerGroup>()
  for (const pod of pods) {
    const key = `${pod.namespace}/${pod.owner ? `${pod.owner.kind}/${pod.owner.name}` : ''}`
    let group = groups.get(key)
    if (!group) {
      const kind = pod.owner?.kind
      let action: OwnerAction
      let why: string | undefined
      if (kind && ROLLABLE.has(kind)) action = 'rollout-restart'
      else if (!kind || kind === 'Job') {
        action = evictBare ? 'evict' : 'list'
        why = evictBare ? undefined : kind === 'Job' ? 'a Job\'s pod is not recreated once deleted' : 'a bare pod is gone for good once deleted'
      } else action = 'evict'
      group = {namespace: pod.namespace, owner: pod.owner, pods: [], action, ...(why ? {why} : {})}
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

/** Tunnel types of Calico IPAM attributes (libcalico-go ipam.AttributeType*). */
const TUNNEL_TYPES = new Set(['ipipTunnelAddress', 'vxlanTunnelAddress', 'vxlanV6TunnelAddress', 'wireguardTunnelAddress', 'wireguardV6TunnelAddress'])

/** Node annotations that hold tunnel addresses (calico-node's allocate-tunnel-addrs writes them). */
const TUNNEL_ANNOTATIONS: Record<string, string> = {
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
      const allocations = block.spec?.allocations ?? []
      allocations.forEach((attrIndex, slot) => {
        if (attrIndex === null || attrIndex === undefined) return
        const attrs = block.spec?.attributes?.[attrIndex]?.secondary ?? {}
        const ip = nthOf(block.spec!.cidr!, slot)
        if (!ip) return
        if (attrs.type && TUNNEL_TYPES.has(attrs.type)) {
          if (!tunnels.has(ip)) tunnels.set(ip, {node: attrs.node ?? '', ip, type: attrs.type})
        } else if (attrs.pod && !known.has(ip) && !podNames.has(`${attrs.namespace}/${attrs.pod}`)) {
          impact.leaked.push({ip, pod: `${attrs.namespace}/${attrs.pod}`})
        }
      })
    }
  }
  impact.tunnels = [...tunnels.values()]
  return impact
}

/** The address in a block's slot, or undefined for a block whose CIDR cannot be read. */
function nthOf(cidr: string, slot: number): string | undefined {
  try {
    return nthAddress(cidr, BigInt(slot))
  } catch {
    return undefined
  }
}
