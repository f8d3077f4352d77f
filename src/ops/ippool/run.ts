// ippool fix from start to end: look for a run in progress or left half-done, plan, stop there on --dry-run,
// confirm, take the lock with the journal, execute. Or, with --resume / --rollback, finish a journal.
import {accessDenied, describeNeed, leaseNeeds, missingAccess, recreateNeeds, type AccessNeed} from '../../cluster/access.js'
import type {ClusterClient} from '../../cluster/kube.js'
import {findCalicoNode} from '../../cluster/resources.js'
import {DualstackError, ExitCode, UsageError} from '../../errors.js'
import type {Interaction} from '../interaction.js'
import {LockHeldError, RunLock} from '../lock.js'
import type {Impact} from '../pods.js'
import {describeAction, PoolFixExecutor, type ActionReport, type Journal, type Result} from './execute.js'
import {gatherPoolFix, poolApi, type IppoolFixOptions} from './gather.js'
import {isRefusal, planPoolFix, type Action, type Difference, type PoolFixPlan, type Strategy} from './plan.js'

export interface PoolFixReport {
  context: string
  server: string
  pool: string
  family: string
  apiVersion?: string
  from: Record<string, unknown> | null
  to: {name: string; spec: Record<string, unknown>} | null
  wrong: Difference[]
  strategy: Strategy | null
  impact: {pods: string[]; tunnels: string[]; ipamBlocks?: number; leaked: string[]; ipamError?: string}
  notes: string[]
  actions: ActionReport[]
  backup: string | null
  result: Result
  message: string
  left: string[]
  hint?: string
}

/** confirm asks the user (typed name) or checks --yes, with the plan already shown; showPlan shows it before any write. */
export interface RunPoolFixOptions extends IppoolFixOptions, Interaction<{pool: string}, PoolFixReport> {
  dryRun: boolean
  resume: boolean
  rollback: boolean
  backupDir: string
  timeoutMs: number
  timeoutText: string
  readyTimeoutMs: number
  /** Why to stop at the next safe point (Ctrl-C), if so. */
  stopped: () => string | undefined
}

function impactView(impact: Impact): PoolFixReport['impact'] {
  return {
    pods: impact.pods.map((p) => `${p.namespace}/${p.name}`),
    tunnels: impact.tunnels.map((t) => `${t.node} ${t.ip} (${t.type})`),
    ...(impact.blocks !== undefined ? {ipamBlocks: impact.blocks} : {}),
    leaked: impact.leaked.map((l) => `${l.ip} (${l.pod}, gone)`),
    ...(impact.ipamError ? {ipamError: impact.ipamError} : {}),
  }
}

function baseReport(client: ClusterClient, family: string): PoolFixReport {
  return {context: client.target.context, server: client.target.server, pool: '', family, from: null, to: null, wrong: [], strategy: null,
    impact: {pods: [], tunnels: [], leaked: []}, notes: [], actions: [], backup: null, result: 'refused', message: '', left: []}
}

function planReport(client: ClusterClient, plan: PoolFixPlan): PoolFixReport {
  return {
    ...baseReport(client, plan.family), pool: plan.pool, apiVersion: plan.apiVersion,
    from: plan.from as Record<string, unknown> | null, to: plan.to as PoolFixReport['to'], wrong: plan.wrong, strategy: plan.strategy,
    impact: impactView(plan.impact), notes: plan.notes,
    actions: plan.actions.map((a) => ({kind: a.kind, pool: a.pool, title: describeAction(a), status: 'pending' as const})),
    result: 'planned', message: '',
  }
}

/** What a journal says about its run, as a report (for --resume / --rollback). */
function journalReport(client: ClusterClient, journal: Journal): PoolFixReport {
  return {
    ...baseReport(client, journal.plan.family), pool: journal.plan.pool, apiVersion: journal.api?.apiVersion,
    from: (journal.original?.spec as Record<string, unknown> | undefined) ?? null, to: journal.plan.to as PoolFixReport['to'], wrong: journal.plan.wrong,
    strategy: journal.plan.strategy, notes: journal.plan.notes,
    actions: journal.plan.actions.map((a, i) => ({kind: a.kind, pool: a.pool, title: describeAction(a), status: i < journal.done ? 'done' as const : 'pending' as const})),
  }
}

