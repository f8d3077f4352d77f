// Waiting for the cluster to reach a state, as controllers and kubectl wait do: list once, then watch from
// the list's resourceVersion. A watch that ends (the server's timeout, a dropped connection) resumes from the
// last resourceVersion seen; one that is too old (410 Gone, as an HTTP status or an ERROR event) lists again.
import {ApiError, ExitCode} from '../errors.js'
import type {ClusterApi} from './kube.js'
import {retryDelay} from './retry.js'
import type {KubeList, KubeObject} from './types.js'

export interface WaitOptions {
  /** Epoch ms after which the wait gives up. */
  deadline: number
  /** A reason to stop early (Ctrl-C), polled while waiting. */
  stopped?: () => string | undefined
  labelSelector?: string
  fieldSelector?: string
}

export interface WaitOutcome<T, R> {
  /** What `check` returned; undefined when the deadline came or the wait was stopped first. */
  result?: R
  /** The objects as last seen. */
  objects: T[]
}

interface StatusObject {
  code?: number
  message?: string
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`
}

/** Waits until `check(objects)` returns something other than undefined, over the objects of a collection. */
export async function waitFor<T extends KubeObject, R>(client: ClusterApi, collectionPath: string, check: (objects: T[]) => R | undefined, options: WaitOptions): Promise<WaitOutcome<T, R>> {
  const selectors = {labelSelector: options.labelSelector, fieldSelector: options.fieldSelector}
  const objects = new Map<string, T>()
  let resourceVersion: string | undefined
  const done = () => Date.now() >= options.deadline || options.stopped?.() !== undefined

  const relist = async (): Promise<R | undefined> => {
    const list = await client.request<KubeList<T>>('GET', collectionPath, {query: selectors})
    objects.clear()
    for (const item of list.items ?? []) objects.set(keyOf(item), item)
    resourceVersion = list.metadata?.resourceVersion
    return check([...objects.values()])
  }

  let result: R | undefined = await relist()
  let failures = 0
  while (result === undefined && !done()) {
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), Math.max(0, options.deadline - Date.now()))
    const poll = setInterval(() => {
      if (options.stopped?.() !== undefined) abort.abort()
    }, 200)
    try {
      const timeoutSeconds = Math.max(1, Math.min(300, Math.ceil((options.deadline - Date.now()) / 1000)))
      for await (const event of client.watch<T>(collectionPath, {...selectors, resourceVersion, allowWatchBookmarks: true, timeoutSeconds}, abort.signal)) {
        if (event.type === 'ERROR') {
          const status = event.object as StatusObject
          if (status.code === 410) throw new ApiError(status.message ?? 'resource version too old', 410, 'Expired', ExitCode.ClusterUnavailable)
          throw new ApiError(`the watch failed: ${status.message ?? 'no message'}`, status.code ?? 500, undefined, ExitCode.ClusterUnavailable)
        }
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion
        if (event.type === 'BOOKMARK') continue
        if (event.type === 'DELETED') objects.delete(keyOf(event.object))
        else objects.set(keyOf(event.object), event.object)
        failures = 0
        result = check([...objects.values()])
        if (result !== undefined) break
      }
    } catch (error) {
      if (error instanceof ApiError && error.code === 410) {
        result = await relist()
      } else {
        // A watch that could not open or broke: resume from resourceVersion after a backoff, as for a read.
        failures++
        const delay = retryDelay({method: 'GET', status: error instanceof ApiError ? error.code : 503}, Math.min(failures, 4), 0)
        if (delay === undefined || failures > 20) throw error
        await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, options.deadline - Date.now()))))
      }
    } finally {
      clearTimeout(timer)
      clearInterval(poll)
      abort.abort() // leaves no watch open behind a result
    }
  }
  return {result, objects: [...objects.values()]}
}
