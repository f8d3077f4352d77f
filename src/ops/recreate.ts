// Recreating pods so they get new addresses: through their owners (what `kubectl rollout restart` does, one
// owner at a time, waiting until it is available again), or by eviction so PodDisruptionBudgets are honoured,
// one pod at a time, each replacement Ready before the next pod goes.
import type {ClusterApi} from '../cluster/kube.js'
import {isPodReady} from '../cluster/resources.js'
import type {KubeObject, PodDetail} from '../cluster/types.js'
import {waitFor} from '../cluster/watch.js'
import {notReadyReason} from '../connectivity/workload.js'
import {ApiError} from '../errors.js'
import {controllerOf, restartRefusal, ROLLOUT_PLURAL, type OwnerGroup, type OwnerRef, type RollableOwner} from './pods.js'

/**
 * restarted: rolled out and available. evicted: every pod evicted and replaced by a Ready one. removed: bare
 * pods evicted, which nothing recreates. refused: the owner would not roll (paused, OnDelete); nothing written.
 */
export type GroupStatus = 'restarted' | 'evicted' | 'removed' | 'listed' | 'refused' | 'blocked' | 'failed' | 'skipped'

export interface GroupOutcome {
  namespace: string
  owner: string
  pods: string[]
  status: GroupStatus
  message: string
}

export interface RecreateOptions {
  /** Marks this run's restarts: an owner that already carries it is not restarted again (a step run twice). */
  restartToken?: string
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


/** The run that restarted an owner, on its pod template (beside kubectl's restartedAt). */
export const RESTART_ANNOTATION = 'dualstack.kubectl.io/restarted-by-run'

/** How an owner is named in outcomes and notes. */
function ownerName(group: OwnerGroup): string {
  return group.owner ? `${group.owner.kind} ${group.namespace}/${group.owner.name}` : `bare pod(s) in ${group.namespace}`
}

async function rolloutRestart(client: ClusterApi, group: OwnerGroup, options: RecreateOptions): Promise<GroupOutcome> {
  const kind = group.owner!.kind
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(group.namespace)}/${ROLLOUT_PLURAL[kind]}/${encodeURIComponent(group.owner!.name)}`
  const base = {namespace: group.namespace, owner: ownerName(group), pods: group.pods}
  // Read before the patch: the owner may have been paused (or made OnDelete) since the plan, and a restart
  // that cannot roll would leave its annotation behind and wait out the whole timeout.
  const current = await client.getIfExists<RollableOwner>(path)
  if (!current) return {...base, status: 'skipped', message: 'gone before its turn: nothing to restart'}
  const refusal = restartRefusal(kind, group.namespace, group.owner!.name, current)
  if (refusal) return {...base, status: 'refused', message: `not restarted: ${refusal.why}; ${refusal.remedy}`}
  // The same change as kubectl rollout restart: a new template annotation makes the controller replace every
  // pod. A step run again (its answer was lost, the API server restarted) finds its own mark and only waits.
  const template = (current as {spec?: {template?: {metadata?: {annotations?: Record<string, string>}}}}).spec?.template
  if (!options.restartToken || template?.metadata?.annotations?.[RESTART_ANNOTATION] !== options.restartToken) {
    await client.request('PATCH', path, {contentType: 'application/strategic-merge-patch+json',
      body: {spec: {template: {metadata: {annotations: {'kubectl.kubernetes.io/restartedAt': new Date().toISOString(),
        ...(options.restartToken ? {[RESTART_ANNOTATION]: options.restartToken} : {})}}}}}})
  }
  const until = Math.min(options.deadline, Date.now() + options.readyTimeoutMs)
  let waiting: string | undefined = 'not read yet'
  const collection = `/apis/apps/v1/namespaces/${encodeURIComponent(group.namespace)}/${ROLLOUT_PLURAL[kind]}`
  const {result} = await waitFor<Workload, true>(client, collection, ([workload]) => {
    waiting = workload ? rolloutWaiting(kind, workload) : 'the owner is gone'
    return waiting === undefined ? true : undefined
  }, {deadline: until, stopped: options.stopped, fieldSelector: `metadata.name=${group.owner!.name}`})
  if (result) return {...base, status: 'restarted', message: 'rolled out and available'}
  if (options.stopped()) return {...base, status: 'failed', message: `${options.stopped()} while ${waiting}`}
  return {...base, status: 'failed', message: `not available after ${Math.round(options.readyTimeoutMs / 1000)}s: ${waiting}`}
}

type Pod = PodDetail & {metadata?: PodDetail['metadata'] & {ownerReferences?: Array<{kind: string; name: string; controller?: boolean}>}}

function podsPath(namespace: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`
}

