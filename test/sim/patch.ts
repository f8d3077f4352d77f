// The three patch types kube-apiserver accepts for built-in types.
import {errors} from './status.js'

type Json = unknown

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch)
  const result: Record<string, Json> = isObject(target) ? {...target} : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = mergePatch(result[key], value)
  }
  return result
}

// Lists that strategic merge patch merges by a key instead of replacing (from the core types' patchMergeKey tags).
const MERGE_KEYS: Record<string, string> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', env: 'name', volumes: 'name', volumeMounts: 'mountPath',
  ports: 'containerPort', imagePullSecrets: 'name', tolerations: 'key', conditions: 'type', ownerReferences: 'uid',
}

/** Strategic merge patch, for the list keys the plugin and kubectl touch. */
export function strategicMergePatch(target: Json, patch: Json, field = ''): Json {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[field]
    if (!key || !Array.isArray(target)) return structuredClone(patch)
    const result = target.map((item) => structuredClone(item))
    for (const item of patch) {
      if (!isObject(item)) continue
      const at = result.findIndex((existing) => isObject(existing) && existing[key] === item[key])
      if (item.$patch === 'delete') {
        if (at >= 0) result.splice(at, 1)
      } else if (at >= 0) result[at] = strategicMergePatch(result[at], item)
      else result.push(structuredClone(item))
    }
    return result
  }
  if (!isObject(patch)) return structuredClone(patch)
  if (patch.$patch === 'replace') {
    const {$patch: _, ...rest} = patch
    return structuredClone(rest)
  }
  const result: Record<string, Json> = isObject(target) ? {...target} : {}
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue
    if (value === null) delete result[key]
    else result[key] = strategicMergePatch(result[key], value, key)
  }
  return result
}

interface Operation {
  op: string
  path: string
  value?: Json
  from?: string
}

function pointer(path: string): string[] {
  if (path === '') return []
  if (!path.startsWith('/')) throw errors.badRequest(`invalid JSON pointer: ${path}`)
  return path.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function walk(doc: Json, parts: string[]): {parent: Record<string, Json> | Json[]; key: string} {
  let current = doc
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(current)) current = current[Number(part)]
    else if (isObject(current)) current = current[part]
    else current = undefined
    if (current === undefined) throw errors.internal(`jsonpatch: missing path ${parts.join('/')}`)
  }
  if (!isObject(current) && !Array.isArray(current)) throw errors.internal(`jsonpatch: bad path ${parts.join('/')}`)
  return {parent: current, key: parts[parts.length - 1]!}
}

function getAt(doc: Json, path: string): Json {
  let current = doc
  for (const part of pointer(path)) {
    if (Array.isArray(current)) current = current[Number(part)]
    else if (isObject(current)) current = current[part]
    else return undefined
  }
  return current
}

/** RFC 6902 JSON patch. */
export function jsonPatch(target: Json, ops: Operation[]): Json {
  if (!Array.isArray(ops)) throw errors.badRequest('the JSON patch must be an array of operations')
  let doc = structuredClone(target)
  for (const op of ops) {
    const parts = pointer(op.path)
    if (op.op === 'test') {
      if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value)) throw errors.internal(`testing value ${op.path} failed`)
      continue
    }
    const value = op.op === 'copy' || op.op === 'move' ? structuredClone(getAt(doc, op.from ?? '')) : structuredClone(op.value)
    if (op.op === 'move') doc = jsonPatch(doc, [{op: 'remove', path: op.from ?? ''}])
    if (parts.length === 0) {
      doc = value
      continue
    }
    const {parent, key} = walk(doc, parts)
    if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(key), 1)
      else if (key in parent) delete parent[key]
      else throw errors.internal(`jsonpatch remove operation does not apply: doc is missing key: ${op.path}`)
    } else if (op.op === 'add' || op.op === 'copy' || op.op === 'move') {
      if (Array.isArray(parent)) parent.splice(key === '-' ? parent.length : Number(key), 0, value)
      else parent[key] = value
    } else if (op.op === 'replace') {
      if (Array.isArray(parent)) parent[Number(key)] = value
      else if (key in parent) parent[key] = value
      else throw errors.internal(`jsonpatch replace operation does not apply: doc is missing key: ${op.path}`)
    } else throw errors.badRequest(`unexpected JSON patch operation "${op.op}"`)
  }
  return doc
}
