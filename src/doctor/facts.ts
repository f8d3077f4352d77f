// Everything doctor looks at, read once per run. Checks are pure functions over these facts.
import type {ClusterClient} from '../cluster/kube.js'
import {hostPodOn, readIpv6Forwarding} from '../cluster/node-sysctl.js'
import type {DaemonSetObject, IPPoolObject, KubeObject, NodeObject, PodDetail, ServiceObject, Target} from '../cluster/types.js'
import {ApiError, DualstackError} from '../errors.js'
import {dualStackStage, parseKubeVersion, usesLegacyIpFamily, type KubeVersion} from '../k8s/version.js'
import {dataLastChanged} from '../k8s/managed-fields.js'
import {addressFamily} from '../net/ip.js'
import {podIpRow, violatesRequireDual, type Stack} from '../pods/pod-ips.js'
import {mapLimit} from '../cluster/concurrency.js'
import {LOCK_NAME, RunLock, type LeaseState} from '../ops/lock.js'
import type {IpamBlock} from '../ops/pods.js'

/** A read's value, or why it failed (with the typed error, for commands that cannot go on without it). */
export type Fact<T> = {ok: true; value: T} | {ok: false; error: string; cause?: DualstackError}

export interface ServiceProbe {
  /** Addresses the API server allocated, by family; or its refusal. */
  allocated: {ipv4?: string; ipv6?: string}
  refusals: string[]
}

export interface NodeReading {
  node: string
  /** The pod the value was read through. */
  pod?: string
  value?: string
  error?: string
}

/** A pod's addresses, kept for every pod that is not finished (IPAM and host IP checks). */
export interface PodAddresses {
  namespace: string
  name: string
  node?: string
  phase?: string
  hostNetwork: boolean
  ips: string[]
  /** status.hostIPs (1.28+), or status.hostIP alone before; [] when the kubelet reports none. */
  hostIPs: string[]
  /** Whether status.hostIPs was there at all (it is not before 1.28, nor with the PodHostIPs gate off). */
  hasHostIPs: boolean
}

export interface Facts {
  target: Target
  version: KubeVersion
  nodes: Fact<NodeObject[]>
  /** Pods of kube-system and calico-system, whole. */
  systemPods: Fact<PodDetail[]>
  /** Every pod, summarised: single-stack Running pods on the pod network. */
  workloads: Fact<{total: number; singleStack: Array<{namespace: string; name: string; stack: Stack}>}>
  daemonSets: Fact<DaemonSetObject[]>
  /** kube-system and calico-system ConfigMaps by name. */
  configMaps: Fact<Map<string, Record<string, string>>>
  /**
   * When each of those ConfigMaps' data last changed, and by which field manager: the newest managedFields entry
   * that owns data (absent when the API server keeps no managedFields, before 1.18). Read with configMaps.
   */
  configMapDataChanged: Fact<Map<string, {time: string; manager: string}>>
  /** undefined when Calico's CRDs are not installed. */
  ipPools: Fact<IPPoolObject[] | undefined>
  /** The Tigera operator's Installation, if there is one. */
  installation: Fact<KubeObject & {spec?: Record<string, unknown>} | undefined>
  dnsService: Fact<ServiceObject | undefined>
  serviceProbe: Fact<ServiceProbe>
  forwarding: Fact<NodeReading[]>
  kubeletFeatureGates: Fact<Array<NodeReading & {gates?: Record<string, boolean>}>>
  /**
   * The repairs' Lease in Calico's namespace (kube-system, or calico-system for operator installs): who holds it
   * and the journal a run left in it. Read once, with the other facts; `lease` is undefined when there is none.
   */
  repairLease: Fact<{namespace: string; name: string; lease?: LeaseState}>
  /** Every pod that is not finished, with its addresses and host IPs (read in the same pass as the others). */
  podAddresses: Fact<PodAddresses[]>
  /** Every Service. */
  services: Fact<ServiceObject[]>
  /** Calico's IPAM blocks; undefined when Calico's CRDs are not installed. */
  ipamBlocks: Fact<Array<IpamBlock & KubeObject> | undefined>
}

export type FactName = Exclude<keyof Facts, 'target' | 'version' | 'configMapDataChanged'>

export interface GatherOptions {
  /** Only these facts are read (what the selected checks need). */
  needed: ReadonlySet<FactName>
  concurrency: number
  execTimeoutMs: number
  onProgress?: (what: string, done: number, total: number) => void
}

