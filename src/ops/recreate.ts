// Recreating pods so they get new addresses: through their owners (what `kubectl rollout restart` does, one
// owner at a time, waiting until it is available again), or by eviction so PodDisruptionBudgets are honoured.
import type {ClusterClient} from '../cluster/kube.js'
import type {KubeObject} from '../cluster/types.js'
import {waitFor} from '../cluster/watch.js'
import {ApiError} from '../errors.js'
import type {OwnerGroup} from './pods.js'

export type GroupStatus = 'restarted' | 'evicted' | 'listed' | 'blocked' | 'failed' | 'skipped'

export interface GroupOutcome {
  namespace: string
  owner: string
  pods: string[]
  status: GroupStatus
  message: string
}

export interface RecreateOptions {
  deadline: number
  readyTimeoutMs: number
  /** Why to stop before the next owner (Ctrl-C, timeout), if so. */
  stopped: () => string | undefined
  onProgress?: (line: string) => void
}

export interface RecreateOutcome {
  outcomes: GroupOutcome[]
  /** What is left for the user, one line each. */
  notes: string[]
  /** Set when an owner did not come back: recreation stopped there. */
  error?: string
}

const PLURAL: Record<string, string> = {Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets'}

interface Workload extends KubeObject {
  metadata?: KubeObject['metadata'] & {generation?: number}
  spec?: {replicas?: number}
  status?: {
    observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number; readyReplicas?: number
    desiredNumberScheduled?: number; updatedNumberScheduled?: number; numberAvailable?: number; currentRevision?: string; updateRevision?: string
  }
}

/** kubectl rollout status's test of a finished rollout, per kind; otherwise what it is waiting for. */
export function rolloutWaiting(kind: string, w: Workload): string | undefined {
  const s = w.status ?? {}
  if ((s.observedGeneration ?? 0) < (w.metadata?.generation ?? 0)) return 'waiting for the controller to see the change'
  if (kind === 'DaemonSet') {
    const want = s.desiredNumberScheduled ?? 0
    if ((s.updatedNumberScheduled ?? 0) < want) return `${s.updatedNumberScheduled ?? 0} of ${want} pods updated`
    if ((s.numberAvailable ?? 0) < want) return `${s.numberAvailable ?? 0} of ${want} updated pods available`
    return undefined
  }
  const want = w.spec?.replicas ?? 1
  if ((s.updatedReplicas ?? 0) < want) return `${s.updatedReplicas ?? 0} of ${want} replicas updated`
  if (kind === 'StatefulSet') {
    if ((s.readyReplicas ?? 0) < want) return `${s.readyReplicas ?? 0} of ${want} replicas ready`
    return s.updateRevision && s.currentRevision !== s.updateRevision ? 'waiting for the update revision to become current' : undefined
  }
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return `${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old replica(s) pending termination`
  if ((s.availableReplicas ?? 0) < want) return `${s.availableReplicas ?? 0} of ${want} updated replicas available`
  return undefined
}


async function rolloutRestart(client: ClusterClient, group: OwnerGroup, options: RecreateOptions): Promise<GroupOutcome> {
  const kind = group.owner!.kind
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(group.namespace)}/${PLURAL[kind]}/${encodeURIComponent(group.owner!.name)}`
  const base = {namespace: group.namespace, owner: `${kind} ${group.namespace}/${group.owner!.name}`, pods: group.pods}
  // The same change as kubectl rollout restart: a new template annotation makes the controller replace every pod.
  await client.request('PATCH', path, {contentType: 'application/strategic-merge-patch+json',
    body: {spec: {template: {metadata: {annotations: {'kubectl.kubernetes.io/restartedAt': new Date().toISOString()}}}}}})
  const until = Math.min(options.deadline, Date.now() + options.readyTimeoutMs)
  let waiting: string | undefined = 'not read yet'
  const collection = `/apis/apps/v1/namespaces/${encodeURIComponent(group.namespace)}/${PLURAL[kind]}`
  const {result} = await waitFor<Workload, true>(client, collection, ([workload]) => {
    waiting = workload ? rolloutWaiting(kind, workload) : 'the owner is gone'
    return waiting === undefined ? true : undefined
  }, {deadline: until, stopped: options.stopped, fieldSelector: `metadata.name=${group.owner!.name}`})
  if (result) return {...base, status: 'restarted', message: 'rolled out and available'}
  if (options.stopped()) return {...base, status: 'failed', message: `${options.stopped()} while ${waiting}`}
  return {...base, status: 'failed', message: `not available after ${Math.round(options.readyTimeoutMs / 1000)}s: ${waiting}`}
}

async function evict(client: ClusterClient, group: OwnerGroup): Promise<GroupOutcome> {
  const base = {namespace: group.namespace, owner: group.owner ? `${group.owner.kind} ${group.namespace}/${group.owner.name}` : `bare pods in ${group.namespace}`, pods: group.pods}
  const blocked: string[] = []
  for (const pod of group.pods) {
    try {
      await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(group.namespace)}/pods/${encodeURIComponent(pod)}/eviction`,
        {body: {apiVersion: 'policy/v1', kind: 'Eviction', metadata: {name: pod, namespace: group.namespace}}})
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) continue
      // 429: a PodDisruptionBudget allows no disruption now. Reported, never forced.
      if (error instanceof ApiError && error.code === 429) blocked.push(`${pod} (${error.message.replace(/^the API server is throttling requests: /, '')})`)
      else throw error
    }
  }
  if (blocked.length > 0) return {...base, status: 'blocked', message: `eviction blocked by a PodDisruptionBudget: ${blocked.join(', ')}`}
  return {...base, status: 'evicted', message: `${group.pods.length} pod(s) evicted${group.owner ? '; their controller recreates them' : ''}`}
}

