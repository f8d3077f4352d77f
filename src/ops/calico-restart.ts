// calico-restart: the runbook's "delete every calico pod in kube-system", node by node. Each node's
// calico-node pod is deleted and its replacement waited for until Ready before the next node, then
// calico-kube-controllers. No spec is edited, so manifest, Helm, operator and GitOps installs behave alike.
import type {ClusterApi, ClusterClient} from '../cluster/kube.js'
import {findCalicoNode, isPodReady} from '../cluster/resources.js'
import type {DaemonSetObject, KubeObject, PodDetail} from '../cluster/types.js'
import {ApiError, DualstackError, ExitCode} from '../errors.js'
import {whyNoDaemonPod, type DaemonPodSpec, type SchedulableNode} from '../k8s/daemon-pods.js'
import {releaseCommand} from '../pods/terminating.js'
import type {Interaction} from './interaction.js'
import {waitFor} from '../cluster/watch.js'
import type {EngineOutcome} from './engine/executor.js'
import {isRefused, RepairEngine, type RepairDefinition} from './engine/run.js'
import {objectKey, StepFailure, type WritingKind} from './engine/steps.js'

/** not-restarted: the node has no calico-node pod to restart (reason says why). */
export type NodeStatus = 'pending' | 'restarted' | 'failed' | 'skipped' | 'not-restarted'

