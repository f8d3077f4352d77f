// The simulated etcd: objects per type kept in key order (namespace/name, as etcd lists them), one global
// resourceVersion, and a bounded event history so watches can resume from a resourceVersion.
import {randomUUID} from 'node:crypto'

import {typeKey, type ResourceType} from './resources.js'
import {errors} from './status.js'

export type Obj = {
  apiVersion?: string
  kind?: string
  metadata: {
    name: string
    namespace?: string
    generateName?: string
    uid?: string
    resourceVersion?: string
    generation?: number
    creationTimestamp?: string
    deletionTimestamp?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    finalizers?: string[]
    ownerReferences?: Array<{apiVersion: string; kind: string; name: string; uid: string; controller?: boolean}>
    [key: string]: unknown
  }
  spec?: any // eslint-disable-line @typescript-eslint/no-explicit-any
  status?: any // eslint-disable-line @typescript-eslint/no-explicit-any
  [key: string]: unknown
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface StoreEvent {
  type: EventType
  rv: number
  type_: ResourceType
  object: Obj
}

type Listener = (event: StoreEvent) => void

const HISTORY = 10_000

/**
 * What keeps a deleted object: its finalizers, and for a Namespace also spec.finalizers ("kubernetes", which
 * the namespace controller removes once nothing is left in it).
 */
function holders(type: ResourceType, obj: Obj): string[] {
  return [...(obj.metadata.finalizers ?? []), ...(type.kind === 'Namespace' && type.group === '' ? (obj.spec?.finalizers as string[] | undefined) ?? [] : [])]
}

function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name
}

// Binary search over a sorted string array.
function lowerBound(keys: string[], key: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid]! < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

class TypeTable {
  readonly objects = new Map<string, Obj>()
  readonly keys: string[] = []

  put(key: string, obj: Obj): void {
    if (!this.objects.has(key)) {
      const at = lowerBound(this.keys, key)
      this.keys.splice(at, 0, key)
    }
    this.objects.set(key, obj)
  }

  remove(key: string): void {
    if (!this.objects.delete(key)) return
    const at = lowerBound(this.keys, key)
    if (this.keys[at] === key) this.keys.splice(at, 1)
  }

  /** Bulk load for generated clusters: append then sort once. */
  bulk(entries: Array<[string, Obj]>): void {
    for (const [key, obj] of entries) {
      if (!this.objects.has(key)) this.keys.push(key)
      this.objects.set(key, obj)
    }
    this.keys.sort()
  }
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789'

export function randomSuffix(length = 5): string {
  let out = ''
  for (let i = 0; i < length; i++) out += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)]
  return out
}

