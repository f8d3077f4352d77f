// A small in-memory stand-in for the cluster client (ClusterApi), for testing the repair engine and its steps
// in process, in milliseconds: objects by path, resourceVersions and conflicts, DeleteOptions preconditions,
// label and field selectors, merge patches, the eviction subresource (refused with a 429 while a
// PodDisruptionBudget allows no disruption), watches, access reviews, and faults on chosen requests
// (refused before they apply, or applied with the answer lost).
// A few controllers act after the answer, as in a cluster: a DaemonSet's or ReplicaSet's pod that is deleted
// or evicted is replaced, a Deployment whose template changed rolls out, and a new pod's kubelet makes it
// Running, with addresses from the enabled IPPools, and Ready (or never Ready: replacementsReady = false).
// Left out: StatefulSet and DaemonSet rollouts, graceful-deletion periods (a pod without finalizers is gone
// at once), list paging, and watch events for objects that stop matching a label selector.
import type {RepairClient} from '../../src/ops/engine/steps.js'
import type {KubeObject} from '../../src/cluster/types.js'
import {apiErrorFromStatus} from '../../src/cluster/errors.js'
import {ApiError, ClusterUnavailableError, ExitCode} from '../../src/errors.js'
import {nthAddress, parseCidr} from '../../src/net/ip.js'

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
type Meta = NonNullable<KubeObject['metadata']> & {generation?: number; ownerReferences?: OwnerReference[]; [key: string]: unknown}
export type Obj = Omit<KubeObject, 'metadata'> & {metadata?: Meta; spec?: Record<string, unknown>; status?: Record<string, unknown>; [key: string]: unknown}
interface OwnerReference {
  apiVersion?: string
  kind: string
  name: string
  uid?: string
  controller?: boolean
}
type Query = Record<string, string | number | boolean | undefined>

export interface Fault {
  /** '*': any write (POST, PUT, PATCH, DELETE; an access review is a read). */
  method: Method | '*'
  path: RegExp
  /** before: the request fails and changes nothing; after: it applies, then the answer is lost. */
  when: 'before' | 'after'
  /** How many matching requests pass first. */
  skip?: number
  /** Fails this many matching requests (default 1). */
  times?: number
  status?: number
  /** Without a status: 'reset' fails as ClusterClient does on a dropped connection (which a repair waits out); else a connection error it does not. */
  error?: 'reset'
}

export interface Logged {
  method: Method
  path: string
  body?: unknown
}

interface Event {
  rv: number
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  path: string
  object: Obj
}

/** A path as the API server reads it: a collection, an object, or an object's subresource. */
interface Where {
  prefix: string
  namespace?: string
  resource: string
  name?: string
  subresource?: string
}

function parsePath(path: string): Where | undefined {
  const m = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)((?:\/[^/]+)*)$/.exec(path)
  if (!m) return undefined
  const rest = m[2]!.split('/').filter(Boolean).map(decodeURIComponent)
  if (rest[0] === 'namespaces' && rest.length >= 3) return {prefix: m[1]!, namespace: rest[1], resource: rest[2]!, name: rest[3], subresource: rest[4]}
  return rest.length > 0 ? {prefix: m[1]!, resource: rest[0]!, name: rest[1], subresource: rest[2]} : undefined
}

/** A label selector as the API server reads it: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b). */
export function matchesLabels(selector: string | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return true
  const terms = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? []
  return terms.every((raw) => {
    const term = raw.trim()
    let m: RegExpExecArray | null
    if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const values = m[3]!.split(',').map((v) => v.trim())
      return m[2] === 'in' ? values.includes(labels[m[1]!] ?? '\0') : !(m[1]! in labels) || !values.includes(labels[m[1]!]!)
    }
    if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term))) return m[2] === '!=' ? labels[m[1]!] !== m[3] : labels[m[1]!] === m[3]
    if ((m = /^!(\S+)$/.exec(term))) return !(m[1]! in labels)
    if (/^\S+$/.test(term)) return term in labels
    throw new Error(`the fake cannot read the label selector ${JSON.stringify(selector)}`)
  })
}

