// calico-restart: the runbook's "delete every calico pod in kube-system", node by node. Each node's
// calico-node pod is deleted and its replacement waited for until Ready before the next node, then
// calico-kube-controllers. No spec is edited, so manifest, Helm, operator and GitOps installs behave alike.
import type {ClusterClient} from '../cluster/kube.js'
import {findCalicoNode, isPodReady} from '../cluster/resources.js'
import type {DaemonSetObject, KubeObject, PodDetail} from '../cluster/types.js'
import {DualstackError, ExitCode} from '../errors.js'
import type {Interaction} from './interaction.js'
import {LockHeldError, RunLock} from './lock.js'
import {waitFor} from '../cluster/watch.js'
import {accessDenied, describeNeed, leaseNeeds, missingAccess} from '../cluster/access.js'

export type NodeStatus = 'pending' | 'restarted' | 'failed' | 'skipped'

export interface NodeRestart {
  node: string
  pod: string
  newPod?: string
  status: NodeStatus
  seconds?: number
  /** Why the node did not come back: phase, container state, last events. */
  reason?: string
}

export type RestartResult = 'restarted' | 'planned' | 'failed' | 'refused'

export interface CalicoRestartReport {
  context: string
  server: string
  namespace: string
  mode: 'rolling' | 'all-at-once'
  maxUnavailable: number
  nodes: NodeRestart[]
  controllers: NodeRestart[]
  result: RestartResult
  message: string
  warnings: string[]
}

export interface CalicoRestartOptions extends Interaction<CalicoRestartReport, CalicoRestartReport> {
  maxUnavailable: number
  allAtOnce: boolean
  dryRun: boolean
  /** How long each node's (or batch's) new pod may take to be Ready. */
  timeoutMs: number
  stopped: () => string | undefined
}

interface EventObject extends KubeObject {
  reason?: string
  message?: string
  lastTimestamp?: string
  eventTime?: string
  count?: number
}

type PodWithUid = PodDetail & {metadata?: PodDetail['metadata'] & {uid?: string}}


function selectorOf(ds: DaemonSetObject & {spec?: {selector?: {matchLabels?: Record<string, string>}}}): string {
  const labels = ds.spec?.selector?.matchLabels ?? {'k8s-app': 'calico-node'}
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')
}

/** Why a pod is not Ready, in words: phase, the waiting container's reason and message, the last events. */
export async function notReadyReason(client: ClusterClient, pod: PodWithUid | undefined, namespace: string): Promise<string> {
  if (!pod) return 'no new pod was created on the node'
  const status = pod.status as (PodDetail['status'] & {containerStatuses?: Array<{name: string; state?: {waiting?: {reason?: string; message?: string}; terminated?: {reason?: string}}}>}) | undefined
  const parts = [`phase ${status?.phase ?? 'Pending'}`]
  for (const c of status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting
    if (waiting?.reason) parts.push(`container ${c.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`)
  }
  try {
    const events = await client.listAll<EventObject>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
      {fieldSelector: `involvedObject.name=${pod.metadata?.name ?? ''}`})
    const last = events.sort((a, b) => (a.lastTimestamp ?? a.eventTime ?? '').localeCompare(b.lastTimestamp ?? b.eventTime ?? '')).slice(-3)
    if (last.length > 0) parts.push(`events: ${last.map((e) => `${e.reason}: ${e.message}`).join('; ')}`)
  } catch {
    // Events are a help, not a need (RBAC may not allow them).
  }
  return parts.join('; ')
}

