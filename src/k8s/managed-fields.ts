// metadata.managedFields: who last changed what, and when (kept by the API server since 1.18).
import type {KubeObject} from '../cluster/types.js'

interface ManagedFieldsEntry {
  manager?: string
  time?: string
  subresource?: string
  fieldsV1?: Record<string, unknown>
}

/** The newest managedFields entry that owns some of the object's data: when, and who, last changed it. */
export function dataLastChanged(obj: KubeObject & {metadata?: {managedFields?: ManagedFieldsEntry[]}}): {time: string; manager: string} | undefined {
  let last: {time: string; manager: string} | undefined
  for (const entry of obj.metadata?.managedFields ?? []) {
    if (!entry.time || Number.isNaN(Date.parse(entry.time)) || !entry.fieldsV1 || !('f:data' in entry.fieldsV1)) continue
    if (!last || Date.parse(entry.time) > Date.parse(last.time)) last = {time: entry.time, manager: entry.manager ?? 'unknown'}
  }
  return last
}
