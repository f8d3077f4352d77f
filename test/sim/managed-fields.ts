// metadata.managedFields as kube-apiserver keeps them (server-side field tracking, on since 1.18): one entry per
// field manager, operation and subresource, with the fields it set (FieldsV1) and `time`, which moves when the
// manager adds or changes one of its fields. The manager is the request's ?fieldManager=, else its User-Agent up
// to the first "/" (kubectl names itself: kubectl-edit, kubectl-patch, kubectl-rollout, ...). A field another
// manager changes moves to that manager. Simplified: lists are atomic (one field, not k:/v: items).
import type {Obj} from './store.js'
import {timestamp} from './store.js'

export interface ManagedFieldsEntry {
  manager: string
  operation: 'Update' | 'Apply'
  apiVersion: string
  time: string
  fieldsType: 'FieldsV1'
  fieldsV1: Record<string, unknown>
  subresource?: string
}

/** Server-set metadata, which no manager owns. */
const UNOWNED_METADATA = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'managedFields', 'selfLink', 'generateName'])

/** The field paths (joined by \u0000) an object sets: leaves of maps; a list or scalar is one leaf. */
function leaves(value: unknown, prefix: string[], out: Map<string, string>): void {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>)
    if (entries.length === 0 && prefix.length > 0) out.set(prefix.join('\u0000'), '{}')
    for (const [k, v] of entries) leaves(v, [...prefix, k], out)
  } else if (prefix.length > 0) out.set(prefix.join('\u0000'), JSON.stringify(value))
}

function fieldsOf(obj: Obj | undefined, subresource: string | undefined): Map<string, string> {
  const out = new Map<string, string>()
  if (!obj) return out
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'apiVersion' || key === 'kind') continue
    // The main resource does not own status where status is a subresource, and the status subresource owns only it.
    if (subresource === 'status' ? key !== 'status' : key === 'status') continue
    if (key === 'metadata') {
      for (const [m, v] of Object.entries((value ?? {}) as Record<string, unknown>)) if (!UNOWNED_METADATA.has(m)) leaves(v, ['metadata', m], out)
    } else leaves(value, [key], out)
  }
  return out
}

function toFieldsV1(paths: Iterable<string>): Record<string, unknown> {
  const root: Record<string, unknown> = {}
  for (const path of paths) {
    let node = root
    for (const part of path.split('\u0000')) node = (node[`f:${part}`] ??= {}) as Record<string, unknown>
  }
  return root
}

function fromFieldsV1(fields: Record<string, unknown>, prefix: string[] = [], out: Set<string> = new Set()): Set<string> {
  const children = Object.entries(fields).filter(([k]) => k.startsWith('f:'))
  if (children.length === 0 && prefix.length > 0) out.add(prefix.join('\u0000'))
  for (const [k, v] of children) fromFieldsV1((v ?? {}) as Record<string, unknown>, [...prefix, k.slice(2)], out)
  return out
}

/** The manager of a request: ?fieldManager=, else the User-Agent's first segment (apiserver's prefixFromUserAgent). */
export function fieldManagerOf(query: URLSearchParams, userAgent: string | undefined): string {
  return query.get('fieldManager') || (userAgent ?? '').split('/')[0]!.slice(0, 128) || 'unknown'
}

/** managedFields after `manager` wrote `next` over `current` (undefined: a create). */
export function nextManagedFields(current: Obj | undefined, next: Obj, manager: string, subresource?: string, now = timestamp()): ManagedFieldsEntry[] {
  const entries = structuredClone((current?.metadata.managedFields ?? []) as ManagedFieldsEntry[])
  const before = fieldsOf(current, subresource)
  const after = fieldsOf(next, subresource)
  // Fields the write added or changed: they are this manager's now, and no one else's.
  const changed = [...after].filter(([path, value]) => before.get(path) !== value).map(([path]) => path)
  const removed = [...before.keys()].filter((path) => !after.has(path))
  const sub = subresource === 'status' ? 'status' : undefined
  const mine = entries.find((e) => e.manager === manager && e.operation === 'Update' && e.subresource === sub)
  for (const entry of entries) {
    if (entry === mine) continue
    const owned = fromFieldsV1(entry.fieldsV1)
    for (const path of [...changed, ...removed]) owned.delete(path)
    entry.fieldsV1 = toFieldsV1(owned)
  }
  if (changed.length > 0 || removed.length > 0 || !mine) {
    const owned = mine ? fromFieldsV1(mine.fieldsV1) : new Set<string>()
    for (const path of changed) owned.add(path)
    for (const path of removed) owned.delete(path)
    const entry: ManagedFieldsEntry = {manager, operation: 'Update', apiVersion: String(next.apiVersion ?? ''), time: changed.length > 0 || !mine ? now : mine.time,
      fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(owned), ...(sub ? {subresource: sub} : {})}
    if (mine) Object.assign(mine, entry)
    else entries.push(entry)
  }
  // An entry left with no field is dropped, as the apiserver drops it.
  return entries.filter((e) => Object.keys(e.fieldsV1).length > 0)
}
