// What ippool fix reads before it decides anything: Calico's configuration through doctor's reads (one way
// of reading Calico), the API to write through, and everything that holds an address of the pool.
import {calicoInstall, calicoNodeEnvOf} from '../../calico/install.js'
import type {ClusterApi, ClusterClient} from '../../cluster/kube.js'
import type {IPPoolObject, KubeObject, PodDetail} from '../../cluster/types.js'
import {gatherFacts, type Fact} from '../../doctor/facts.js'
import {ClusterUnavailableError, DualstackError, ExitCode} from '../../errors.js'
import type {Family} from '../../net/ip.js'
import {addressesIn, controllerOf, impactOf, resolveOwners, type HolderPod, type Impact, type IpamBlock} from '../pods.js'
import {isRefusal, pickPool, type PlanInput, type Refusal} from './plan.js'

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
  const holders: HolderPod[] = []
  const path = selection.namespace ? `/api/v1/namespaces/${encodeURIComponent(selection.namespace)}/pods` : '/api/v1/pods'
  for await (const page of client.listPages<PodDetail>(path, {labelSelector: selection.labelSelector})) {
    for (const pod of page) {
      const ips = addressesIn(pod, cidr)
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
  const facts = await gatherFacts(client, {needed: new Set(['daemonSets', 'configMaps', 'ipPools', 'installation']), concurrency: 1, execTimeoutMs: 0})
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
