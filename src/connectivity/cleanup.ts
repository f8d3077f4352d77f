// Removing what a connectivity run made, and waiting (bounded) until it is gone. A namespace stays Terminating
// while anything is left in it (a pod a finalizer holds, a pod on a node that is gone), and a pod with a
// finalizer outlives its DaemonSet: what is still there at the deadline is named, with the command that
// removes it, never passed over in silence.
import type {ClusterClient} from '../cluster/kube.js'
import {deleteObject} from '../cluster/resources.js'
import type {KubeObject} from '../cluster/types.js'
import {waitFor} from '../cluster/watch.js'
import {leftBehind, removal, stillTerminating} from '../pods/terminating.js'

export interface Made {
  kind: 'namespace' | 'service' | 'daemonset'
  path: string
  name: string
  namespace?: string
}

export interface NamespaceObject extends KubeObject {
  spec?: {finalizers?: string[]}
  status?: {phase?: string; conditions?: Array<{type: string; status: string; message?: string}>}
}

/** An object still there after the wait, as read then. */
export interface LeftObject {
  kind: 'pod' | 'daemonset' | 'service'
  namespace: string
  name: string
  finalizers: string[]
}

/** The kinds a run makes (pods through its DaemonSets), with their collection paths. */
const KINDS: ReadonlyArray<{kind: LeftObject['kind']; path: (ns: string) => string}> = [
  {kind: 'pod', path: (ns) => `/api/v1/namespaces/${ns}/pods`},
  {kind: 'daemonset', path: (ns) => `/apis/apps/v1/namespaces/${ns}/daemonsets`},
  {kind: 'service', path: (ns) => `/api/v1/namespaces/${ns}/services`},
]

/**
 * What to say of what is left `waitedMs` after it was deleted: each object with what holds it, and for a
 * namespace of the run's own, that it is Terminating and why (what is left in it, its own finalizers, or
 * the namespace controller's conditions when neither is to be seen).
 */
export function remainsMessages(left: readonly LeftObject[], waitedMs: number, ownNamespace?: {name: string; object: NamespaceObject}): string[] {
  const messages: string[] = []
  if (ownNamespace) {
    const {name, object} = ownNamespace
    const prefix = `namespace ${name} is still Terminating ${waitedMs / 1000}s after it was deleted`
    for (const item of left) {
      const {held, command} = removal(item.kind, item, item.finalizers)
      messages.push(`${prefix}: ${item.kind} ${item.namespace}/${item.name} is left in it${held}; ${command} (the namespace then goes too)`)
    }
    const finalizers = object.metadata?.finalizers ?? []
    if (finalizers.length > 0) messages.push(stillTerminating({name}, finalizers, waitedMs, 'namespace'))
    if (left.length === 0 && finalizers.length === 0) {
      const said = (object.status?.conditions ?? []).filter((c) => c.status === 'True' && c.message).map((c) => c.message)
      messages.push(`${prefix}: ${said.length > 0 ? said.join('; ') : 'the namespace controller has not emptied it yet'}; see what is left: kubectl get namespace ${name} -o yaml`)
    }
    return messages
  }
  return left.map((item) => stillTerminating(item, item.finalizers, waitedMs, item.kind))
}

export interface RemoveOptions {
  /** The run's namespace, and whether the run made it (then deleting it takes everything in it). */
  namespace: string
  created: boolean
  /** The run's label selector: in a namespace it did not make, only what carries it is the run's. */
  selector: string
  timeoutMs: number
  onLeftBehind?: (what: string) => void
}

/**
 * Deletes what the run made (each one tried, whatever happened to the one before), then waits until it is
 * gone: its namespace, or in a namespace it did not make its pods, DaemonSets and Services. What is left at
 * the deadline is named.
 */
export async function removeWorkload(client: ClusterClient, made: readonly Made[], options: RemoveOptions): Promise<void> {
  let deleted = 0
  for (const item of [...made].reverse()) {
    try {
      await deleteObject(client, item.path)
      deleted++
    } catch (error) {
      options.onLeftBehind?.(leftBehind(item.kind, item.name, item.namespace, error))
    }
  }
  if (deleted === 0) return
  const deadline = Date.now() + options.timeoutMs
  const ns = encodeURIComponent(options.namespace)
  const namespaceDeleted = options.created && made.some((m) => m.kind === 'namespace')
  try {
    if (namespaceDeleted) {
      const {result, objects} = await waitFor<NamespaceObject, true>(client, '/api/v1/namespaces', (items) => (items.length === 0 ? true : undefined),
        {deadline, fieldSelector: `metadata.name=${options.namespace}`})
      if (result || !objects[0]) return
      const left = await leftIn(client, ns, undefined)
      for (const message of remainsMessages(left, options.timeoutMs, {name: options.namespace, object: objects[0]})) options.onLeftBehind?.(message)
      return
    }
    for (const {path} of KINDS) {
      await waitFor<KubeObject, true>(client, path(ns), (items) => (items.length === 0 ? true : undefined), {deadline, labelSelector: options.selector})
    }
    const left = await leftIn(client, ns, options.selector)
    for (const message of remainsMessages(left, options.timeoutMs)) options.onLeftBehind?.(message)
  } catch (error) {
    options.onLeftBehind?.(`could not see whether what it made in namespace ${options.namespace} is gone (${(error as Error).message}); check with: kubectl get pods,daemonsets,services -n ${options.namespace} -l ${options.selector}`)
  }
}

async function leftIn(client: ClusterClient, ns: string, selector: string | undefined): Promise<LeftObject[]> {
  const left: LeftObject[] = []
  for (const {kind, path} of KINDS) {
    for (const obj of await client.listAll<KubeObject>(path(ns), selector ? {labelSelector: selector} : {})) {
      left.push({kind, namespace: decodeURIComponent(ns), name: obj.metadata?.name ?? '', finalizers: obj.metadata?.finalizers ?? []})
    }
  }
  return left
}
