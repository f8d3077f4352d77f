// The simulated cluster's state: the store, the resource types it serves, address allocation, users and
// faults. The HTTP layer (server.ts) and the controllers (controllers.ts) work on it.
import {addressFamily, parseCidr, type Family} from '../../src/net/ip.js'
import {CalicoIpam} from './calico-ipam.js'
import {Controllers} from './controllers.js'
import {applyDefaults} from './defaults.js'
import {nextManagedFields} from './managed-fields.js'
import {RangeAllocator, ServiceIpAllocators} from './ipam.js'
import {ResourceRegistry, apiVersionOf, type ResourceType} from './resources.js'
import {versionAtLeast, type FaultSpec, type Scenario, type UserSpec} from './scenario.js'
import {errors} from './status.js'
import {Store, timestamp, type Obj} from './store.js'

const REVIEWS = new Set(['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'subjectaccessreviews', 'tokenreviews'])

export interface RequestRecord {
  method: string
  verb: string
  path: string
  resource?: string
  subresource?: string
  namespace?: string
  name?: string
  user?: string
  dryRun: boolean
  code: number
}

/** Users every scenario has unless it lists its own: full access, read-only, and none at all. */
export const DEFAULT_USERS: UserSpec[] = [
  {name: 'admin', token: 'admin-token', admin: true},
  {name: 'viewer', token: 'viewer-token', rules: [{verbs: ['get', 'list', 'watch'], apiGroups: ['*'], resources: ['*']}]},
  {name: 'nobody', token: 'nobody-token', rules: []},
]

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease']

type AddressOwner = {kind: 'pod'; pod: Obj} | {kind: 'node'; node: string} | {kind: 'service'; service: Obj}

export class SimCluster {
  readonly store = new Store()
  private addressIndex?: {rv: number; owners: Map<string, AddressOwner>}
  readonly registry: ResourceRegistry
  readonly serviceIps: ServiceIpAllocators
  readonly requests: RequestRecord[] = []
  readonly users: UserSpec[]
  faults: Array<FaultSpec & {hits: number; seen?: number}>
  readonly controllers: Controllers
  /** Pod-network allocators keyed by CIDR: the nodes' podCIDRs, on clusters without Calico. */
  readonly podAllocators = new Map<string, RangeAllocator>()
  /** Calico IPAM: blocks per node inside the pools, stored as IPAMBlocks. */
  readonly calicoIpam = new CalicoIpam(this)

  /**
   * `passive`: no controller runs on its own. The real control plane tier keeps such a copy of the real
   * cluster's objects, so that exec answers and pod addresses come from this one model of the data plane.
   */
  constructor(readonly scenario: Scenario, options: {passive?: boolean} = {}) {
    this.registry = new ResourceRegistry(scenario.calico, scenario.calicoOperator === true, versionAtLeast(scenario.kubernetes.version, 1, 21), scenario.calicoApiServer === true)
    this.serviceIps = new ServiceIpAllocators(scenario.serviceCIDRs)
    this.users = scenario.users ?? DEFAULT_USERS
    this.faults = (scenario.faults ?? []).map((f) => ({...f, hits: 0}))
    this.controllers = new Controllers(this, options.passive === true)
    this.seed()
  }

  get version(): string {
    return this.scenario.kubernetes.version
  }

  /** Services use the pre-1.20 `ipFamily` field. */
  get legacyServiceFamilies(): boolean {
    return !versionAtLeast(this.version, 1, 20)
  }

  type(apiVersion: string, kind: string): ResourceType {
    const type = this.registry.byKind(apiVersion, kind)
    if (!type) throw new Error(`the simulated cluster does not serve ${apiVersion} ${kind}`)
    return type
  }

  private seed(): void {
    const ns = this.type('v1', 'Namespace')
    for (const name of DEFAULT_NAMESPACES) {
      this.store.create(ns, {apiVersion: 'v1', kind: 'Namespace', metadata: {name, labels: {'kubernetes.io/metadata.name': name}}, spec: {finalizers: ['kubernetes']}, status: {phase: 'Active'}})
    }
    const nodeType = this.type('v1', 'Node')
    for (const node of this.scenario.nodes) {
      this.store.create(nodeType, {
        apiVersion: 'v1', kind: 'Node',
        metadata: {name: node.name, labels: {'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux', ...node.labels}},
        spec: {
          ...(node.podCIDRs ? {podCIDR: node.podCIDRs[0], podCIDRs: node.podCIDRs} : {}),
          ...(node.taints ? {taints: node.taints} : {}),
          ...(node.unschedulable ? {unschedulable: true} : {}),
        },
        status: {
          addresses: [...node.addresses.map((address) => ({type: 'InternalIP', address})), {type: 'Hostname', address: node.name}],
          conditions: [{type: 'Ready', status: node.ready === false ? 'False' : 'True', reason: node.ready === false ? 'KubeletNotReady' : 'KubeletReady', lastTransitionTime: timestamp()}],
          nodeInfo: {kubeletVersion: this.version, kubeProxyVersion: this.version, osImage: 'Linux', containerRuntimeVersion: 'containerd://1.7.0', architecture: 'amd64', operatingSystem: 'linux'},
        },
      })
    }
    // The `kubernetes` Service takes the first address of the primary service range, as the apiserver does.
    const svc = this.type('v1', 'Service')
    const kubernetesIp = this.serviceIps.byFamily.get(this.serviceIps.primary)!.allocateNext(false)
    this.store.create(svc, {
      apiVersion: 'v1', kind: 'Service', metadata: {name: 'kubernetes', namespace: 'default', labels: {component: 'apiserver', provider: 'kubernetes'}},
      spec: {type: 'ClusterIP', clusterIP: kubernetesIp, ports: [{name: 'https', port: 443, protocol: 'TCP', targetPort: 6443}],
        ...(this.legacyServiceFamilies ? {} : {clusterIPs: [kubernetesIp], ipFamilies: [this.serviceIps.primary], ipFamilyPolicy: 'SingleStack'})},
    })
    for (const obj of this.scenario.objects ?? []) this.apply(obj)
    // Addresses the scenario gave its pods are Calico IPAM allocations, once every pool is there.
    if (this.scenario.calico) {
      for (const pod of this.store.list(this.type('v1', 'Pod'))) {
        if (pod.spec?.hostNetwork || !pod.spec?.nodeName) continue
        for (const {ip} of (pod.status?.podIPs as Array<{ip: string}> | undefined) ?? []) {
          this.calicoIpam.markUsed(ip, {namespace: pod.metadata.namespace, pod: pod.metadata.name, node: pod.spec.nodeName})
        }
      }
    }
    this.controllers.reconcile()
  }

  /** Stores a scenario object as the apiserver would on create (ClusterIPs allocated, pods keep a given status). */
  apply(obj: Obj): Obj {
    const type = this.type(obj.apiVersion ?? '', obj.kind ?? '')
    const copy = structuredClone(obj)
    if (type.namespaced) copy.metadata.namespace ??= 'default'
    if (type.namespaced && !this.store.get(this.type('v1', 'Namespace'), undefined, copy.metadata.namespace!)) {
      this.store.create(this.type('v1', 'Namespace'), {apiVersion: 'v1', kind: 'Namespace', metadata: {name: copy.metadata.namespace!}, status: {phase: 'Active'}})
    }
    applyDefaults(type.kind, copy, this.version)
    if (type.kind === 'Service') this.serviceIps.allocateForCreate(type, copy, false, this.legacyServiceFamilies)
    if (type.kind === 'Pod' && !this.scenario.calico) this.markPodIpsUsed(copy)
    // As `kubectl apply` made it (at its creation time), unless the scenario says who wrote it and when.
    copy.metadata.managedFields ??= nextManagedFields(undefined, copy, 'kubectl-client-side-apply', undefined, obj.metadata.creationTimestamp ?? timestamp())
    const created = this.store.create(type, copy)
    // Scenarios may date objects (pods from before dual-stack); keep their age.
    if (obj.metadata.creationTimestamp) created.metadata.creationTimestamp = obj.metadata.creationTimestamp
    return created
  }

  private markPodIpsUsed(pod: Obj): void {
    for (const entry of (pod.status?.podIPs as Array<{ip: string}> | undefined) ?? []) {
      for (const allocator of this.podAllocators.values()) {
        if (allocator.contains(entry.ip)) {
          try {
            allocator.allocate(entry.ip, false)
          } catch {
            // already marked
          }
        }
      }
    }
  }

  node(name: string): Obj | undefined {
    return this.store.get(this.type('v1', 'Node'), undefined, name)
  }

  nodeSpec(name: string) {
    return this.scenario.nodes.find((n) => n.name === name)
  }

  sysctl(nodeName: string, key: string): string | undefined {
    const spec = this.nodeSpec(nodeName)
    const defaults: Record<string, string> = {'net.ipv6.conf.all.forwarding': '1', 'net.ipv4.ip_forward': '1', 'net.ipv4.ping_group_range': '1 0'}
    return spec?.sysctls?.[key] ?? defaults[key]
  }

  nodeAddresses(name: string): string[] {
    return (this.node(name)?.status?.addresses as Array<{type: string; address: string}> | undefined ?? [])
      .filter((a) => a.type === 'InternalIP').map((a) => a.address)
  }

  /** Enabled Calico pools of a family, in name order. */
  calicoPools(family: Family): Obj[] {
    if (!this.scenario.calico) return []
    return this.store.list(this.type('crd.projectcalico.org/v1', 'IPPool'))
      .filter((p) => !p.spec?.disabled && parseCidr(p.spec?.cidr ?? '')?.family === family)
  }

  podAllocator(cidr: string): RangeAllocator {
    let allocator = this.podAllocators.get(cidr)
    if (!allocator) {
      allocator = new RangeAllocator(cidr)
      this.podAllocators.set(cidr, allocator)
      // Addresses already handed out in this range stay taken.
      for (const pod of this.store.list(this.type('v1', 'Pod'))) this.markPodIpsUsed(pod)
    }
    return allocator
  }

  user(token: string | undefined): UserSpec | undefined {
    if (!token) return undefined
    return this.users.find((u) => u.token === token)
  }

  /** What a SelfSubjectAccessReview answers: whether the user's rules allow it. */
  accessReview(user: UserSpec, attributes: {verb?: string; group?: string; resource?: string; subresource?: string; namespace?: string; name?: string}): {allowed: boolean; reason?: string} {
    try {
      this.authorize(user, attributes.verb ?? '', {plural: attributes.resource ?? '', group: attributes.group ?? ''}, attributes.subresource || undefined, attributes.namespace || undefined, attributes.name)
      return {allowed: true, reason: user.admin ? 'the user is a cluster admin' : 'allowed by the user\'s rules'}
    } catch {
      return {allowed: false}
    }
  }

  /** RBAC: throws the apiserver's 403 when the user's rules do not allow verb on resource. */
  authorize(user: UserSpec, verb: string, type: {plural: string; group: string}, subresource: string | undefined, namespace: string | undefined, name?: string): void {
    if (user.admin) return
    const resource = subresource ? `${type.plural}/${subresource}` : type.plural
    const allowed = (user.rules ?? []).some((rule) =>
      (rule.verbs.includes('*') || rule.verbs.includes(verb)) &&
      (rule.apiGroups ?? ['*']).some((g) => g === '*' || g === type.group) &&
      rule.resources.some((r) => r === '*' || r === resource) &&
      (!rule.namespaces || (namespace !== undefined && rule.namespaces.includes(namespace))))
    if (!allowed) {
      throw errors.forbidden(user.name, verb, {plural: resource, group: type.group}, namespace, name)
    }
  }

  /** The first fault matching this request, counted. */
  fault(verb: string, resource: string | undefined, user?: string): (FaultSpec & {hits: number; seen?: number}) | undefined {
    for (const f of this.faults) {
      if ((f.verb && f.verb !== verb) || (f.resource && f.resource !== resource) || (f.user && f.user !== user)) continue
      f.seen = (f.seen ?? 0) + 1
      if (f.seen <= (f.skip ?? 0)) continue
      if (f.times !== undefined && f.hits >= f.times) continue
      f.hits++
      return f
    }
    return undefined
  }

  /** Which family a pod address belongs to, and the pod or node behind an address. */
  /** Who has an address (nodes first, then pods, then Services), indexed once per store version. */
  ownerOfAddress(ip: string): AddressOwner | undefined {
    if (!addressFamily(ip)) return undefined
    if (this.addressIndex?.rv !== this.store.resourceVersion) {
      const owners = new Map<string, AddressOwner>()
      const add = (address: string, owner: AddressOwner) => {
        if (!owners.has(address)) owners.set(address, owner)
      }
      for (const node of this.scenario.nodes) for (const address of this.nodeAddresses(node.name)) add(address, {kind: 'node', node: node.name})
      for (const pod of this.store.list(this.type('v1', 'Pod'))) {
        if (pod.spec?.hostNetwork) continue
        for (const {ip: address} of (pod.status?.podIPs as Array<{ip: string}> | undefined) ?? []) add(address, {kind: 'pod', pod})
      }
      for (const service of this.store.list(this.type('v1', 'Service'))) {
        for (const address of (service.spec?.clusterIPs ?? (service.spec?.clusterIP ? [service.spec.clusterIP] : [])) as string[]) add(address, {kind: 'service', service})
      }
      this.addressIndex = {rv: this.store.resourceVersion, owners}
    }
    return this.addressIndex.owners.get(ip)
  }

  record(entry: RequestRecord): void {
    this.requests.push(entry)
  }

  /** Requests that changed (or would have changed, without dry-run) the cluster. */
  /** Requests that change stored state. Access reviews are POSTed but store nothing, as in kube-apiserver. */
  writes(): RequestRecord[] {
    return this.requests.filter((r) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(r.verb) && !REVIEWS.has(r.resource ?? ''))
  }

  apiVersionOf(type: ResourceType): string {
    return apiVersionOf(type)
  }
}
