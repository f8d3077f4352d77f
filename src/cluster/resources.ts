// Paths and reads for the resources the commands use, on top of ClusterClient.
import {UsageError} from '../errors.js'
import type {ClusterClient} from './kube.js'
import type {PodObject} from './types.js'

export interface PodSelection {
  /** undefined means all namespaces (-A). */
  namespace?: string
  name?: string
  labelSelector?: string
  fieldSelector?: string
}

/** Pods page by page: one named pod, or a (possibly cluster-wide) filtered list. */
export async function* podPages(client: ClusterClient, selection: PodSelection): AsyncGenerator<PodObject[]> {
  if (selection.name) {
    if (selection.namespace === undefined) {
      throw new UsageError('a pod cannot be retrieved by name across all namespaces', 'drop -A and pass -n NAMESPACE')
    }
    const ns = encodeURIComponent(selection.namespace)
    yield [await client.request<PodObject>('GET', `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(selection.name)}`)]
    return
  }
  const path = selection.namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(selection.namespace)}/pods`
  yield* client.listPages<PodObject>(path, {labelSelector: selection.labelSelector, fieldSelector: selection.fieldSelector})
}
