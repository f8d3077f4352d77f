// What ippool fix reads before it decides anything: Calico's configuration through doctor's reads (one way
// of reading Calico), the API to write through, and everything that holds an address of the pool.
import {calicoInstall, calicoNodeEnvOf} from '../../calico/install.js'
import type {ClusterApi, ClusterClient} from '../../cluster/kube.js'
import type {IPPoolObject, KubeObject, PodDetail} from '../../cluster/types.js'
import {gatherFacts, type Fact} from '../../doctor/facts.js'
import {ApiError, ClusterUnavailableError, DualstackError, ExitCode, UsageError} from '../../errors.js'
import {cidrContains, parseAddress, parseCidr, type Family} from '../../net/ip.js'
import {addressesIn, controllerOf, impactOf, resolveOwners, type HolderPod, type Impact, type IpamBlock} from '../pods.js'
import {isRefusal, pickPool, reservedOverlaps, type PlanInput, type Refusal, type ReservedRange} from './plan.js'

export const CRD_POOLS = '/apis/crd.projectcalico.org/v1/ippools'
export const V3_POOLS = '/apis/projectcalico.org/v3/ippools'

export type PoolApiVersion = 'crd.projectcalico.org/v1' | 'projectcalico.org/v3'

export interface PoolApi {
  apiVersion: PoolApiVersion
  collection: string
}

/** The error for a cluster where Calico's CRDs are not served. */
export function calicoCrdsMissing(): DualstackError {
  return new DualstackError('Calico\'s CRDs are not installed (the API server does not serve crd.projectcalico.org/v1)', ExitCode.ProblemsFound,
    'install Calico 3.11 or later with Calico IPAM first (kubectl dualstack doctor --only calico.installed)')
}

function required<T>(fact: Fact<T>, what: string): T {
  if (fact.ok) return fact.value
  if (fact.cause) throw fact.cause
  throw new ClusterUnavailableError(`cannot read ${what}: ${fact.error}`)
}

/** projectcalico.org/v3 when Calico's API server serves IPPools (writes are then validated by Calico), else the CRDs. */
export async function poolApi(client: ClusterApi): Promise<PoolApi> {
  const v3 = await client.getIfExists<{resources?: Array<{name: string}>}>('/apis/projectcalico.org/v3')
  if (v3?.resources?.some((r) => r.name === 'ippools')) return {apiVersion: 'projectcalico.org/v3', collection: V3_POOLS}
  return {apiVersion: 'crd.projectcalico.org/v1', collection: CRD_POOLS}
}

/** Every pod holding an address of the CIDR, read page by page (only holders are kept), with their owners. */
export async function holdersOf(client: ClusterApi, cidr: string, selection: {namespace?: string; labelSelector?: string} = {}): Promise<HolderPod[]> {
  return holdersWhere(client, selection, (pod) => addressesIn(pod, cidr))
}

/**
 * Every pod on the pod network holding an address that no IPPool covers (left behind by a pool recreated
 * with another range, or deleted), with their owners: what a recreate under pods leaves to move.
 */
export async function outsidePools(client: ClusterApi, poolCidrs: readonly string[], selection: {namespace?: string; labelSelector?: string} = {}): Promise<HolderPod[]> {
  const all = ['0.0.0.0/0', '::/0']
  return holdersWhere(client, selection, (pod) => all.flatMap((any) => addressesIn(pod, any)).filter((ip) => !poolCidrs.some((cidr) => cidrContains(cidr, ip))))
}