function unfinishedText(journal: Journal): string {
  const at = journal.plan.actions[journal.done]
  return `a previous ippool fix (${journal.plan.strategy} of ${journal.plan.pool}, started ${journal.startedAt}) stopped ${journal.state === 'rolling-back' ? 'while rolling back' : 'half-way'}: ` +
    `${journal.done} of ${journal.plan.actions.length} actions done${at ? `, next: ${describeAction(at)}` : ''}${journal.error ? ` (${journal.error})` : ''}`
}

export async function runPoolFix(client: ClusterClient, options: RunPoolFixOptions): Promise<PoolFixReport> {
  const deadline = Date.now() + options.timeoutMs
  const holder = RunLock.holderFor('ippool fix', client.target.user)
  const executorOptions = (lock: RunLock) => ({target: client.target, backupDir: options.backupDir, deadline, timeoutText: options.timeoutText, lock,
    onProgress: options.onProgress, readyTimeoutMs: options.readyTimeoutMs, stopped: options.stopped})

  if (options.resume || options.rollback) {
    const namespace = await calicoNamespace(client)
    const lease = await RunLock.peek(client, namespace)
    if (lease?.held) return {...baseReport(client, options.family), message: new LockHeldError(lease, namespace).message, hint: 'wait for it to finish, or for the Lease to expire'}
    const left = lease?.journal as Journal | undefined
    if (!left || left.command !== 'ippool fix' || left.state === 'finished' || left.state === 'rolled-back') {
      throw new UsageError(`there is no unfinished ippool fix to ${options.resume ? 'resume' : 'roll back'} (no journal in Lease ${namespace}/kubectl-dualstack)`, 'run ippool fix without --resume/--rollback')
    }
    // Finishing or undoing writes too: show what is left and ask, as for any other run.
    const what = `${options.resume ? 'resume' : 'roll back'}: ${unfinishedText(left)}`
    const missing = await missingAccess(client, poolFixNeeds(left.plan.actions, left.api?.apiVersion ?? left.plan.apiVersion, namespace))
    if (missing.length > 0) throw accessDenied(client.target.user, `ippool fix --${options.resume ? 'resume' : 'rollback'}`, missing)
    options.showPlan({...journalReport(client, left), result: 'planned', message: what})
    await options.confirm({pool: left.plan.pool})
    let acquired
    try {
      acquired = await RunLock.acquire(client, namespace, holder, null)
    } catch (error) {
      if (error instanceof LockHeldError) return {...baseReport(client, options.family), result: 'refused', message: error.message, hint: 'wait for it to finish, or for the Lease to expire'}
      throw error
    }
    const journal = acquired.unfinished as Journal | undefined
    if (!journal || journal.command !== 'ippool fix') {
      await acquired.lock.release()
      return {...baseReport(client, options.family), result: 'refused', message: 'another run finished or took over the unfinished ippool fix in the meantime', hint: 'look again: kubectl dualstack ippool fix --dry-run'}
    }
    journal.api ??= await poolApi(client)
    const executor = new PoolFixExecutor(client, journal, executorOptions(acquired.lock))
    options.onProgress?.(what)
    journal.state = 'running'
    const outcome = options.resume ? await executor.run() : await executor.rollback('--rollback asked for', journal.done)
    return {...journalReport(client, journal), actions: outcome.actions, backup: outcome.backup ?? null, result: outcome.result, message: outcome.message, left: outcome.left}
  }

  const gathered = await gatherPoolFix(client, options)
  if (isRefusal(gathered)) return {...baseReport(client, options.family), message: gathered.refused, hint: gathered.hint}

  // A run in progress, or one left half-done, comes first: never plan over it.
  const lease = await RunLock.peek(client, gathered.namespace)
  if (lease?.held) return {...baseReport(client, options.family), message: new LockHeldError(lease, gathered.namespace).message, hint: 'wait for it to finish'}
  // Only a pool fix leaves something to finish; another command's journal (calico-restart) is just history.
  const left = lease?.journal as Journal | undefined
  if (left && left.command === 'ippool fix' && left.state !== 'finished' && left.state !== 'rolled-back') {
    return {...baseReport(client, options.family), pool: left.plan?.pool ?? '', message: unfinishedText(left),
      hint: 'finish it with --resume, or put the original back with --rollback'}
  }

  const plan = planPoolFix(gathered.input)
  if (isRefusal(plan)) return {...baseReport(client, options.family), pool: gathered.target?.metadata?.name ?? '', impact: impactView(gathered.input.impact), message: plan.refused, hint: plan.hint}
  const report = planReport(client, plan)
  if (plan.strategy === 'none') return {...report, result: 'unchanged', actions: [], message: `nothing to do: IPPool ${plan.pool} already is what calico-node would create (${plan.to.spec.cidr})`}
  const missing = await missingAccess(client, poolFixNeeds(plan.actions, plan.apiVersion, gathered.namespace))
  if (options.dryRun) {
    const notes = missing.length > 0 ? [...report.notes, `user "${client.target.user}" could not apply this plan: missing ${missing.map(describeNeed).join(', ')}`] : report.notes
    return {...report, notes, result: 'planned', message: `dry run: nothing was written (${plan.actions.length} actions planned)`}
  }
  if (missing.length > 0) throw accessDenied(client.target.user, 'ippool fix', missing)

  options.showPlan(report)
  await options.confirm(plan)

  const journal: Journal = {
    version: 1, command: 'ippool fix', context: client.target.context, server: client.target.server, startedAt: new Date().toISOString(), api: gathered.api,
    plan: {...plan, actions: plan.actions.map(journalAction), impact: {pods: plan.impact.pods.length, tunnels: plan.impact.tunnels.length}}, original: null, done: 0, state: 'running',
  }
  let acquired
  try {
    acquired = await RunLock.acquire(client, gathered.namespace, holder, journal)
  } catch (error) {
    if (error instanceof LockHeldError) return {...report, result: 'refused', message: error.message, hint: 'wait for it to finish'}
    throw error
  }
  if ((acquired.unfinished as Journal | undefined)?.command === 'ippool fix') {
    await acquired.lock.release(acquired.unfinished)
    return {...report, result: 'refused', message: unfinishedText(acquired.unfinished as Journal), hint: 'finish it with --resume, or put the original back with --rollback'}
  }
  const executor = new PoolFixExecutor(client, journal, executorOptions(acquired.lock))
  const outcome = await executor.run()
  return {...report, actions: outcome.actions, backup: outcome.backup ?? null, result: outcome.result, message: outcome.message, left: outcome.left}
}