export interface NodeRestart {
  node: string
  pod: string
  newPod?: string
  status: NodeStatus
  seconds?: number
  /** Why the node did not come back (phase, container state, last events), or has no pod to restart. */
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

type PodWithFinalizers = PodWithUid & {metadata?: PodWithUid['metadata'] & {deletionTimestamp?: string; finalizers?: string[]}}

/**
 * Why no replacement was made: the deleted pod is still there, Terminating (a finalizer holds it, or its kubelet
 * never confirmed), and the DaemonSet makes no new pod on the node until it is gone; or no new pod at all.
 */
export function noReplacementReason(old: PodWithFinalizers | undefined, namespace: string, node: string): string {
  if (!old?.metadata?.deletionTimestamp) return `no new pod was created on ${node || 'the node'}`
  const pod = {namespace, name: old.metadata.name ?? ''}
  const finalizers = old.metadata.finalizers ?? []
  const held = finalizers.length > 0 ? `its finalizers ${finalizers.join(', ')} hold it` : 'its kubelet has not confirmed the deletion (is the node down?)'
  return `no new pod was created on ${node || 'the node'}: pod ${namespace}/${pod.name}, deleted at ${old.metadata.deletionTimestamp}, is still Terminating (${held}), ` +
    `and the DaemonSet makes no new pod there until it is gone; release it: ${releaseCommand(pod, finalizers)}`
}

/** Why a pod is not Ready, in words: phase, the waiting container's reason and message, the last events. */
export async function notReadyReason(client: ClusterApi, pod: PodWithUid | undefined, namespace: string): Promise<string> {
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

/** One batch of calico-node pods (or calico-kube-controllers) deleted and waited for: a step of the repair engine. */
export interface RestartStep {
  kind: 'restart-pods'
  namespace: string
  component: 'calico-node' | 'calico-kube-controllers'
  selector: string
  /** The calico-node DaemonSet's uid: only its pods are counted as replacements. */
  ownerUid?: string
  pods: Array<{node: string; pod: string}>
  timeoutMs: number
}

const POD_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/

function restartStepProblem(step: Record<string, unknown>): string | undefined {
  if (step.namespace !== 'kube-system' && step.namespace !== 'calico-system') return 'the namespace is not Calico\'s'
  if (step.component !== 'calico-node' && step.component !== 'calico-kube-controllers') return 'the component is not Calico\'s'
  if (typeof step.selector !== 'string' || !/^[A-Za-z0-9._/=,-]{1,200}$/.test(step.selector)) return 'the selector is not a label selector'
  if (step.ownerUid !== undefined && typeof step.ownerUid !== 'string') return 'the owner is not a uid'
  if (!Array.isArray(step.pods) || !step.pods.every((p) => typeof p?.node === 'string' && typeof p?.pod === 'string' && POD_NAME.test(p.pod))) return 'the pods are not names'
  if (!Number.isInteger(step.timeoutMs) || (step.timeoutMs as number) <= 0) return 'the timeout is not a duration'
  return undefined
}

const restartPods: WritingKind<RestartStep> = {
  kind: 'restart-pods', writes: true,
  describe: (s) => (s.component === 'calico-node'
    ? `restart calico-node on ${s.pods.map((p) => p.node).join(', ')} (delete, wait until the replacement is Ready)`
    : `restart calico-kube-controllers (${s.pods.map((p) => p.pod).join(', ')})`),
  needs: (s) => [{verb: 'delete', group: '', resource: 'pods', namespace: s.namespace}, {verb: 'list', group: '', resource: 'pods', namespace: s.namespace}, {verb: 'watch', group: '', resource: 'pods', namespace: s.namespace}],
  touches: (s) => s.pods.map((p) => objectKey('pods', p.pod, s.namespace)),
  validate: restartStepProblem,
  undo: {irreversible: 'a deleted pod is replaced by its controller, not put back'},
  async apply(step, ctx) {
    const entries: NodeRestart[] = step.pods.map((p) => ({node: p.node, pod: p.pod, status: 'pending'}))
    const owned = (p: PodWithUid) => !step.ownerUid || ((p.metadata as {ownerReferences?: Array<{uid?: string}>} | undefined)?.ownerReferences?.some((r) => r.uid === step.ownerUid) ?? true)
    const failed = await restartBatch(ctx.client, `/api/v1/namespaces/${step.namespace}/pods`, step.selector, entries, step.namespace,
      {timeoutMs: step.timeoutMs, stopped: ctx.stopped, onProgress: ctx.onProgress}, owned, step.component !== 'calico-node')
    if (failed) {
      const stop = ctx.stopped()
      throw new StepFailure(stop ? `${stop} while waiting for ${step.component}${step.component === 'calico-node' ? ` on ${failed.node}` : ''}`
        : `${step.component}${step.component === 'calico-node' ? ` on ${failed.node}` : ''} did not become Ready within ${step.timeoutMs / 1000}s: ${failed.reason}`, entries)
    }
    return {detail: entries}
  },
}

export const CALICO_RESTART: RepairDefinition = {command: 'calico-restart', kinds: {'restart-pods': restartPods}, resumable: false, validateParams: () => undefined}

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
  // A node with no calico-node pod now is in the plan too, not restarted, with why.
  let allNodes: SchedulableNode[] | undefined
  try {
    allNodes = await client.listAll<SchedulableNode>('/api/v1/nodes')
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 403)) throw error
  }
  const withoutPod = allNodes ? withoutCalicoNode(allNodes, nodes, ds, namespace) : []
  const report: CalicoRestartReport = {
    context: client.target.context, server: client.target.server, namespace, mode: options.allAtOnce ? 'all-at-once' : 'rolling', maxUnavailable: options.maxUnavailable,
    nodes: [...nodes, ...withoutPod].sort((a, b) => a.node.localeCompare(b.node)),
    controllers: controllerPods.map((p) => ({node: p.spec?.nodeName ?? '', pod: p.metadata?.name ?? '', status: 'pending' as const})),
    result: 'planned', message: '', warnings: [],
  }
  if (!allNodes) report.warnings.push(`user "${client.target.user}" may not list nodes: a node with no calico-node pod is not shown (it is not restarted either)`)
  if (options.allAtOnce) report.warnings.push(`--all-at-once: every node's pod network is disrupted at the same time, as the runbook's loop does`)
  const engine = new RepairEngine(client, CALICO_RESTART, namespace)
  const blocked = await engine.check(options.dryRun)
  // The refusal says how to go on: the commands that finish (or undo) the run that holds things up.
  if (blocked) return {...report, result: 'refused', message: blocked.hint ? `${blocked.refused}; ${blocked.hint}` : blocked.refused}

  const batchSize = options.allAtOnce ? Math.max(1, nodes.length) : options.maxUnavailable
  const steps: RestartStep[] = []
  for (let start = 0; start < nodes.length; start += batchSize) {
    steps.push({kind: 'restart-pods', namespace, component: 'calico-node', selector: selectorOf(ds), ownerUid: ds.metadata?.uid,
      pods: nodes.slice(start, start + batchSize).map((n) => ({node: n.node, pod: n.pod})), timeoutMs: options.timeoutMs})
  }
  if (report.controllers.length > 0) {
    steps.push({kind: 'restart-pods', namespace, component: 'calico-kube-controllers', selector: 'k8s-app=calico-kube-controllers',
      pods: report.controllers.map((c) => ({node: c.node, pod: c.pod})), timeoutMs: options.timeoutMs})
  }
  const plan = {steps, commitAt: 0}
  const outcome = await engine.apply({plan, params: {maxUnavailable: options.maxUnavailable, allAtOnce: options.allAtOnce}}, {
    dryRun: options.dryRun, what: 'calico-restart', notes: (notes) => report.warnings.push(...notes.map((note) => note.replace('could not apply this plan', 'could not run this'))),
    show: () => options.showPlan(report), confirm: () => options.confirm(report),
    settings: () => ({deadline: Number.POSITIVE_INFINITY, timeoutText: `${options.timeoutMs / 1000}s`, backupDir: '', readyTimeoutMs: options.timeoutMs, force: false,
      stopped: options.stopped, onProgress: options.onProgress}),
  })
  if (outcome === 'dry-run') return {...report, message: `dry run: ${nodes.length} calico-node pod(s) and ${report.controllers.length} calico-kube-controllers pod(s) would be restarted${notRestartedText(withoutPod)}; nothing was changed`}
  if (isRefused(outcome)) return {...report, result: 'refused', message: outcome.hint ? `${outcome.refused}; ${outcome.hint}` : outcome.refused}
  return restartEnded(report, steps, outcome)
}