export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export class Store {
  private rv = 1
  private readonly tables = new Map<string, TypeTable>()
  private readonly history: StoreEvent[] = []
  private readonly listeners = new Set<Listener>()

  get resourceVersion(): number {
    return this.rv
  }

  get oldestHistoryRv(): number {
    return this.history[0]?.rv ?? this.rv
  }

  private table(type: ResourceType): TypeTable {
    const k = typeKey(type)
    let t = this.tables.get(k)
    if (!t) {
      t = new TypeTable()
      this.tables.set(k, t)
    }
    return t
  }

  get(type: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    return this.table(type).objects.get(keyOf(type.namespaced ? namespace : undefined, name))
  }

  mustGet(type: ResourceType, namespace: string | undefined, name: string): Obj {
    const obj = this.get(type, namespace, name)
    if (!obj) throw errors.notFound(type, name)
    return obj
  }

  /** Objects of a type in key order, optionally one namespace, starting after `afterKey`. */
  *scan(type: ResourceType, namespace: string | undefined, afterKey?: string): Generator<[string, Obj]> {
    const t = this.table(type)
    const prefix = namespace && type.namespaced ? `${namespace}/` : ''
    let i = afterKey !== undefined ? lowerBound(t.keys, afterKey) : prefix ? lowerBound(t.keys, prefix) : 0
    if (afterKey !== undefined && t.keys[i] === afterKey) i++
    for (; i < t.keys.length; i++) {
      const key = t.keys[i]!
      if (prefix && !key.startsWith(prefix)) break
      yield [key, t.objects.get(key)!]
    }
  }

  list(type: ResourceType, namespace?: string): Obj[] {
    return [...this.scan(type, namespace)].map(([, o]) => o)
  }

  count(type: ResourceType, namespace?: string): number {
    if (!namespace) return this.table(type).keys.length
    let n = 0
    for (const _ of this.scan(type, namespace)) n++
    return n
  }

  /** Fills server-set metadata; returns the stored copy. dryRun validates without storing. */
  create(type: ResourceType, obj: Obj, dryRun = false): Obj {
    const meta = obj.metadata
    if (!meta.name && meta.generateName) {
      // Like the apiserver, retry the random suffix until the name is free.
      do meta.name = meta.generateName + randomSuffix()
      while (this.get(type, meta.namespace, meta.name))
    }
    if (this.get(type, meta.namespace, meta.name)) throw errors.alreadyExists(type, meta.name)
    meta.uid = randomUUID()
    meta.creationTimestamp = timestamp()
    if (obj.spec !== undefined && ['Deployment', 'DaemonSet', 'ReplicaSet', 'StatefulSet'].includes(type.kind)) meta.generation = 1
    if (dryRun) {
      meta.resourceVersion = undefined
      return obj
    }
    meta.resourceVersion = String(++this.rv)
    this.table(type).put(keyOf(type.namespaced ? meta.namespace : undefined, meta.name), obj)
    this.emit({type: 'ADDED', rv: this.rv, type_: type, object: obj})
    return obj
  }

  /** Replaces an object. A resourceVersion that is not the stored one is a conflict, as in etcd. */
  update(type: ResourceType, obj: Obj, dryRun = false, options: {statusOnly?: boolean} = {}): Obj {
    const meta = obj.metadata
    const current = this.mustGet(type, meta.namespace, meta.name)
    if (meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) throw errors.conflict(type, meta.name)
    meta.uid = current.metadata.uid
    meta.creationTimestamp = current.metadata.creationTimestamp
    if (options.statusOnly) obj = {...current, status: obj.status}
    else if (current.status !== undefined && type.subresources?.includes('status')) obj.status = current.status
    obj.metadata.generation = current.metadata.generation
    if (current.metadata.generation !== undefined && JSON.stringify(current.spec) !== JSON.stringify(obj.spec)) {
      obj.metadata.generation = current.metadata.generation + 1
    }
    // deletionTimestamp is the server's: kept as it is, and a deleted object goes with its last finalizer.
    if (current.metadata.deletionTimestamp) obj.metadata.deletionTimestamp = current.metadata.deletionTimestamp
    else delete obj.metadata.deletionTimestamp
    if (dryRun) return obj
    return this.put(type, {...obj, metadata: {...obj.metadata, resourceVersion: String(++this.rv)}})
  }

  /** Stores an updated object and tells of it; a deleted one whose finalizers are all gone is removed. */
  private put(type: ResourceType, obj: Obj): Obj {
    const key = keyOf(type.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name)
    if (obj.metadata.deletionTimestamp && holders(type, obj).length === 0) {
      this.table(type).remove(key)
      this.emit({type: 'DELETED', rv: this.rv, type_: type, object: obj})
      return obj
    }
    this.table(type).put(key, obj)
    this.emit({type: 'MODIFIED', rv: this.rv, type_: type, object: obj})
    return obj
  }

  /** Server-side writes (controllers): no conflict check, status kept as given. */
  write(type: ResourceType, obj: Obj): Obj {
    const current = this.get(type, obj.metadata.namespace, obj.metadata.name)
    if (!current) return this.create(type, obj)
    obj.metadata = {...obj.metadata, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp, resourceVersion: String(++this.rv)}
    if (current.metadata.deletionTimestamp) obj.metadata.deletionTimestamp = current.metadata.deletionTimestamp
    return this.put(type, obj)
  }

  /**
   * Stores a copy of another server's object as it is (uid, timestamps and resourceVersion kept): the real
   * control plane tier's node agent keeps its model of the cluster this way.
   */
  replicate(type: ResourceType, obj: Obj): Obj {
    const existed = this.get(type, obj.metadata.namespace, obj.metadata.name)
    ++this.rv
    this.table(type).put(keyOf(type.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name), obj)
    this.emit({type: existed ? 'MODIFIED' : 'ADDED', rv: this.rv, type_: type, object: obj})
    return obj
  }

  /**
   * Deletes an object. One with finalizers stays, marked with a deletionTimestamp (Terminating, for a pod),
   * until the last of them is removed, as the apiserver keeps it. A Namespace stays Terminating (its phase)
   * until the namespace controller has emptied it and removed its spec finalizer.
   */
  delete(type: ResourceType, namespace: string | undefined, name: string, dryRun = false): Obj {
    const current = this.mustGet(type, namespace, name)
    const gone: Obj = {...current, metadata: {...current.metadata, deletionTimestamp: current.metadata.deletionTimestamp ?? timestamp()}}
    if (type.kind === 'Namespace' && holders(type, current).length > 0) gone.status = {...current.status, phase: 'Terminating'}
    if (dryRun) return gone
    if (holders(type, current).length > 0) {
      if (current.metadata.deletionTimestamp) return current
      gone.metadata.resourceVersion = String(++this.rv)
      return this.put(type, gone)
    }
    this.table(type).remove(keyOf(type.namespaced ? namespace : undefined, name))
    gone.metadata.resourceVersion = String(++this.rv)
    this.emit({type: 'DELETED', rv: this.rv, type_: type, object: gone})
    return gone
  }

  /** Loads many objects at once without events (generated benchmark clusters). */
  bulkLoad(type: ResourceType, objects: Obj[]): void {
    const created = timestamp()
    this.table(type).bulk(objects.map((obj) => {
      obj.metadata.uid ??= randomUUID()
      obj.metadata.creationTimestamp ??= created
      obj.metadata.resourceVersion = String(++this.rv)
      return [keyOf(type.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name), obj]
    }))
  }

  eventsSince(rv: number): StoreEvent[] {
    return this.history.filter((e) => e.rv > rv)
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit(event: StoreEvent): void {
    this.history.push(event)
    if (this.history.length > HISTORY) this.history.shift()
    for (const listener of [...this.listeners]) listener(event)
  }
}