const NOT_GATHERED = {ok: false as const, error: 'not gathered'}
const SYSTEM_NAMESPACES = new Set(['kube-system', 'calico-system'])

async function fact<T>(fn: () => Promise<T>): Promise<Fact<T>> {
  try {
    return {ok: true, value: await fn()}
  } catch (error) {
    if (error instanceof DualstackError) return {ok: false, error: error.message, cause: error}
    return {ok: false, error: (error as Error).message}
  }
}

function podAddresses(pod: PodDetail): PodAddresses {
  const ips = [...new Set([...(pod.status?.podIPs ?? []).map((p) => p.ip ?? ''), pod.status?.podIP ?? ''].filter(Boolean))]
  const hostIPs = [...new Set([...(pod.status?.hostIPs ?? []).map((p) => p.ip ?? ''), pod.status?.hostIP ?? ''].filter(Boolean))]
  return {namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', node: pod.spec?.nodeName, phase: pod.status?.phase, hostNetwork: pod.spec?.hostNetwork === true,
    ips, hostIPs, hasHostIPs: Array.isArray(pod.status?.hostIPs)}
}

function nodeName(obj: KubeObject): string {
  return obj.metadata?.name ?? ''
}

export const NO_HOST_POD = 'no Running hostNetwork pod (calico-node) on the node to read it through'

const PROBE_NAME = 'kubectl-dualstack-doctor-probe'

export async function probeServices(client: ClusterClient, version: KubeVersion): Promise<ServiceProbe> {
  const path = `/api/v1/namespaces/${encodeURIComponent(client.target.namespace)}/services`
  const base = {apiVersion: 'v1', kind: 'Service', metadata: {name: PROBE_NAME, labels: {'app.kubernetes.io/managed-by': 'kubectl-dualstack'}}}
  const ports = [{port: 80, protocol: 'TCP'}]
  const result: ServiceProbe = {allocated: {}, refusals: []}
  const attempt = async (spec: Record<string, unknown>) => {
    try {
      return await client.request<ServiceObject>('POST', path, {query: {dryRun: 'All'}, body: {...base, spec: {...spec, ports}}})
    } catch (error) {
      if (error instanceof ApiError && error.code === 422) {
        result.refusals.push(error.message)
        return undefined
      }
      throw error
    }
  }
  const record = (svc: ServiceObject | undefined) => {
    const ips = svc?.spec?.clusterIPs ?? (svc?.spec?.clusterIP ? [svc.spec.clusterIP] : [])
    for (const ip of ips) {
      const family = addressFamily(ip)
      if (family) result.allocated[family] ??= ip
    }
  }
  if (usesLegacyIpFamily(version)) {
    // Before 1.20 a Service has one family, chosen by the alpha `ipFamily` field: ask for each in turn.
    record(await attempt({ipFamily: 'IPv4'}))
    record(await attempt({ipFamily: 'IPv6'}))
  } else {
    record(await attempt({ipFamilyPolicy: 'RequireDualStack'}))
  }
  return result
}

/** net.ipv6.conf.all.forwarding of every node, read by exec into a hostNetwork pod on it, N at a time. */
async function readForwarding(client: ClusterClient, options: GatherOptions, nodes: Fact<NodeObject[]>, pods: Fact<PodDetail[]>): Promise<Fact<NodeReading[]>> {
  if (!nodes.ok) return nodes
  if (!pods.ok) return pods
  const names = nodes.value.map(nodeName)
  let done = 0
  return fact(() => mapLimit(names, options.concurrency, async (node): Promise<NodeReading> => {
    const pod = hostPodOn(pods.value, node)
    try {
      if (!pod) return {node, error: NO_HOST_POD}
      return {node, pod: `${pod.metadata!.namespace}/${pod.metadata!.name}`, ...(await readIpv6Forwarding(client, pod, options.execTimeoutMs))}
    } finally {
      options.onProgress?.('reading IPv6 forwarding on nodes', ++done, names.length)
    }
  }))
}