export async function recreateGroups(client: ClusterClient, groups: readonly OwnerGroup[], options: RecreateOptions): Promise<RecreateOutcome> {
  const outcomes: GroupOutcome[] = []
  const notes: string[] = []
  const acting = groups.filter((g) => g.action !== 'list').length
  let started = 0
  for (const [i, group] of groups.entries()) {
    const name = group.owner ? `${group.owner.kind} ${group.namespace}/${group.owner.name}` : `bare pod(s) in ${group.namespace}`
    if (group.action === 'list') {
      outcomes.push({namespace: group.namespace, owner: name, pods: group.pods, status: 'listed', message: `not recreated: ${group.why}`})
      notes.push(`${name}: ${group.pods.join(', ')} not recreated (${group.why}); recreate them yourself, or pass --evict-bare`)
      continue
    }
    const stop = options.stopped()
    if (stop) {
      for (const rest of groups.slice(i)) outcomes.push({namespace: rest.namespace, owner: rest.owner ? `${rest.owner.kind} ${rest.namespace}/${rest.owner.name}` : `bare pods in ${rest.namespace}`, pods: rest.pods, status: 'skipped', message: stop})
      notes.push(`${stop}: ${groups.length - i} owner(s) not recreated`)
      return {outcomes, notes}
    }
    options.onProgress?.(`recreating ${name} (${++started} of ${acting})`)
    const outcome = group.action === 'rollout-restart' ? await rolloutRestart(client, group, options) : await evict(client, group)
    outcomes.push(outcome)
    if (outcome.status === 'blocked') notes.push(`${name}: ${outcome.message}`)
    if (outcome.status === 'failed') {
      for (const rest of groups.slice(i + 1)) outcomes.push({namespace: rest.namespace, owner: rest.owner ? `${rest.owner.kind} ${rest.namespace}/${rest.owner.name}` : `bare pods in ${rest.namespace}`, pods: rest.pods, status: 'skipped', message: `not started: ${name} did not come back`})
      return {outcomes, notes, error: `${name} ${outcome.message}`}
    }
  }
  return {outcomes, notes}
}