/**
 * The journal lives in a Lease annotation (annotations are capped at 256 KiB): a rollout needs only its
 * owner, so pod names are kept only where they are acted on one by one (eviction) or listed.
 */
function journalAction(action: Action): Action {
  if (action.kind !== 'recreate-pods') return action
  return {...action, groups: action.groups.map((g) => (g.action === 'rollout-restart' ? {...g, pods: [`${g.pods.length} pod(s)`]} : g))}
}

/** What applying these actions asks of RBAC: the pool writes, the Lease, and recreating pods. */
export function poolFixNeeds(actions: Action[], apiVersion: string | undefined, namespace: string): AccessNeed[] {
  const group = apiVersion?.startsWith('projectcalico.org/') ? 'projectcalico.org' : 'crd.projectcalico.org'
  const verbs: Record<Action['kind'], string[]> = {
    'backup': ['get'], 'create-pool': ['create'], 'update-pool': ['get', 'update'], 'delete-pool': ['delete'], 'verify-pool': ['get'],
    'recreate-pods': [], 'delete-pool-if-unused': ['get', 'delete'],
  }
  return [
    ...leaseNeeds(namespace),
    ...actions.flatMap((action) => verbs[action.kind].map((verb) => ({verb, group, resource: 'ippools'}))),
    ...actions.flatMap((action) => (action.kind === 'recreate-pods' ? recreateNeeds(action.groups) : [])),
  ]
}

/** Calico's namespace (where the Lease lives), from the calico-node DaemonSet. */
async function calicoNamespace(client: ClusterClient): Promise<string> {
  const found = await findCalicoNode(client)
  if (!found) throw new DualstackError('Calico is not installed: no calico-node DaemonSet in kube-system or calico-system', ExitCode.ProblemsFound)
  return found.namespace
}

export const RESULT_EXIT: Record<Result, number> = {fixed: 0, unchanged: 0, planned: 0, refused: 1, 'rolled-back': 1, failed: 1}