async function holdersWhere(client: ClusterApi, selection: {namespace?: string; labelSelector?: string}, held: (pod: PodDetail) => string[]): Promise<HolderPod[]> {
  const holders: HolderPod[] = []
  const path = selection.namespace ? `/api/v1/namespaces/${encodeURIComponent(selection.namespace)}/pods` : '/api/v1/pods'
  for await (const page of client.listPages<PodDetail>(path, {labelSelector: selection.labelSelector})) {
    for (const pod of page) {
      const ips = held(pod)
      if (ips.length === 0) continue
      holders.push({namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', node: pod.spec?.nodeName, ips, owner: controllerOf(pod)})
    }
  }
  return resolveOwners(client, holders)
}

/** Pods, nodes' tunnel addresses and IPAM blocks in the pool's range. */
export async function readImpact(client: ClusterApi, cidr: string): Promise<Impact> {
  const [holders, blocks, nodes] = await Promise.all([
    holdersOf(client, cidr),
    client.listAll<IpamBlock & KubeObject>('/apis/crd.projectcalico.org/v1/ipamblocks').catch((error: unknown) => ({error: (error as Error).message})),
    client.listAll<KubeObject>('/api/v1/nodes'),
  ])
  return impactOf(cidr, holders, blocks, nodes)
}

const SERVICE_RANGE_FLAG = '--service-cluster-ip-range'

/**
 * What a pod pool must not overlap, as doctor reads it: the Service ranges (ServiceCIDR objects where the API
 * server serves them, 1.33+; kube-apiserver's flag where it runs as a pod; else the ClusterIP a dry-run Service
 * gets, which lies in the range) and the nodes' InternalIPs. A source that cannot be read is passed over.
 */
async function reservedRanges(client: ClusterClient, family: Family, facts: Awaited<ReturnType<typeof gatherFacts>>): Promise<ReservedRange[]> {
  const reserved: ReservedRange[] = []
  const quietly = async (read: () => Promise<void>) => {
    try {
      await read()
    } catch (error) {
      // An answer that refuses (RBAC) or does not know the resource: that source is not visible. Anything else is real.
      if (!(error instanceof ApiError)) throw error
    }
  }
  await quietly(async () => {
    const group = await client.getIfExists<{resources?: Array<{name: string}>}>('/apis/networking.k8s.io/v1')
    if (!group?.resources?.some((r) => r.name === 'servicecidrs')) return
    for (const sc of await client.listAll<KubeObject & {spec?: {cidrs?: string[]}}>('/apis/networking.k8s.io/v1/servicecidrs')) {
      for (const cidr of sc.spec?.cidrs ?? []) reserved.push({cidr, what: `the Service range ${cidr} (ServiceCIDR ${sc.metadata?.name})`})
    }
  })
  await quietly(async () => {
    const pods = await client.listAll<PodDetail>('/api/v1/namespaces/kube-system/pods', {labelSelector: 'component=kube-apiserver'})
    for (const pod of pods) {
      const args = (pod.spec?.containers ?? []).flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])])
      const at = args.findIndex((a) => a === SERVICE_RANGE_FLAG || a.startsWith(`${SERVICE_RANGE_FLAG}=`))
      const value = at < 0 ? undefined : args[at]!.includes('=') ? args[at]!.slice(SERVICE_RANGE_FLAG.length + 1) : args[at + 1]
      for (const cidr of (value ?? '').split(',').filter(Boolean)) reserved.push({cidr, what: `the Service range ${cidr} (kube-apiserver ${SERVICE_RANGE_FLAG}, pod ${pod.metadata?.name})`})
    }
  })
  if (!reserved.some((r) => parseCidr(r.cidr)?.family === family) && facts.serviceProbe.ok) {
    const ip = facts.serviceProbe.value.allocated[family]
    if (ip) reserved.push({cidr: `${ip}/${family === 'ipv4' ? 32 : 128}`, what: `the Service range (a dry-run Service got the ClusterIP ${ip} from it)`})
  }
  for (const node of facts.nodes.ok ? facts.nodes.value : []) {
    for (const a of node.status?.addresses ?? []) {
      const address = a.type === 'InternalIP' ? parseAddress(a.address) : undefined
      if (address) reserved.push({cidr: `${address.text}/${address.family === 'ipv4' ? 32 : 128}`, what: `node ${node.metadata?.name}'s InternalIP ${address.text}`})
    }
  }
  return reserved
}

export interface IppoolFixOptions {
  family: Family
  cidr?: string
  strategy: PlanInput['strategy']
  force: boolean
  recreatePods: boolean
  evictBare: boolean
}

export interface Gathered {
  input: PlanInput
  api: PoolApi
  namespace: string
  target?: IPPoolObject
}

export async function gatherPoolFix(client: ClusterClient, options: IppoolFixOptions): Promise<Gathered | Refusal> {
  const facts = await gatherFacts(client, {needed: new Set(['daemonSets', 'configMaps', 'ipPools', 'installation', ...(options.cidr ? ['serviceProbe', 'nodes'] as const : [])]), concurrency: 1, execTimeoutMs: 0})
  if (options.cidr) {
    // A pod pool over the Service range or a node's address breaks routing to them: bad usage, said before anything else.
    const overlaps = reservedOverlaps(options.cidr, await reservedRanges(client, options.family, facts))
    if (overlaps.length > 0) {
      throw new UsageError(`--cidr ${options.cidr} overlaps ${overlaps.join(', ')}`, 'a pod pool must not overlap the Service ranges or the nodes\' addresses: pass a range outside them')
    }
  }
  const pools = required(facts.ipPools, 'Calico IP pools')
  if (pools === undefined) throw calicoCrdsMissing()
  const installation = required(facts.installation, 'the Tigera Installation')
  const install = calicoInstall(required(facts.daemonSets, 'Calico\'s DaemonSets'), installation)
  if (!install) {
    throw new DualstackError('Calico is not installed: no calico-node DaemonSet and no Tigera Installation', ExitCode.ProblemsFound, 'install Calico first (kubectl dualstack doctor --only calico.installed)')
  }
  const env = install.operator ? undefined : calicoNodeEnvOf(install, required(facts.configMaps, 'Calico\'s ConfigMaps'))
  const picked = pickPool(pools, options.family)
  if (isRefusal(picked)) return picked
  const [api, impact] = await Promise.all([
    poolApi(client),
    picked?.spec?.cidr ? readImpact(client, picked.spec.cidr) : Promise.resolve<Impact>({cidr: '', pods: [], tunnels: [], leaked: []}),
  ])
  return {
    api, namespace: install.namespace, target: picked,
    input: {...options, install, installation, env, pools, target: picked, impact, apiVersion: api.apiVersion},
  }
}