function ownedBy(pod: Pod, owner: OwnerRef): boolean {
  const ref = controllerOf(pod)
  return ref?.kind === owner.kind && ref.name === owner.name
}

/** Ready and not on its way out: what counts as the owner's capacity. */
function serving(pod: Pod): boolean {
  return isPodReady(pod) && !pod.metadata?.deletionTimestamp
}

/** undefined: evicted. Otherwise why not: gone already, or a PodDisruptionBudget's refusal (429, reported, never forced). */
async function evictPod(client: ClusterApi, namespace: string, pod: string, uid: string | undefined): Promise<{gone: true} | {blocked: string} | undefined> {
  const path = `${podsPath(namespace)}/${encodeURIComponent(pod)}`
  try {
    await client.request('POST', `${path}/eviction`, {body: {apiVersion: 'policy/v1', kind: 'Eviction', metadata: {name: pod, namespace}}})
    return undefined
  } catch (error) {
    if (error instanceof ApiError && error.code === 404) return {gone: true}
    if (error instanceof ApiError && error.code === 429) return {blocked: error.message.replace(/^the API server is throttling requests: /, '')}
    // An answer lost on the way (a dropped connection, a 5xx): the eviction may have happened. A pod going or gone
    // was evicted, and its replacement is waited for as for any other; otherwise the step, run again, would find
    // it gone and evict the next pod at once, two of the owner's pods down together.
    if (!(error instanceof ApiError) || error.code >= 500) {
      const now = await client.getIfExists<Pod>(path).catch(() => 'unreadable' as const)
      if (now !== 'unreadable' && (!now || now.metadata?.deletionTimestamp || (uid !== undefined && now.metadata?.uid !== uid))) return undefined
    }
    throw error
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`
}

/**
 * Pods of another controller (a bare ReplicaSet, an operator's CRD), evicted one at a time: after each, the
 * wait lasts until a new Ready pod of the owner replaces it, or the owner has one more Ready pod than the
 * others had before, so that the owner never loses more than one pod at once.
 */
async function evictOwned(client: ClusterApi, group: OwnerGroup, options: RecreateOptions): Promise<GroupOutcome> {
  const owner = group.owner!
  const base = {namespace: group.namespace, owner: ownerName(group), pods: group.pods}
  const blocked: string[] = []
  const replaced: string[] = []
  // How many pods the owner wants, read once: a pod of the group may be gone already (a run killed after an eviction).
  const replicas = await desiredReplicas(client, group.namespace, owner)
  for (const [i, name] of group.pods.entries()) {
    const rest = group.pods.slice(i)
    const stop = options.stopped()
    if (stop) return {...base, status: 'failed', message: `${stop} after ${replaced.length} of ${group.pods.length} pod(s); not evicted: ${rest.join(', ')}`}
    let before = (await client.listAll<Pod>(podsPath(group.namespace))).filter((p) => ownedBy(p, owner))
    const target = before.find((p) => p.metadata?.name === name)
    // Gone already: its controller has its replacement in hand.
    if (!target) continue
    // One pod of an owner down at a time, also across runs (a resumed run after one was killed just after an
    // eviction): the owner's other pods are all Ready before this one goes.
    const down = (pods: Pod[]) => {
      // Finished pods (evicted by the kubelet, Failed) are no replicas: their controller has made others.
      const others = pods.filter((p) => ownedBy(p, owner) && p.metadata?.uid !== target.metadata?.uid && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      const missing = replicas === undefined ? 0 : Math.max(0, replicas - 1 - others.filter(serving).length)
      return {notReady: others.filter((p) => !serving(p)), missing}
    }
    const isDown = (d: ReturnType<typeof down>) => d.notReady.length > 0 || d.missing > 0
    // A target that is not serving costs no capacity to evict: only a serving one waits for the owner to be whole.
    if (serving(target) && isDown(down(before))) {
      let waiting = down(before)
      const {result: whole} = await waitFor<Pod, Pod[]>(client, podsPath(group.namespace), (pods) => {
        waiting = down(pods)
        return isDown(waiting) ? undefined : pods.filter((p) => ownedBy(p, owner))
      }, {deadline: Math.min(options.deadline, Date.now() + options.readyTimeoutMs), stopped: options.stopped})
      if (whole === undefined) {
        const stopped = options.stopped()
        const why = [...waiting.notReady.map((p) => `${p.metadata?.name} is ${p.metadata?.deletionTimestamp ? 'terminating' : notReadyReason(p)}`),
          ...(waiting.missing > 0 && waiting.notReady.length === 0 ? [`${waiting.missing} of its ${replicas} replica(s) missing`] : [])].join(', ')
        return {...base, status: 'failed', message: `${stopped ? `${stopped} while waiting` : `not evicting ${name}: after ${seconds(options.readyTimeoutMs)}`} another pod of ${ownerName(group)} is not Ready (${why}); not evicted: ${rest.join(', ')}`}
      }
      before = whole
    }
    const known = new Set(before.map((p) => p.metadata?.uid))
    const readyOthers = before.filter((p) => p !== target && serving(p)).length
    const evicted = await evictPod(client, group.namespace, name, target.metadata?.uid)
    if (evicted && 'blocked' in evicted) blocked.push(`${name} (${evicted.blocked})`)
    if (evicted) continue
    let seen = 'no replacement created yet'
    const {result} = await waitFor<Pod, string>(client, podsPath(group.namespace), (pods) => {
      const others = pods.filter((p) => ownedBy(p, owner) && p.metadata?.uid !== target.metadata?.uid)
      const fresh = others.filter((p) => !known.has(p.metadata?.uid))
      const replacement = fresh.find(serving)
      if (replacement) return `${name} by ${replacement.metadata?.name}`
      if (others.filter(serving).length > readyOthers) return name
      seen = fresh[0] ? `its replacement ${fresh[0].metadata?.name} is ${notReadyReason(fresh[0])}` : 'no replacement created yet'
      return undefined
    }, {deadline: Math.min(options.deadline, Date.now() + options.readyTimeoutMs), stopped: options.stopped})
    if (result === undefined) {
      const left = rest.length > 1 ? `; not evicted: ${rest.slice(1).join(', ')}` : ''
      const stopped = options.stopped()
      return {...base, status: 'failed', message: `${name} evicted; ${stopped ? `${stopped} while waiting: ${seen}` : `not replaced by a Ready pod after ${seconds(options.readyTimeoutMs)}: ${seen}`}${left}`}
    }
    replaced.push(result)
  }
  const done = replaced.length > 0 ? `replaced ${replaced.join(', ')}` : ''
  if (blocked.length > 0) return {...base, status: 'blocked', message: `eviction blocked by a PodDisruptionBudget: ${blocked.join(', ')}${done ? `; ${done}` : ''}`}
  if (replaced.length === 0) return {...base, status: 'evicted', message: 'nothing to evict: the pods were gone already (their controller replaces them)'}
  return {...base, status: 'evicted', message: `${replaced.length} pod(s) evicted one at a time, each replacement Ready before the next: ${done}`}
}

/** How many pods the owner wants, where its kind says (a ReplicaSet, a ReplicationController); else undefined. */
async function desiredReplicas(client: ClusterApi, namespace: string, owner: {kind: string; name: string}): Promise<number | undefined> {
  const path = owner.kind === 'ReplicaSet' ? `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets/${encodeURIComponent(owner.name)}`
    : owner.kind === 'ReplicationController' ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/replicationcontrollers/${encodeURIComponent(owner.name)}` : undefined
  if (!path) return undefined
  const found = await client.getIfExists<{spec?: {replicas?: number}}>(path).catch(() => undefined)
  return found?.spec?.replicas
}

/** Bare pods (--evict-bare): nothing replaces them, so each is waited for only until it is gone. */
async function evictBare(client: ClusterApi, group: OwnerGroup, options: RecreateOptions): Promise<GroupOutcome> {
  const base = {namespace: group.namespace, owner: ownerName(group), pods: group.pods}
  const blocked: string[] = []
  const removed: string[] = []
  for (const [i, name] of group.pods.entries()) {
    const rest = group.pods.slice(i)
    const stop = options.stopped()
    if (stop) return {...base, status: 'failed', message: `${stop} after ${removed.length} of ${group.pods.length} pod(s); not evicted: ${rest.join(', ')}`}
    const target = await client.getIfExists<Pod>(`${podsPath(group.namespace)}/${encodeURIComponent(name)}`)
    if (!target) continue
    const evicted = await evictPod(client, group.namespace, name, target.metadata?.uid)
    if (evicted && 'blocked' in evicted) blocked.push(`${name} (${evicted.blocked})`)
    if (evicted) continue
    let seen = 'still there'
    const {result} = await waitFor<Pod, true>(client, podsPath(group.namespace), ([pod]) => {
      // A pod of the same name made since is another pod: this one is gone.
      if (!pod || pod.metadata?.uid !== target.metadata?.uid) return true
      seen = pod.metadata?.deletionTimestamp ? 'still terminating' : 'still there'
      return undefined
    }, {deadline: Math.min(options.deadline, Date.now() + options.readyTimeoutMs), stopped: options.stopped, fieldSelector: `metadata.name=${name}`})
    if (!result) {
      const left = rest.length > 1 ? `; not evicted: ${rest.slice(1).join(', ')}` : ''
      const stopped = options.stopped()
      return {...base, status: 'failed', message: `${name} evicted; ${stopped ? `${stopped} while it was ${seen}` : `${seen} after ${seconds(options.readyTimeoutMs)}`}${left}`}
    }
    removed.push(name)
  }
  const done = `evicted, and not recreated (nothing recreates a bare pod): ${removed.length > 0 ? removed.join(', ') : 'none, they were gone already'}`
  if (blocked.length > 0) return {...base, status: 'blocked', message: `eviction blocked by a PodDisruptionBudget: ${blocked.join(', ')}${removed.length > 0 ? `; ${done}` : ''}`}
  return {...base, status: 'removed', message: done}
}

export async function recreateGroups(client: ClusterApi, groups: readonly OwnerGroup[], options: RecreateOptions): Promise<RecreateOutcome> {
  const outcomes: GroupOutcome[] = []
  const notes: string[] = []
  const acting = groups.filter((g) => g.action !== 'list').length
  let started = 0
  const skipRest = (from: number, message: string) => {
    for (const rest of groups.slice(from)) outcomes.push({namespace: rest.namespace, owner: ownerName(rest), pods: rest.pods, status: 'skipped', message})
  }
  for (const [i, group] of groups.entries()) {
    const name = ownerName(group)
    if (group.action === 'list') {
      outcomes.push({namespace: group.namespace, owner: name, pods: group.pods, status: 'listed', message: `not recreated: ${group.why}`})
      notes.push(`${name}: ${group.pods.join(', ')} not recreated (${group.why}); ${group.remedy ?? 'recreate them yourself, or pass --evict-bare'}`)
      continue
    }
    const stop = options.stopped()
    if (stop) {
      skipRest(i, stop)
      notes.push(`${stop}: ${groups.length - i} owner(s) not recreated`)
      return {outcomes, notes}
    }
    options.onProgress?.(`recreating ${name} (${++started} of ${acting})`)
    const outcome = group.action === 'rollout-restart' ? await rolloutRestart(client, group, options)
      : group.owner ? await evictOwned(client, group, options) : await evictBare(client, group, options)
    outcomes.push(outcome)
    if (outcome.status === 'blocked' || outcome.status === 'refused') notes.push(`${name}: ${outcome.message}`)
    if (outcome.status === 'removed') notes.push(`${name}: ${outcome.message}; create them again yourself if they are still wanted`)
    if (outcome.status === 'failed') {
      const stopped = options.stopped()
      skipRest(i + 1, stopped ?? `not started: ${name} did not come back`)
      return {outcomes, notes, error: `${name} ${outcome.message}`}
    }
  }
  return {outcomes, notes}
}