/** featureGates of every kubelet, from /configz through the node proxy. */
async function readKubeletGates(client: ClusterClient, options: GatherOptions, version: KubeVersion, nodes: Fact<NodeObject[]>): Promise<Facts['kubeletFeatureGates']> {
  const stage = dualStackStage(version)
  // From 1.23 a kubelet refuses to start with the gate set false (GA, locked) or set at all (removed in
  // 1.25), so a running kubelet already proves it: no need to ask thousands of them.
  if (stage === 'ga' || stage === 'gate-removed') return {ok: true, value: []}
  if (!nodes.ok) return nodes
  return fact(() => mapLimit(nodes.value.map(nodeName), options.concurrency, async (node) => {
    try {
      const configz = await client.request<{kubeletconfig?: {featureGates?: Record<string, boolean>}}>('GET', `/api/v1/nodes/${encodeURIComponent(node)}/proxy/configz`)
      return {node, gates: configz.kubeletconfig?.featureGates ?? {}}
    } catch (error) {
      return {node, error: (error as Error).message}
    }
  }))
}

/**
 * A user who may read nothing (no credentials: system:anonymous, or no role bound) gets one line and exit 3,
 * not every check in error: the first refusal, with the role or credentials that fix it.
 */
function refuseIfNothingReadable(facts: Array<Fact<unknown>>): void {
  const attempted = facts.filter((f) => f !== NOT_GATHERED)
  if (attempted.length === 0 || attempted.some((f) => f.ok)) return
  const refusal = attempted.map((f) => (f.ok ? undefined : f.cause)).find((cause) => cause instanceof ApiError && (cause.code === 401 || cause.code === 403))
  if (refusal && attempted.every((f) => !f.ok && f.cause instanceof ApiError && (f.cause.code === 401 || f.cause.code === 403))) throw refusal
}