export async function runCalicoRestart(client: ClusterClient, options: CalicoRestartOptions): Promise<CalicoRestartReport> {
  const found = await findCalicoNode(client)
  if (!found) throw new DualstackError('no calico-node DaemonSet in kube-system or calico-system', ExitCode.ProblemsFound, 'is Calico installed? (kubectl dualstack doctor --only calico.installed)')
  const {ds, namespace} = found
  const podsPath = `/api/v1/namespaces/${namespace}/pods`
  const owned = (p: PodWithUid) => (p.metadata as {ownerReferences?: Array<{uid?: string}>} | undefined)?.ownerReferences?.some((r) => r.uid === ds.metadata?.uid) ?? true
  const calicoPods = (await client.listAll<PodWithUid>(podsPath, {labelSelector: selectorOf(ds)})).filter(owned)
  const controllerPods = await client.listAll<PodWithUid>(podsPath, {labelSelector: 'k8s-app=calico-kube-controllers'})
  const nodes: NodeRestart[] = calicoPods
    .map((p) => ({node: p.spec?.nodeName ?? '', pod: p.metadata?.name ?? '', status: 'pending' as const}))
    .sort((a, b) => a.node.localeCompare(b.node))
  const report: CalicoRestartReport = {
    context: client.target.context, server: client.target.server, namespace, mode: options.allAtOnce ? 'all-at-once' : 'rolling', maxUnavailable: options.maxUnavailable,
    nodes, controllers: controllerPods.map((p) => ({node: p.spec?.nodeName ?? '', pod: p.metadata?.name ?? '', status: 'pending' as const})),
    result: 'planned', message: '', warnings: [],
  }
  if (options.allAtOnce) report.warnings.push(`--all-at-once: every node's pod network is disrupted at the same time, as the runbook's loop does`)
  const missing = await missingAccess(client, [...leaseNeeds(namespace), {verb: 'delete', group: '', resource: 'pods', namespace}])
  if (missing.length > 0 && !options.dryRun) throw accessDenied(client.target.user, 'calico-restart', missing)
  if (missing.length > 0) report.warnings.push(`user "${client.target.user}" could not run this: missing ${missing.map(describeNeed).join(', ')}`)
  if (options.dryRun) return {...report, message: `dry run: ${nodes.length} calico-node pod(s) and ${report.controllers.length} calico-kube-controllers pod(s) would be restarted; nothing was changed`}
  options.showPlan(report)
  await options.confirm(report)

  const holder = RunLock.holderFor('calico-restart', client.target.user)
  let lock: RunLock
  try {
    const acquired = await RunLock.acquire(client, namespace, holder, {version: 1, command: 'calico-restart', state: 'running', startedAt: new Date().toISOString()})
    const left = acquired.unfinished as {command?: string} | undefined
    if (left?.command === 'ippool fix') {
      // A pool fix stopped half-way comes first: its journal stays for --resume / --rollback.
      await acquired.lock.release(left)
      return {...report, result: 'refused', message: 'an ippool fix stopped half-way on this cluster', warnings: ['finish it first: kubectl dualstack ippool fix --resume (or --rollback)']}
    }
    lock = acquired.lock
  } catch (error) {
    if (error instanceof LockHeldError) return {...report, result: 'refused', message: error.message}
    throw error
  }
  try {
    const batchSize = options.allAtOnce ? nodes.length : options.maxUnavailable
    for (let start = 0; start < nodes.length; start += batchSize) {
      const stop = options.stopped()
      if (stop) return finish(report, 'failed', `${stop} after ${start} of ${nodes.length} nodes; the rest keep their running calico-node`)
      const batch = nodes.slice(start, start + batchSize)
      const failed = await restartBatch(client, podsPath, selectorOf(ds), batch, namespace, options, (p) => owned(p))
      options.onProgress?.(`calico-node: ${Math.min(start + batchSize, nodes.length)} of ${nodes.length} nodes restarted`)
      if (failed) {
        for (const n of nodes.slice(start + batchSize)) n.status = 'skipped'
        report.controllers.forEach((c) => (c.status = 'skipped'))
        return finish(report, 'failed', `calico-node on ${failed.node} did not become Ready within ${options.timeoutMs / 1000}s: ${failed.reason}; stopped there (${nodes.length - start - batch.length} node(s) not restarted)`)
      }
      await lock.record({version: 1, command: 'calico-restart', state: 'running', done: start + batch.length, of: nodes.length}).catch(() => undefined)
    }
    if (report.controllers.length > 0) {
      const failed = await restartBatch(client, podsPath, 'k8s-app=calico-kube-controllers', report.controllers, namespace, options, () => true, true)
      if (failed) return finish(report, 'failed', `calico-kube-controllers did not become Ready within ${options.timeoutMs / 1000}s: ${failed.reason}`)
    }
    return finish(report, 'restarted', `${nodes.length} calico-node pod(s) restarted node by node${report.controllers.length > 0 ? ', then calico-kube-controllers' : ''}`)
  } catch (error) {
    // The run ends in an error, not a report: what the release could not do is said here, or nowhere.
    const problem = await lock.release()
    if (problem) options.onProgress?.(`warning: ${problem}`)
    throw error
  } finally {
    const problem = await lock.release()
    if (problem) report.warnings.push(problem)
  }
}

function finish(report: CalicoRestartReport, result: RestartResult, message: string): CalicoRestartReport {
  return {...report, result, message}
}

/**
 * Deletes the batch's pods and waits until each has a Ready replacement (same node for calico-node; any node
 * for the controllers' Deployment). Returns the first one that did not come back.
 */
async function restartBatch(client: ClusterClient, podsPath: string, selector: string, batch: NodeRestart[], namespace: string,
  options: CalicoRestartOptions, owned: (p: PodWithUid) => boolean, anyNode = false): Promise<NodeRestart | undefined> {
  const started = Date.now()
  for (const entry of batch) await client.deleteConfirmed(`${podsPath}/${encodeURIComponent(entry.pod)}`)
  const deadline = started + options.timeoutMs
  const waiting = new Set(batch)
  const {objects} = await waitFor<PodWithUid, true>(client, podsPath, (pods) => {
    const latest = pods.filter(owned)
    for (const entry of [...waiting]) {
      const replacement = latest.find((p) => p.metadata?.name !== entry.pod && (anyNode || p.spec?.nodeName === entry.node) && isPodReady(p) &&
        !batch.some((b) => b !== entry && b.newPod === p.metadata?.name))
      if (replacement) {
        entry.newPod = replacement.metadata?.name
        entry.status = 'restarted'
        entry.seconds = Math.round((Date.now() - started) / 100) / 10
        waiting.delete(entry)
        options.onProgress?.(`  ${entry.node || entry.pod}: ${entry.pod} -> ${entry.newPod} Ready in ${entry.seconds}s`)
      }
    }
    return waiting.size === 0 ? true : undefined
  }, {deadline, stopped: options.stopped, labelSelector: selector})
  const latest = objects.filter(owned)
  for (const entry of waiting) {
    const candidate = latest.find((p) => p.metadata?.name !== entry.pod && (anyNode || p.spec?.nodeName === entry.node))
    entry.newPod = candidate?.metadata?.name
    entry.status = 'failed'
    entry.reason = options.stopped() ?? await notReadyReason(client, candidate, namespace)
  }
  return [...waiting][0]
}
