// A small in-memory stand-in for the cluster client, for testing the repair engine and its steps in
// process, in milliseconds: objects by path, resourceVersions and conflicts, DeleteOptions preconditions,
// access reviews, and faults on chosen requests (refused before they apply, or applied with the answer lost).
import type {RepairClient} from '../../src/ops/engine/steps.js'
import type {KubeObject} from '../../src/cluster/types.js'
import {ApiError, ClusterUnavailableError, ExitCode} from '../../src/errors.js'

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
type Obj = KubeObject & {spec?: Record<string, unknown>; [key: string]: unknown}

export interface Fault {
  /** '*': any write (POST, PUT, PATCH, DELETE). */
  method: Method | '*'
  path: RegExp
  /** before: the request fails and changes nothing; after: it applies, then the answer is lost. */
  when: 'before' | 'after'
  /** How many matching requests pass first. */
  skip?: number
  /** Fails this many matching requests (default 1). */
  times?: number
  status?: number
}

export interface Logged {
  method: Method
  path: string
  body?: unknown
}

const COLLECTIONS = [
  '/apis/crd.projectcalico.org/v1/ippools', '/apis/projectcalico.org/v3/ippools', '/apis/crd.projectcalico.org/v1/ipamblocks', '/api/v1/nodes', '/api/v1/pods',
]

export class FakeCluster {
  readonly target = {context: 'fake', server: 'https://127.0.0.1:6443', namespace: 'default', user: 'tester'}
  readonly objects = new Map<string, Obj>()
  readonly log: Logged[] = []
  faults: Fault[] = []
  /** Access reviews answer "no" for these "verb resource" pairs. */
  denied = new Set<string>()
  /** Runs before each request is served (another writer, a clock). */
  onRequest?: (method: Method, path: string) => void
  private rv = 1
  private uid = 1

  put(path: string, obj: Obj): Obj {
    const stored = structuredClone(obj)
    stored.metadata = {...stored.metadata, resourceVersion: String(++this.rv), uid: stored.metadata?.uid ?? `uid-${this.uid++}`}
    this.objects.set(path, stored)
    return stored
  }

  get(path: string): Obj | undefined {
    return this.objects.get(path)
  }

  writes(): Logged[] {
    return this.log.filter((l) => l.method !== 'GET' && !l.path.endsWith('/selfsubjectaccessreviews'))
  }

  private fault(method: Method, path: string): Fault | undefined {
    for (const fault of this.faults) {
      if (!(fault.method === method || (fault.method === '*' && method !== 'GET')) || !fault.path.test(path)) continue
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

  private children(collection: string): Obj[] {
    const pattern = collection === '/api/v1/pods' ? /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+$/ : new RegExp(`^${collection.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[^/]+$`)
    return [...this.objects.entries()].filter(([key]) => pattern.test(key)).map(([, obj]) => structuredClone(obj))
  }

  private serve(method: Method, path: string, body: unknown): unknown {
    if (path.endsWith('/selfsubjectaccessreviews')) {
      const attrs = (body as {spec: {resourceAttributes: {verb: string; resource: string}}}).spec.resourceAttributes
      return {status: {allowed: !this.denied.has(`${attrs.verb} ${attrs.resource}`)}}
    }
    const current = this.objects.get(path)
    switch (method) {
      case 'GET': {
        if (current) return structuredClone(current)
        if (COLLECTIONS.includes(path) || path.endsWith('/leases') || path.endsWith('/pods')) return {metadata: {resourceVersion: String(this.rv)}, items: this.children(path)}
        throw FakeCluster.error(404, 'NotFound', `${path} not found`)
      }
      case 'POST': {
        const obj = body as Obj
        const at = `${path}/${obj.metadata?.name}`
        if (this.objects.has(at)) throw FakeCluster.error(409, 'AlreadyExists', `${at} already exists`)
        return structuredClone(this.put(at, obj))
      }
      case 'PUT': {
        if (!current) throw FakeCluster.error(404, 'NotFound', `${path} not found`)
        const obj = body as Obj
        if (obj.metadata?.resourceVersion && obj.metadata.resourceVersion !== current.metadata?.resourceVersion) {
          throw FakeCluster.error(409, 'Conflict', `Operation cannot be fulfilled on ${path}: the object has been modified`)
        }
        return structuredClone(this.put(path, {...obj, metadata: {...obj.metadata, uid: current.metadata?.uid}}))
      }
      case 'DELETE': {
        if (!current) throw FakeCluster.error(404, 'NotFound', `${path} not found`)
        const uid = (body as {preconditions?: {uid?: string}} | undefined)?.preconditions?.uid
        if (uid && uid !== current.metadata?.uid) throw FakeCluster.error(409, 'Conflict', `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata?.uid}`)
        this.objects.delete(path)
        return structuredClone(current)
      }
      default:
        throw FakeCluster.error(405, 'MethodNotAllowed', `${method} is not served by the fake`)
    }
  }

  async request<T>(method: Method, path: string, options: {body?: unknown; query?: Record<string, unknown>} = {}): Promise<T> {
    this.onRequest?.(method, path)
    this.log.push({method, path, ...(options.body !== undefined ? {body: structuredClone(options.body)} : {})})
    const fault = this.fault(method, path)
    if (fault?.when === 'before') throw FakeCluster.faultError(fault)
    const answer = this.serve(method, path, options.body)
    if (fault?.when === 'after') throw FakeCluster.faultError(fault)
    return answer as T
  }

  private static faultError(fault: Fault): Error {
    if (fault.status) return FakeCluster.error(fault.status, 'InternalError', `the fake failed ${fault.method} with ${fault.status}`)
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

  async deleteConfirmed(path: string): Promise<void> {
    try {
      await this.request('DELETE', path)
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error
    }
  }

  async *listPages<T extends KubeObject>(path: string): AsyncGenerator<T[]> {
    yield ((await this.request<{items: T[]}>('GET', path)).items ?? [])
  }

  async listAll<T extends KubeObject>(path: string): Promise<T[]> {
    return (await this.request<{items: T[]}>('GET', path)).items ?? []
  }

  // eslint-disable-next-line require-yield
  async *watch<T>(_path: string, _query: unknown, signal: AbortSignal): AsyncGenerator<{type: 'ADDED'; object: T}> {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), {once: true}))
  }

  /** As the engine and the steps see it. */
  client(): RepairClient {
    return this as unknown as RepairClient
  }
}