/** A field selector: field=value, field==value, field!=value, over dotted fields (metadata.name, spec.nodeName). */
function matchesFields(selector: string | undefined, obj: Obj): boolean {
  if (!selector) return true
  return selector.split(',').every((term) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term.trim())
    if (!m) throw new Error(`the fake cannot read the field selector ${JSON.stringify(selector)}`)
    const value = m[1]!.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], obj)
    return m[2] === '!=' ? String(value ?? '') !== m[3] : String(value ?? '') === m[3]
  })
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** RFC 7386 JSON merge patch; a strategic merge patch is the same for maps (lists are not faked). */
function mergePatch(target: unknown, patch: unknown, strategic: boolean): unknown {
  if (!isMap(patch)) {
    if (strategic && Array.isArray(patch)) throw new Error('the fake does not merge lists in a strategic merge patch')
    return patch
  }
  const out: Record<string, unknown> = isMap(target) ? {...target} : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = mergePatch(out[key], value, strategic)
  }
  return out
}

const controllerRef = (obj: Obj) => obj.metadata?.ownerReferences?.find((r) => r.controller) ?? obj.metadata?.ownerReferences?.[0]
const podReady = (obj: Obj) => (obj.status?.conditions as Array<{type: string; status: string}> | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') === true

export class FakeCluster {
  readonly target = {context: 'fake', server: 'https://127.0.0.1:6443', namespace: 'default', user: 'tester'}
  readonly objects = new Map<string, Obj>()
  readonly log: Logged[] = []
  faults: Fault[] = []
  /** Access reviews answer "no" for these "verb resource" pairs. */
  denied = new Set<string>()
  /** Runs before each request is served (another writer, a clock). */
  onRequest?: (method: Method, path: string, body?: unknown) => void
  /** Whether the pods the controllers make become Ready (false: Running, never Ready, in CrashLoopBackOff). */
  replacementsReady = true
  /** How long after a write its controller acts, and after that a new pod's kubelet. */
  controllerDelayMs = 1
  /** The Service families the API server gives (its --service-cluster-ip-range): both unless a test says otherwise. */
  serviceFamilies: Array<'IPv4' | 'IPv6'> = ['IPv4', 'IPv6']
  /** Whether the EndpointSlice controller runs (false: a Service's slices never change). */
  endpointSlices = true
  private serviceIp = 10
  private rv = 1
  private uid = 1
  private made = 0
  private readonly events: Event[] = []
  private readonly listeners = new Set<() => void>()
  private readonly replaced = new Set<string>()

  /**
   * A manifest install of Calico as ippool fix reads it (gatherFacts): the API server's version, Calico's API
   * group, and kube-system/calico-node with this env on its calico-node container.
   */
  calicoEnv(env: Record<string, string>): this {
    this.put('/version', {gitVersion: 'v1.34.4'} as Obj)
    this.put('/apis/crd.projectcalico.org/v1', {kind: 'APIResourceList', resources: [{name: 'ippools'}, {name: 'ipamblocks'}]} as unknown as Obj)
    const path = '/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node'
    const ds = this.objects.get(path) ?? {apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {name: 'calico-node', namespace: 'kube-system'},
      spec: {selector: {matchLabels: {'k8s-app': 'calico-node'}}, template: {metadata: {labels: {'k8s-app': 'calico-node'}}, spec: {hostNetwork: true, containers: [{name: 'calico-node'}]}}}}
    const spec = (ds.spec ?? {}) as {template: {spec: {containers: Array<Record<string, unknown>>}}}
    spec.template.spec.containers = spec.template.spec.containers.map((c) => (c.name === 'calico-node' ? {...c, env: Object.entries(env).map(([name, value]) => ({name, value}))} : c))
    this.put(path, {...ds, spec} as Obj)
    return this
  }

  /** Stores an object as a controller or the test does (no generation bump, no controllers): an ADDED or MODIFIED event. */
  put(path: string, obj: Obj): Obj {
    const stored = structuredClone(obj)
    const where = parsePath(path)
    const had = this.objects.get(path)
    stored.metadata = {...stored.metadata, name: stored.metadata?.name ?? where?.name, ...(where?.namespace ? {namespace: where.namespace} : {}),
      resourceVersion: String(++this.rv), uid: stored.metadata?.uid ?? had?.metadata?.uid ?? `uid-${this.uid++}`}
    this.objects.set(path, stored)
    this.emit(had ? 'MODIFIED' : 'ADDED', path, stored)
    return stored
  }

  get(path: string): Obj | undefined {
    return this.objects.get(path)
  }

  writes(): Logged[] {
    return this.log.filter((l) => FakeCluster.isWrite(l.method, l.path))
  }

  private static isWrite(method: Method, path: string): boolean {
    return method !== 'GET' && !path.endsWith('/selfsubjectaccessreviews')
  }

  private emit(type: Event['type'], path: string, object: Obj): void {
    this.events.push({rv: this.rv, type, path, object: structuredClone(object)})
    for (const listener of [...this.listeners]) listener()
  }

  private remove(path: string): void {
    const gone = this.objects.get(path)!
    this.objects.delete(path)
    ++this.rv
    this.emit('DELETED', path, {...gone, metadata: {...gone.metadata, resourceVersion: String(this.rv)}})
    this.react(path, gone, true)
  }

  private fault(method: Method, path: string): Fault | undefined {
    for (const fault of this.faults) {
      if (!(fault.method === method || (fault.method === '*' && FakeCluster.isWrite(method, path))) || !fault.path.test(path)) continue
      if ((fault.skip ?? 0) > 0) {
        fault.skip = (fault.skip ?? 0) - 1
        continue
      }
      if ((fault.times ?? 1) <= 0) continue
      fault.times = (fault.times ?? 1) - 1
      return fault
    }
    return undefined
  }

  private static error(status: number, reason: string, message: string): ApiError {
    return new ApiError(message, status, reason, status === 403 || status === 401 ? ExitCode.ClusterUnavailable : ExitCode.ProblemsFound)
  }

  /** Whether a stored object is an item of the collection (a cluster-wide list of a namespaced resource included). */
  private static inCollection(collection: Where, key: string): boolean {
    const at = parsePath(key)
    return !!at?.name && !at.subresource && at.prefix === collection.prefix && at.resource === collection.resource && (collection.namespace === undefined || at.namespace === collection.namespace)
  }

  private items(collection: Where, query: Query): Array<[string, Obj]> {
    return [...this.objects.entries()].filter(([key, obj]) => FakeCluster.inCollection(collection, key) &&
      matchesLabels(query.labelSelector as string | undefined, obj.metadata?.labels) && matchesFields(query.fieldSelector as string | undefined, obj))
  }

  /** A write as the API server stores it: the generation moves when the spec does. */
  private store(path: string, obj: Obj, before?: Obj): Obj {
    const generation = before ? (before.metadata?.generation ?? 1) + (JSON.stringify(before.spec) === JSON.stringify(obj.spec) ? 0 : 1) : 1
    const stored = this.put(path, {...obj, metadata: {...obj.metadata, generation, ...(before ? {uid: before.metadata?.uid} : {})}})
    this.react(path, stored, false, before)
    return stored
  }

  /** DELETE: gone at once, or marked Terminating while finalizers hold it. */
  private delete(path: string, current: Obj): Obj {
    if ((current.metadata?.finalizers ?? []).length > 0) {
      if (current.metadata?.deletionTimestamp) return structuredClone(current)
      const marked = this.put(path, {...current, metadata: {...current.metadata, deletionTimestamp: new Date().toISOString()}})
      this.react(path, marked, false, current)
      return structuredClone(marked)
    }
    this.remove(path)
    return structuredClone(current)
  }

  /** The eviction API: refused with 429 while a PodDisruptionBudget of the pod allows no disruption, else a DELETE. */
  private evict(podPath: string): unknown {
    const pod = this.objects.get(podPath)
    if (!pod) throw apiErrorFromStatus(404, JSON.stringify({message: `pods "${parsePath(podPath)?.name}" not found`}), 'POST', `${podPath}/eviction`, this.target)
    const namespace = pod.metadata?.namespace
    for (const [, pdb] of this.items({prefix: '/apis/policy/v1', namespace, resource: 'poddisruptionbudgets'}, {})) {
      const spec = pdb.spec as {selector?: {matchLabels?: Record<string, string>}; minAvailable?: number; maxUnavailable?: number}
      const selector = Object.entries(spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')
      if (!matchesLabels(selector, pod.metadata?.labels)) continue
      const covered = this.items({prefix: '/api/v1', namespace, resource: 'pods'}, {labelSelector: selector}).map(([, p]) => p)
      const healthy = covered.filter((p) => podReady(p) && !p.metadata?.deletionTimestamp).length
      const desired = spec.minAvailable ?? covered.length - (spec.maxUnavailable ?? 0)
      if (podReady(pod) && healthy - desired <= 0) {
        const status = {kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'TooManyRequests', code: 429,
          message: 'Cannot evict pod as it would violate the pod\'s disruption budget.',
          details: {causes: [{reason: 'DisruptionBudget', message: `The disruption budget ${pdb.metadata?.name} needs ${desired} healthy pods and has ${healthy} currently`}]}}
        const error = apiErrorFromStatus(429, JSON.stringify(status), 'POST', `${podPath}/eviction`, this.target)
        // What ClusterClient.request says once its retries of a 429 are spent (a PodDisruptionBudget does not give way in 4s).
        error.message += ' (gave up after 5 attempts in 3.8s)'
        throw error
      }
    }
    this.delete(podPath, pod)
    return {kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201}
  }

  private serve(method: Method, path: string, options: {body?: unknown; query?: Query; contentType?: string}): unknown {
    const body = options.body
    if (path.endsWith('/selfsubjectaccessreviews')) {
      const attrs = (body as {spec: {resourceAttributes: {verb: string; resource: string}}}).spec.resourceAttributes
      return {status: {allowed: !this.denied.has(`${attrs.verb} ${attrs.resource}`)}}
    }
    const where = parsePath(path)
    if (method === 'POST' && where?.resource === 'pods' && where.subresource === 'eviction') return this.evict(path.slice(0, -'/eviction'.length))
    const current = this.objects.get(path)
    switch (method) {
      case 'GET': {
        if (current) return structuredClone(current)
        if (where && !where.name) return {metadata: {resourceVersion: String(this.rv)}, items: this.items(where, options.query ?? {}).map(([, obj]) => structuredClone(obj))}
        throw FakeCluster.error(404, 'NotFound', `${path} not found`)
      }
      case 'POST': {
        const obj = structuredClone(body as Obj)
        const at = `${path}/${obj.metadata?.name}`
        if (this.objects.has(at)) throw FakeCluster.error(409, 'AlreadyExists', `${at} already exists`)
        if (where?.resource === 'services') this.serviceIps(obj)
        // A dry run is answered as the write would be, and stores nothing.
        if (options.query?.dryRun === 'All') return obj
        return structuredClone(this.store(at, obj))
      }
      case 'PUT': {
        if (!current) throw FakeCluster.error(404, 'NotFound', `${path} not found`)
        const obj = body as Obj
        if (obj.metadata?.resourceVersion && obj.metadata.resourceVersion !== current.metadata?.resourceVersion) {
          throw FakeCluster.error(409, 'Conflict', `Operation cannot be fulfilled on ${path}: the object has been modified`)
        }
        return structuredClone(this.store(path, obj, current))
      }
      case 'PATCH': {
        if (!current) throw FakeCluster.error(404, 'NotFound', `${path} not found`)
        const type = options.contentType ?? 'application/merge-patch+json'
        if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json') throw FakeCluster.error(415, 'UnsupportedMediaType', `the fake does not take ${type}`)
        const patched = mergePatch(current, body, type.startsWith('application/strategic')) as Obj
        // metadata.resourceVersion in a patch is a precondition, as the API server takes it.
        const wanted = (body as {metadata?: {resourceVersion?: string}} | undefined)?.metadata?.resourceVersion
        if (wanted && wanted !== current.metadata?.resourceVersion) throw FakeCluster.error(409, 'Conflict', `Operation cannot be fulfilled on ${path}: the object has been modified`)
        if (where?.resource === 'services') this.serviceIps(patched, current)
        // A patch never renames, re-identifies or re-versions the object.
        return structuredClone(this.store(path, {...patched, metadata: {...patched.metadata, name: current.metadata?.name, uid: current.metadata?.uid}}, current))
      }
      case 'DELETE': {
        if (!current) throw FakeCluster.error(404, 'NotFound', `${path} not found`)
        const uid = (body as {preconditions?: {uid?: string}} | undefined)?.preconditions?.uid
        if (uid && uid !== current.metadata?.uid) throw FakeCluster.error(409, 'Conflict', `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata?.uid}`)
        return this.delete(path, current)
      }
    }
  }

  async request<T>(method: Method, path: string, options: {body?: unknown; query?: Query; contentType?: string} = {}): Promise<T> {
    this.onRequest?.(method, path, options.body)
    this.log.push({method, path, ...(options.body !== undefined ? {body: structuredClone(options.body)} : {})})
    const fault = this.fault(method, path)
    if (fault?.when === 'before') throw this.faultError(fault)
    const answer = this.serve(method, path, options)
    if (fault?.when === 'after') throw this.faultError(fault)
    return answer as T
  }

  private faultError(fault: Fault): Error {
    if (fault.status) return FakeCluster.error(fault.status, 'InternalError', `the fake failed ${fault.method} with ${fault.status}`)
    if (fault.error === 'reset') return new ClusterUnavailableError(`the API server closed the connection (context "${this.target.context}", server ${this.target.server})`)
    return new ClusterUnavailableError(`cannot connect to the fake: connection reset (${fault.method})`)
  }

  async getIfExists<T>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path)
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return undefined
      throw error
    }
  }

  /** As ClusterClient's: a DELETE whose outcome is unknown is read back, and sent again (5 attempts) while the object is there. */
  async deleteConfirmed(path: string, body?: unknown): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.request('DELETE', path, body === undefined ? {} : {body})
        return
      } catch (error) {
        if (error instanceof ApiError && error.code === 404) return
        const unknownOutcome = !(error instanceof ApiError) || error.code >= 500 || error.code === 429
        if (!unknownOutcome) throw error
        if ((await this.getIfExists(path).catch(() => 'unreadable')) === undefined) return
        if (attempt >= 5) throw error
      }
    }
  }

  async *listPages<T extends KubeObject>(path: string, query: Query = {}): AsyncGenerator<T[]> {
    yield ((await this.request<{items: T[]}>('GET', path, {query})).items ?? [])
  }

  async listAll<T extends KubeObject>(path: string, query: Query = {}): Promise<T[]> {
    return (await this.request<{items: T[]}>('GET', path, {query})).items ?? []
  }

  /** The collection's events after query.resourceVersion (without one: the objects there now, as ADDED), until signal aborts. */
  async *watch<T>(path: string, query: Query, signal: AbortSignal): AsyncGenerator<{type: Event['type']; object: T}> {
    const collection = parsePath(path)
    if (!collection || collection.name) throw FakeCluster.error(405, 'MethodNotAllowed', `${path} is not a collection`)
    const matches = (obj: Obj) => matchesLabels(query.labelSelector as string | undefined, obj.metadata?.labels) && matchesFields(query.fieldSelector as string | undefined, obj)
    let from = Number(query.resourceVersion ?? NaN)
    if (Number.isNaN(from)) {
      for (const [, obj] of this.items(collection, query)) yield {type: 'ADDED', object: structuredClone(obj) as T}
      from = this.rv
    }
    let wake: (() => void) | undefined
    const listener = () => wake?.()
    const aborted = () => wake?.()
    this.listeners.add(listener)
    signal.addEventListener('abort', aborted, {once: true})
    try {
      while (!signal.aborted) {
        const next = this.events.find((e) => e.rv > from && FakeCluster.inCollection(collection, e.path) && matches(e.object))
        if (next) {
          from = next.rv
          yield {type: next.type, object: structuredClone(next.object) as T}
          continue
        }
        from = Math.max(from, ...this.events.map((e) => e.rv).slice(-1))
        await new Promise<void>((resolve) => (wake = resolve))
      }
    } finally {
      this.listeners.delete(listener)
      signal.removeEventListener('abort', aborted)
    }
  }

  /** As the engine and the steps see it. */
  client(): RepairClient {
    return this as unknown as RepairClient
  }

  // The controllers and the kubelet: what a cluster does after answering a write.

  private later(work: () => void): void {
    setTimeout(work, this.controllerDelayMs).unref()
  }

  private react(path: string, obj: Obj, gone: boolean, before?: Obj): void {
    const where = parsePath(path)
    if (where?.resource === 'pods') {
      const owner = controllerRef(obj)
      // A ReplicaSet replaces a pod as soon as it is on its way out; a DaemonSet only once it is gone.
      const replace = owner && (owner.kind === 'ReplicaSet' ? gone || !!obj.metadata?.deletionTimestamp : owner.kind === 'DaemonSet' && gone)
      if (replace && !this.replaced.has(obj.metadata!.uid!)) {
        this.replaced.add(obj.metadata!.uid!)
        this.later(() => this.replacePod(obj, owner))
      }
    }
    if (where?.resource === 'services' && this.endpointSlices) this.later(() => this.syncSlices(path))
    if (where?.resource === 'deployments' && before && !gone && JSON.stringify(before.spec?.template) !== JSON.stringify(obj.spec?.template)) {
      this.later(() => this.rollOut(path, obj.metadata?.generation ?? 1))
    }
  }

  /**
   * A Service's families and ClusterIPs as the API server sets them on create and update: a dual-stack policy
   * gains the other family (and a ClusterIP of it) where the cluster has both; SingleStack keeps the first.
   */
  private serviceIps(svc: Obj, before?: Obj): void {
    const spec = (svc.spec ??= {}) as {type?: string; clusterIP?: string; clusterIPs?: string[]; ipFamilies?: string[]; ipFamilyPolicy?: string}
    if (spec.type === 'ExternalName') return
    const policy = (spec.ipFamilyPolicy ??= 'SingleStack')
    if (policy === 'RequireDualStack' && this.serviceFamilies.length < 2) {
      throw FakeCluster.error(422, 'Invalid', `Service "${svc.metadata?.name}" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`)
    }
    const families = [...(spec.ipFamilies ?? [this.serviceFamilies[0]!])]
    if (policy === 'SingleStack') families.splice(1)
    else if (families.length === 1 && this.serviceFamilies.length === 2) families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4')
    spec.ipFamilies = families
    if (spec.clusterIP === 'None') return
    const ips = (spec.clusterIPs ?? before?.spec?.clusterIPs as string[] | undefined ?? []).slice(0, families.length)
    while (ips.length < families.length) ips.push(families[ips.length] === 'IPv4' ? `10.96.0.${this.serviceIp++}` : `fd00:96::${(this.serviceIp++).toString(16)}`)
    spec.clusterIPs = ips
    spec.clusterIP = ips[0]
  }

  /** The EndpointSlice controller: a slice per family of a Service with a selector, named after it; none of other families. */
  private syncSlices(path: string): void {
    const where = parsePath(path)!
    const svc = this.objects.get(path)
    const families = svc?.spec?.selector ? ((svc.spec.ipFamilies as string[] | undefined) ?? []) : []
    const slices = `/apis/discovery.k8s.io/v1/namespaces/${where.namespace}/endpointslices`
    for (const [key, slice] of this.items(parsePath(slices)!, {labelSelector: `kubernetes.io/service-name=${where.name}`})) {
      if (!families.includes(slice.addressType as string)) this.remove(key)
    }
    for (const family of families) {
      const name = `${where.name}-${family.toLowerCase()}`
      if (this.objects.has(`${slices}/${name}`)) continue
      this.put(`${slices}/${name}`, {apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: family, endpoints: [],
        metadata: {name, namespace: where.namespace, labels: {'kubernetes.io/service-name': where.name!}}})
    }
  }

  private ownerExists(namespace: string, owner: OwnerReference): boolean {
    const plural = owner.kind === 'DaemonSet' ? 'daemonsets' : 'replicasets'
    const found = this.objects.get(`/apis/apps/v1/namespaces/${namespace}/${plural}/${owner.name}`)
    return !!found && (!owner.uid || found.metadata?.uid === owner.uid)
  }

  private replacePod(old: Obj, owner: OwnerReference): void {
    const namespace = old.metadata!.namespace!
    if (!this.ownerExists(namespace, owner)) return
    this.startPod(namespace, owner, old.metadata?.labels, {...old.spec})
  }

  /** A new pod of the owner, Pending; its kubelet starts it a moment later. */
  private startPod(namespace: string, owner: OwnerReference, labels: Record<string, string> | undefined, spec: Record<string, unknown>): string {
    const name = `${owner.name}-${(++this.made).toString(36).padStart(5, 'x')}`
    const path = `/api/v1/namespaces/${namespace}/pods/${name}`
    this.put(path, {apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace, ...(labels ? {labels} : {}), ownerReferences: [{...owner, controller: true}]}, spec, status: {phase: 'Pending'}})
    this.later(() => {
      const pod = this.objects.get(path)
      if (!pod) return
      const ips = spec.hostNetwork ? [{ip: '192.0.2.10'}] : this.allocate()
      const containers = (spec.containers as Array<{name: string}> | undefined) ?? [{name: 'main'}]
      this.put(path, {...pod, status: this.replacementsReady
        ? {phase: 'Running', podIP: ips[0]?.ip, podIPs: ips, conditions: [{type: 'Ready', status: 'True'}], containerStatuses: containers.map((c) => ({name: c.name, ready: true, state: {running: {}}}))}
        : {phase: 'Running', podIP: ips[0]?.ip, podIPs: ips, conditions: [{type: 'Ready', status: 'False'}],
          containerStatuses: containers.map((c) => ({name: c.name, ready: false, state: {waiting: {reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${c.name}`}}}))}})
    })
    return name
  }

  /** Calico IPAM, as far as a test needs it: one address of each family, from the first enabled pool of it. */
  private allocate(): Array<{ip: string}> {
    const pools = [...this.objects.entries()].filter(([key]) => /\/ippools\/[^/]+$/.test(key)).map(([, pool]) => pool).filter((p) => p.spec?.disabled !== true)
    const ips: Array<{ip: string}> = []
    for (const family of ['ipv4', 'ipv6']) {
      const pool = pools.find((p) => parseCidr(String(p.spec?.cidr ?? ''))?.family === family)
      if (pool) ips.push({ip: nthAddress(String(pool.spec!.cidr), BigInt(100 + this.made))})
    }
    return ips
  }

  /** A Deployment's rollout: a new ReplicaSet of new pods; the old pods go once the new ones are Ready. */
  private rollOut(path: string, generation: number): void {
    const deployment = this.objects.get(path)
    if (!deployment || deployment.metadata?.generation !== generation) return
    const namespace = deployment.metadata!.namespace!
    const name = deployment.metadata!.name!
    const replicas = (deployment.spec?.replicas as number | undefined) ?? 1
    const rsName = `${name}-g${generation}`
    const rsPath = `/apis/apps/v1/namespaces/${namespace}/replicasets/${rsName}`
    const rs = this.put(rsPath, {apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: {name: rsName, namespace,
      ownerReferences: [{apiVersion: 'apps/v1', kind: 'Deployment', name, uid: deployment.metadata?.uid, controller: true}]}, spec: {replicas}})
    const template = (deployment.spec?.template ?? {}) as {metadata?: {labels?: Record<string, string>}; spec?: Record<string, unknown>}
    const owner = {apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.metadata?.uid}
    for (let i = 0; i < replicas; i++) this.startPod(namespace, owner, template.metadata?.labels, {...template.spec})
    // After the kubelet has started them.
    setTimeout(() => this.settle(path, generation), 3 * this.controllerDelayMs).unref()
  }

  /** The rollout's status; the old ReplicaSets' pods go only once every new one is Ready. */
  private settle(path: string, generation: number): void {
    {
      const current = this.objects.get(path)
      if (!current || current.metadata?.generation !== generation) return
      const namespace = current.metadata!.namespace!
      const name = current.metadata!.name!
      const replicas = (current.spec?.replicas as number | undefined) ?? 1
      const rsName = `${name}-g${generation}`
      if (!this.objects.has(`/apis/apps/v1/namespaces/${namespace}/replicasets/${rsName}`)) return
      const ownedBy = (kind: string, n: string) => (p: Obj) => controllerRef(p)?.kind === kind && controllerRef(p)?.name === n
      const mine = [...this.objects.entries()].filter(([key, obj]) => key.startsWith(`/apis/apps/v1/namespaces/${namespace}/replicasets/`) && ownedBy('Deployment', name)(obj))
      const pods = [...this.objects.entries()].filter(([key]) => key.startsWith(`/api/v1/namespaces/${namespace}/pods/`))
      const fresh = pods.filter(([, p]) => ownedBy('ReplicaSet', rsName)(p))
      const old = pods.filter(([, p]) => mine.some(([, r]) => r.metadata?.name !== rsName && ownedBy('ReplicaSet', r.metadata!.name!)(p)))
      const ready = fresh.filter(([, p]) => podReady(p)).length
      if (ready === replicas) {
        for (const [key] of old) this.remove(key)
        for (const [key, r] of mine) if (r.metadata?.name !== rsName) this.remove(key)
      }
      const available = ready === replicas ? replicas : old.filter(([, p]) => podReady(p)).length
      this.put(path, {...current, status: {observedGeneration: generation, replicas: ready === replicas ? replicas : replicas + old.length, updatedReplicas: replicas, readyReplicas: available, availableReplicas: available}})
    }
  }

  /** What was failing starts to work (an image fixed): pods not Ready become Ready, rollouts complete, and new pods are Ready from now on. */
  recover(): void {
    this.replacementsReady = true
    for (const [path, obj] of [...this.objects.entries()]) {
      if (parsePath(path)?.resource === 'pods' && obj.status?.phase === 'Running' && !podReady(obj)) {
        this.put(path, {...obj, status: {...obj.status, conditions: [{type: 'Ready', status: 'True'}], containerStatuses: ((obj.status.containerStatuses ?? []) as Array<{name: string}>).map((c) => ({name: c.name, ready: true, state: {running: {}}}))}})
      }
    }
    for (const [path, obj] of [...this.objects.entries()]) if (parsePath(path)?.resource === 'deployments') this.settle(path, obj.metadata?.generation ?? 1)
  }
}
