// Paths and reads for the resources the commands use, on top of ClusterClient.
import {ApiError, UsageError} from '../errors.js'
import type {ClusterClient} from './kube.js'
import {waitFor} from './watch.js'
import type {DaemonSetObject, KubeObject, PodObject} from './types.js'

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
  let any = false
  for await (const page of client.listPages<PodObject>(path, {labelSelector: selection.labelSelector, fieldSelector: selection.fieldSelector})) {
    any ||= page.length > 0
    yield page
  }
  // A namespace that does not exist lists as empty, as kubectl says ("No resources found"): a typo in -n would
  // pass --require-dual. Asked only when nothing was found; a user who may not read namespaces is not refused.
  if (!any && selection.namespace !== undefined) await namespaceMustExist(client, selection.namespace)
}

export async function namespaceMustExist(client: ClusterClient, namespace: string): Promise<void> {
  let found: unknown
  try {
    found = await client.getIfExists(`/api/v1/namespaces/${encodeURIComponent(namespace)}`)
  } catch (error) {
    if (error instanceof ApiError && error.code === 403) return
    throw error
  }
  if (found === undefined) throw new UsageError(`namespace "${namespace}" does not exist`, 'check -n (see: kubectl get namespaces)')
}

export interface PodRef {
  namespace: string
  name: string
}

/** Creates a pod from a manifest (generateName allowed) and returns its name. */
export async function createPod(client: ClusterClient, namespace: string, manifest: Record<string, unknown>): Promise<PodRef> {
  const created = await client.request<PodObject>('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, {body: manifest})
  return {namespace, name: created.metadata?.name ?? ''}
}

export async function deletePod(client: ClusterClient, pod: PodRef): Promise<void> {
  await client.deleteConfirmed(`/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`, {gracePeriodSeconds: 0})
}

/** Watches until the pod is gone; answers the pod as last seen when it is still there at the deadline (Terminating behind a finalizer, say). */
export async function waitForPodGone(client: ClusterClient, pod: PodRef, timeoutMs: number): Promise<PodObject | undefined> {
  const {result, objects} = await waitFor<PodObject, true>(client, `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods`, (current) => (current.length === 0 ? true : undefined),
    {deadline: Date.now() + timeoutMs, fieldSelector: `metadata.name=${pod.name}`})
  return result ? undefined : objects[0]
}

export async function getPod(client: ClusterClient, pod: PodRef): Promise<PodObject> {
  return client.request<PodObject>('GET', `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`)
}

export function isPodReady(pod: PodObject): boolean {
  const status = pod.status as (PodObject['status'] & {conditions?: Array<{type: string; status: string}>}) | undefined
  return status?.phase === 'Running' && (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
}

/** Watches the pod until it is Ready; throws PodNotReadyError naming its last state. */
export async function waitForPodReady(client: ClusterClient, pod: PodRef, timeoutMs: number, onWait?: (state: string) => void): Promise<PodObject> {
  let state = 'not found'
  const {result} = await waitFor<PodObject, PodObject>(client, `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods`, ([current]) => {
    if (!current) return undefined
    if (isPodReady(current)) return current
    state = podState(current)
    onWait?.(state)
    return undefined
  }, {deadline: Date.now() + timeoutMs, fieldSelector: `metadata.name=${pod.name}`})
  if (result) return result
  throw new PodNotReadyError(`pod ${pod.namespace}/${pod.name} was not Ready after ${timeoutMs / 1000}s (${state})`)
}

export class PodNotReadyError extends Error {}

function podState(pod: PodObject): string {
  const status = pod.status as (PodObject['status'] & {containerStatuses?: Array<{state?: {waiting?: {reason?: string}}}>}) | undefined
  const waiting = status?.containerStatuses?.map((c) => c.state?.waiting?.reason).find((r) => r)
  return waiting ?? status?.phase ?? 'Pending'
}

/** Creates any namespaced (or cluster-scoped) object from its collection path; returns what the server stored. */
export async function createObject<T extends KubeObject>(client: ClusterClient, collectionPath: string, manifest: Record<string, unknown>): Promise<T> {
  return client.request<T>('POST', collectionPath, {body: manifest})
}

/** Deletes an object; a 404 is what we wanted anyway. */
export async function deleteObject(client: ClusterClient, objectPath: string): Promise<void> {
  await client.deleteConfirmed(objectPath, {propagationPolicy: 'Background'})
}

/** The calico-node DaemonSet and its namespace: kube-system for manifest/Helm installs, calico-system for the operator. */
export async function findCalicoNode(client: ClusterClient): Promise<{namespace: string; ds: DaemonSetObject} | undefined> {
  for (const namespace of ['kube-system', 'calico-system']) {
    const ds = await client.getIfExists<DaemonSetObject>(`/apis/apps/v1/namespaces/${namespace}/daemonsets/calico-node`)
    if (ds) return {namespace, ds}
  }
  return undefined
}