export async function gatherFacts(client: ClusterClient, options: GatherOptions): Promise<Facts> {
  // The one read that must succeed: without it nothing else can be said (exit 3).
  const versionInfo = await client.request<{gitVersion: string}>('GET', '/version')
  const version = parseKubeVersion(versionInfo.gitVersion) ?? {major: 0, minor: 0, gitVersion: versionInfo.gitVersion}
  const want = (name: FactName) => options.needed.has(name)
  const needPods = want('systemPods') || want('workloads') || want('forwarding') || want('podAddresses')

  const podsFact = needPods ? fact(async () => {
    const system: PodDetail[] = []
    const singleStack: Array<{namespace: string; name: string; stack: Stack}> = []
    const addresses: PodAddresses[] = []
    const keepAddresses = want('podAddresses')
    let total = 0
    for await (const page of client.listPages<PodDetail>('/api/v1/pods')) {
      for (const pod of page) {
        total++
        if (SYSTEM_NAMESPACES.has(pod.metadata?.namespace ?? '')) system.push(pod)
        const row = podIpRow(pod)
        if (violatesRequireDual(row)) singleStack.push({namespace: row.namespace, name: row.name, stack: row.stack})
        if (keepAddresses && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') addresses.push(podAddresses(pod))
      }
    }
    return {system, workloads: {total, singleStack}, addresses}
  }) : Promise.resolve(NOT_GATHERED)
  const needNodes = want('nodes') || want('forwarding') || want('kubeletFeatureGates')
  const nodesFact = needNodes ? fact(() => client.listAll<NodeObject>('/api/v1/nodes')) : Promise.resolve(NOT_GATHERED)

  const systemPodsFact: Promise<Fact<PodDetail[]>> = podsFact.then((p) => (p.ok ? {ok: true, value: p.value.system} : p))
  // Per-node reads start as soon as the nodes and pods are known, while the other reads go on.
  const forwardingFact = want('forwarding') ? Promise.all([nodesFact, systemPodsFact]).then(([n, p]) => readForwarding(client, options, n, p)) : NOT_GATHERED
  const gatesFact = want('kubeletFeatureGates') ? nodesFact.then((n) => readKubeletGates(client, options, version, n)) : NOT_GATHERED
  const configMapsFact: Promise<Fact<{data: Map<string, Record<string, string>>; changed: Map<string, {time: string; manager: string}>}>> = want('configMaps') ? fact(async () => {
    const data = new Map<string, Record<string, string>>()
    const changed = new Map<string, {time: string; manager: string}>()
    for (const ns of SYSTEM_NAMESPACES) {
      // Only where it exists: calico-system is an operator install's. The real authorizer answers 403, not
      // 404, for a namespace that does not exist, and the shipped roles bind calico-system only there.
      if (ns !== 'kube-system' && !(await client.getIfExists(`/api/v1/namespaces/${ns}`))) continue
      for (const cm of await client.listAll<KubeObject & {data?: Record<string, string>}>(`/api/v1/namespaces/${ns}/configmaps`)) {
        if (data.has(nodeName(cm))) continue
        data.set(nodeName(cm), cm.data ?? {})
        const last = dataLastChanged(cm)
        if (last) changed.set(nodeName(cm), last)
      }
    }
    return {data, changed}
  }) : Promise.resolve(NOT_GATHERED)
  const daemonSetsFact: Promise<Fact<DaemonSetObject[]>> = want('daemonSets') || want('repairLease') ? fact(async () => (await client.listAll<DaemonSetObject>('/apis/apps/v1/daemonsets'))
    .filter((ds) => SYSTEM_NAMESPACES.has(ds.metadata?.namespace ?? ''))) : Promise.resolve(NOT_GATHERED)
  // The Lease lives where calico-node does (the repairs take it there); kube-system when that is not known.
  const leaseFact = want('repairLease') ? daemonSetsFact.then((ds) => fact(async () => {
    const calicoNode = ds.ok ? ds.value.filter((d) => nodeName(d) === 'calico-node').sort((a, b) => (a.metadata?.namespace === 'kube-system' ? -1 : b.metadata?.namespace === 'kube-system' ? 1 : 0))[0] : undefined
    const namespace = calicoNode?.metadata?.namespace ?? 'kube-system'
    return {namespace, name: LOCK_NAME, lease: await RunLock.peek(client, namespace)}
  })) : Promise.resolve(NOT_GATHERED)
  const [nodes, pods, systemPods, forwarding, kubeletFeatureGates, daemonSets, configMapsRead, ipPools, installation, dnsService, serviceProbe, repairLease, services, ipamBlocks] = await Promise.all([
    nodesFact,
    podsFact,
    systemPodsFact,
    forwardingFact,
    gatesFact,
    daemonSetsFact,
    configMapsFact,
    want('ipPools') ? fact(async () => {
      const group = await client.getIfExists('/apis/crd.projectcalico.org/v1')
      return group ? client.listAll<IPPoolObject>('/apis/crd.projectcalico.org/v1/ippools') : undefined
    }) : NOT_GATHERED,
    want('installation') ? fact(async () => {
      const group = await client.getIfExists('/apis/operator.tigera.io/v1')
      return group ? client.getIfExists<KubeObject & {spec?: Record<string, unknown>}>('/apis/operator.tigera.io/v1/installations/default') : undefined
    }) : NOT_GATHERED,
    want('dnsService') ? fact(() => client.getIfExists<ServiceObject>('/api/v1/namespaces/kube-system/services/kube-dns')) : NOT_GATHERED,
    want('serviceProbe') ? fact(() => probeServices(client, version)) : NOT_GATHERED,
    leaseFact,
    want('services') ? fact(() => client.listAll<ServiceObject>('/api/v1/services')) : NOT_GATHERED,
    want('ipamBlocks') ? fact(async () => {
      const group = await client.getIfExists('/apis/crd.projectcalico.org/v1')
      return group ? client.listAll<IpamBlock & KubeObject>('/apis/crd.projectcalico.org/v1/ipamblocks') : undefined
    }) : NOT_GATHERED,
  ])

  const workloads: Facts['workloads'] = pods.ok ? {ok: true, value: pods.value.workloads} : pods
  const podAddressList: Facts['podAddresses'] = !want('podAddresses') ? NOT_GATHERED : pods.ok ? {ok: true, value: pods.value.addresses} : pods
  const configMaps: Facts['configMaps'] = configMapsRead.ok ? {ok: true, value: configMapsRead.value.data} : configMapsRead
  const configMapDataChanged: Facts['configMapDataChanged'] = configMapsRead.ok ? {ok: true, value: configMapsRead.value.changed} : configMapsRead
  // The reads every check stands on. (The Service probe is a dry-run write whose refusals are a finding; an
  // API group's discovery, as for the operator's Installation, is open to every authenticated user.)
  refuseIfNothingReadable([nodes, pods, daemonSets, configMaps, dnsService])

  return {target: client.target, version, nodes, systemPods, workloads, daemonSets, configMaps, configMapDataChanged, ipPools, installation, dnsService, serviceProbe, forwarding, kubeletFeatureGates, repairLease,
    podAddresses: podAddressList, services, ipamBlocks}
}

export type {ContainerSpec, DaemonSetObject, IPPoolObject, NodeObject, PodDetail, ServiceObject} from '../cluster/types.js'