/**
 * The nodes with no calico-node pod of the DaemonSet now, each with why: the DaemonSet's nodeSelector, affinity or
 * tolerations keep it off the node, or its pod is not created yet.
 */
function withoutCalicoNode(all: readonly SchedulableNode[], withPod: readonly NodeRestart[], ds: DaemonSetObject, namespace: string): NodeRestart[] {
  const covered = new Set(withPod.map((n) => n.node))
  const spec = ds.spec?.template?.spec as DaemonPodSpec | undefined
  return all.filter((n) => !covered.has(n.metadata?.name ?? '')).map((n) => {
    const why = whyNoDaemonPod(spec, n)
    return {node: n.metadata?.name ?? '', pod: '', status: 'not-restarted' as const,
      reason: `no calico-node pod on it: ${why ?? `the DaemonSet should run one there but has not created it (yet): kubectl -n ${namespace} describe ds calico-node says why`}`}
  })
}

function notRestartedText(entries: readonly NodeRestart[]): string {
  return entries.length > 0 ? `; ${entries.length} node(s) have no calico-node pod and are not restarted: ${entries.map((e) => e.node).join(', ')}` : ''
}

/** The engine's ending as calico-restart says it: each node's line from its step, and how the run ended. */
function restartEnded(report: CalicoRestartReport, steps: readonly RestartStep[], outcome: EngineOutcome): CalicoRestartReport {
  const byPod = new Map([...report.nodes, ...report.controllers].filter((entry) => entry.pod).map((entry) => [entry.pod, entry]))
  outcome.steps.forEach((stepReport, i) => {
    const told = new Map(((stepReport.detail as NodeRestart[] | undefined) ?? []).map((entry) => [entry.pod, entry]))
    for (const {pod} of steps[i]!.pods) {
      const entry = byPod.get(pod)!
      // A step that failed on an API error (a delete refused) gave no account of its nodes: they failed with it.
      const untold = stepReport.status === 'failed' ? {status: 'failed' as const, reason: stepReport.message} : {status: stepReport.status === 'pending' || stepReport.status === 'skipped' ? 'skipped' : entry.status}
      Object.assign(entry, told.get(pod) ?? untold)
    }
  })
  const warnings = [...report.warnings, ...outcome.left]
  const restarted = report.nodes.filter((n) => n.status === 'restarted').length
  const withPod = report.nodes.filter((n) => n.status !== 'not-restarted')
  const without = notRestartedText(report.nodes.filter((n) => n.status === 'not-restarted'))
  if (outcome.result === 'done') {
    return {...report, warnings, result: 'restarted', message: `${withPod.length} calico-node pod(s) restarted node by node${report.controllers.length > 0 ? ', then calico-kube-controllers' : ''}${without}`}
  }
  if (outcome.result === 'stopped') {
    return {...report, warnings: warnings.filter((w) => !w.includes(' before: restart ')), result: 'failed',
      message: `${outcome.reason} after ${restarted} of ${withPod.length} nodes; the rest keep their running calico-node${without}`}
  }
  const failed = outcome.steps.find((s) => s.status === 'failed')
  const notRestarted = report.nodes.filter((n) => n.status === 'skipped').length
  // The step's own message names its node; an API error's does not, the engine's reason (the step's title) does.
  const said = failed?.detail !== undefined ? failed.message : outcome.reason ?? failed?.message
  return {...report, warnings, result: 'failed', message: `${said}; stopped there (${notRestarted} node(s) not restarted)`}
}

/**
 * Deletes the batch's pods and waits until each has a Ready replacement (same node for calico-node; any node
 * for the controllers' Deployment). Returns the first one that did not come back.
 */
async function restartBatch(client: ClusterApi, podsPath: string, selector: string, batch: NodeRestart[], namespace: string,
  options: Pick<CalicoRestartOptions, 'timeoutMs' | 'stopped' | 'onProgress'>, owned: (p: PodWithUid) => boolean, anyNode = false): Promise<NodeRestart | undefined> {
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
    const old = latest.find((p) => p.metadata?.name === entry.pod) as PodWithFinalizers | undefined
    entry.reason = options.stopped() ?? (candidate ? await notReadyReason(client, candidate, namespace) : noReplacementReason(old, namespace, entry.node))
  }
  return [...waiting][0]
}
