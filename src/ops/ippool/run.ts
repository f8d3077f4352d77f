// ippool fix from start to end, on the repair engine: gather, plan, stop there on --dry-run, confirm, then
// the engine takes the Lease with the journal and runs the pool steps. Or, with --resume / --rollback, the
// engine reads the journal back (validated) and this shows what is left, counted now, before it goes on.
import {isDeepStrictEqual} from 'node:util'

import type {ClusterClient} from '../../cluster/kube.js'
import type {IPPoolSpec} from '../../cluster/types.js'
import {findCalicoNode} from '../../cluster/resources.js'
import {POOL_FIELDS} from '../../calico/pools.js'
import {DualstackError, ExitCode} from '../../errors.js'
import type {Family} from '../../net/ip.js'
import type {EngineOutcome, StepReport, StepStatus} from '../engine/executor.js'
import {stepReports} from '../engine/executor.js'
import type {InvalidJournal, Journal} from '../engine/journal.js'
import type {RepairClient, Step} from '../engine/steps.js'
import {groupByOwner} from '../pods.js'
import {parseCidr} from '../../net/ip.js'
import {isRefused, RepairEngine, type RepairDefinition, type RunSettings} from '../engine/run.js'
import {ensureBackupDir} from '../backup.js'
import type {Interaction} from '../interaction.js'
import type {Impact} from '../pods.js'
import {gatherPoolFix, readImpact, type IppoolFixOptions} from './gather.js'
import {poolDifferences, poolFromEnv, poolProblems} from '../../calico/pools.js'
import {UsageError} from '../../errors.js'
import {isRefusal, planPoolFix, plansFor, type Action, type Difference, type PoolFixPlan, type Strategy} from './plan.js'
import {originalProblem, POOL_KINDS, poolKey, RUN_ANNOTATION, specProblem} from './steps.js'

export type Result = 'fixed' | 'unchanged' | 'planned' | 'rolled-back' | 'failed' | 'refused'
export type ActionStatus = StepStatus
export type ActionReport = StepReport & {pool: string}

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
  impact: {cidr?: string; pods: string[]; tunnels: string[]; ipamBlocks?: number; leaked: string[]; ipamError?: string}
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

/** What the journal keeps of the plan besides its steps: enough to show it and to say how it ended. */
export interface PoolFixParams {
  family: Family
  pool: string
  strategy: Exclude<Strategy, 'none'>
  from: IPPoolSpec | null
  to: {name: string; spec: IPPoolSpec}
  wrong: Difference[]
  notes: string[]
  /** --evict-bare: a resumed run groups the pods it moves again, now, with the same choice. */
  evictBare?: boolean
}

function paramsProblem(value: unknown): string | undefined {
  const p = value as Partial<PoolFixParams> | null
  if (typeof p !== 'object' || p === null) return 'they are not an object'
  if (p.family !== 'ipv4' && p.family !== 'ipv6') return 'the family is not ipv4 or ipv6'
  if (typeof p.pool !== 'string') return 'the pool is not named'
  if (!['create', 'patch', 'recreate', 'migrate'].includes(p.strategy as string)) return 'the strategy is not one ippool fix has'
  if (p.from !== null && specProblem(p.from)) return `the pool as it was: ${specProblem(p.from)}`
  if (typeof p.to?.name !== 'string' || specProblem(p.to.spec)) return 'the pool wanted is not a pool'
  if (!Array.isArray(p.wrong) || !p.wrong.every((d) => (POOL_FIELDS as readonly string[]).includes(d?.field))) return 'what was wrong is not a list of pool fields'
  if (!Array.isArray(p.notes) || !p.notes.every((n) => typeof n === 'string')) return 'the notes are not text'
  if (p.evictBare !== undefined && typeof p.evictBare !== 'boolean') return 'evictBare is not true or false'
  return undefined
}

/** Canonical steps for comparison: as JSON holds them (no undefined fields), the pods to move aside. */
const comparable = (steps: readonly Step[]): unknown => JSON.parse(JSON.stringify(steps.map((s) => (s.kind === 'recreate-pods' ? {...s, groups: []} : s))))

/**
 * A journal read back is believed only as far as ippool fix would have planned it: its steps must be the ones
 * planned for its own parameters (one pool API, pools of the family it names, the pool it fixes and the one it
 * makes, nothing else), and the pods to move are grouped again from who holds the old pool's addresses now.
 */
async function rebuildPoolSteps(client: RepairClient, journal: Journal<PoolFixParams>, now: Record<string, unknown>): Promise<{steps: Step[]} | InvalidJournal> {
  const p = journal.params
  const apis = [...new Set(journal.steps.map((s) => (s as Action).api))]
  if (apis.length !== 1) return {invalid: 'its steps do not write through one pool API'}
  const familyOf = (cidr: string | undefined) => parseCidr(cidr ?? '')?.family
  if (familyOf(p.to.spec.cidr) !== p.family || (p.from && familyOf(p.from.cidr) !== p.family)) return {invalid: `its pools are not all of the family it names (${p.family})`}
  if ((p.strategy === 'create') !== (p.from === null)) return {invalid: `a ${p.strategy} ${p.from === null ? 'without' : 'with'} the pool as it was`}
  if ((p.strategy === 'migrate') === (p.to.name === p.pool)) return {invalid: `a ${p.strategy} ${p.strategy === 'migrate' ? 'into the pool it fixes' : `of ${p.pool} that makes ${p.to.name}`}`}
  const input = {api: apis[0] as Action['api'], pool: p.pool, from: p.from, to: p.to}
  const planned = plansFor(p.strategy, input).find((plan) => plan.commitAt === journal.commitAt && isDeepStrictEqual(comparable(plan.actions), comparable(journal.steps)))
  if (!planned) return {invalid: `its steps are not the ones ippool fix plans for a ${p.strategy} of ${p.pool} to ${p.to.name} (${p.to.spec.cidr})`}
  const original = journal.originals[poolKey(p.pool)] as {spec?: unknown} | undefined
  if (original && p.from && !isDeepStrictEqual(JSON.parse(JSON.stringify(original.spec ?? null)), JSON.parse(JSON.stringify(p.from)))) {
    return {invalid: `its original of IPPool ${p.pool} is not the pool its parameters say it was`}
  }
  const against = await againstCluster(client as ClusterClient, journal, planned)
  if (against) return {invalid: against}
  const steps = planned.actions.map((step) => step)
  const move = steps.findIndex((s) => s.kind === 'recreate-pods')
  if (move >= 0 && p.from) {
    const holders = await readImpact(client, p.from.cidr ?? '')
    // Whether bare pods go is this command line's choice (--evict-bare), never the journal's.
    steps[move] = {kind: 'recreate-pods', api: input.api, pool: p.pool, groups: groupByOwner(holders.pods, now.evictBare === true)}
  }
  return {steps}
}

/**
 * The journal's parameters against the cluster now: the pool it fixes is the one ippool fix picks for the
 * family (or, a recreate past its delete, gone), the pool it wants is what calico-node's env gives with that
 * range (a patch keeps the range) and valid beside the other pools, and a migration's last step deletes only
 * a disabled pool beside the enabled one it was migrated to. Why not, or undefined.
 */
async function againstCluster(client: ClusterClient, journal: Journal<PoolFixParams>, planned: {actions: Action[]}): Promise<string | undefined> {
  const p = journal.params
  let gathered
  try {
    gathered = await gatherPoolFix(client, {family: p.family, strategy: 'auto', force: false, recreatePods: false, evictBare: false})
  } catch (error) {
    if (error instanceof UsageError) return `the pool it wants is not one ippool fix would make: ${error.message}`
    throw error
  }
  if (isRefusal(gathered)) return `ippool fix would not fix a pool of this cluster: ${gathered.refused}`
  const {input} = gathered
  if (input.install.operator) return "ippool fix never writes the Tigera operator's pools"
  const pools = input.pools
  const named = (name: string) => pools.find((pool) => pool.metadata?.name === name)
  const picked = gathered.target?.metadata?.name
  const finishing = planned.actions.length === 2 && planned.actions[1]!.kind === 'delete-pool-if-unused'
  if (p.strategy === 'create') {
    if (named(p.pool) && named(p.pool)!.metadata?.annotations?.[RUN_ANNOTATION] !== journal.runId) return `IPPool ${p.pool} exists and this run did not create it`
  } else if (p.pool !== picked && !(!named(p.pool) && (p.strategy === 'recreate' ? journal.done >= 1 : p.strategy === 'migrate' && picked === p.to.name))) {
    // Gone is fine where the run itself deletes it: a recreate at or past its delete (its answer may be what was lost), a migration past its last step.
    return `IPPool ${p.pool} is not the ${p.family} pool ippool fix fixes here (${picked ?? 'there is none'})`
  }
  if (p.strategy === 'patch' && parseCidr(p.to.spec.cidr ?? '')?.text !== parseCidr(p.from?.cidr ?? '')?.text) return 'a patch that changes the pool\'s range'
  const desired = poolFromEnv(input.env ?? new Map(), p.family, p.to.spec.cidr)
  if ('problem' in desired) return `the pool it wants is not one calico-node would make: ${desired.problem}`
  const off = poolDifferences(p.strategy === 'patch' ? {...p.to.spec, cidr: desired.spec.cidr} : p.to.spec, desired.spec).filter((field) => field !== 'disabled' || p.to.spec.disabled === true)
  if (off.length > 0) return `the pool it wants differs from what calico-node's env gives now in ${off.join(', ')} (run ippool fix again to plan from the env as it is)`
  const others = pools.filter((pool) => pool.metadata?.name !== p.pool && pool.metadata?.name !== p.to.name)
  const problems = poolProblems(p.to.name, p.to.spec, others)
  if (problems.length > 0) return `the pool it wants is not valid: ${problems.join('; ')}`
  if (finishing) {
    const stale = named(p.pool)
    const wanted = named(p.to.name)
    if (stale && stale.spec?.disabled !== true) return `IPPool ${p.pool} is enabled: it is no migration's old pool`
    if (!wanted || wanted.spec?.disabled || poolDifferences(wanted.spec, desired.spec).length > 0) return `IPPool ${p.to.name} is not the enabled pool the migration made`
  }
  return undefined
}

export const POOL_FIX: RepairDefinition = {
  command: 'ippool fix', kinds: POOL_KINDS, resumable: true, validateParams: paramsProblem, validateOriginal: originalProblem,
  summarize: (p: PoolFixParams) => `${p.strategy} of ${p.pool}`, rebuild: rebuildPoolSteps as RepairDefinition['rebuild'],
}

function impactView(impact: Impact): PoolFixReport['impact'] {
  return {
    cidr: impact.cidr || undefined,
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

function withPools(reports: StepReport[], steps: readonly Action[]): ActionReport[] {
  return reports.map((r, i) => ({kind: r.kind, pool: steps[i]?.pool ?? '', title: r.title, status: r.status, ...(r.message ? {message: r.message} : {})}))
}

function planReport(client: ClusterClient, plan: PoolFixPlan): PoolFixReport {
  return {
    ...baseReport(client, plan.family), pool: plan.pool, apiVersion: plan.apiVersion,
    from: plan.from as Record<string, unknown> | null, to: plan.to as PoolFixReport['to'], wrong: plan.wrong, strategy: plan.strategy,
    impact: impactView(plan.impact), notes: plan.notes,
    actions: withPools(stepReports(POOL_KINDS, {steps: plan.actions, done: 0}), plan.actions),
    result: 'planned', message: '',
  }
}

/** What a journal says about its run, as a report (for --resume / --rollback), with the impact counted now. */
function journalReport(client: ClusterClient, journal: Journal<PoolFixParams>, impact: Impact): PoolFixReport {
  const p = journal.params
  return {
    ...baseReport(client, p.family), pool: p.pool, apiVersion: (journal.steps[0] as Action | undefined)?.api,
    from: (p.from as Record<string, unknown> | null), to: p.to as PoolFixReport['to'], wrong: p.wrong, strategy: p.strategy, notes: p.notes,
    impact: impactView(impact), actions: withPools(stepReports(POOL_KINDS, journal), journal.steps as Action[]),
  }
}

function successMessage(params: Pick<PoolFixParams, 'to' | 'wrong'>, steps: readonly Action[], reports: readonly StepReport[]): string {
  const {to} = params
  const others = params.wrong.filter((d) => d.field !== 'cidr').map((d) => `${d.field} ${String(d.to)}`)
  const done = `IPPool ${to.name} is ${to.spec.cidr}${others.length > 0 ? ` with ${others.join(', ')}` : ''}, as calico-node would create it`
  const deleted = steps.findIndex((s, i) => s.kind === 'delete-pool-if-unused' && s.pool !== to.name && reports[i]?.status === 'done' && reports[i]?.message?.endsWith(': deleted'))
  const old = steps[deleted]
  return old?.kind === 'delete-pool-if-unused' ? `${done}; the migration is complete: IPPool ${old.pool} (${old.cidr}) is deleted` : done
}

/** The engine's ending as ippool fix says it. */
function ended(report: PoolFixReport, params: PoolFixParams, steps: readonly Action[], outcome: EngineOutcome): PoolFixReport {
  const actions = withPools(outcome.steps, steps)
  const base = {...report, actions, backup: outcome.backups[0] ?? null, left: outcome.left}
  switch (outcome.result) {
    case 'done': return {...base, result: 'fixed', message: successMessage(params, steps, outcome.steps)}
    case 'stopped': return {...base, result: 'fixed', message: `${successMessage(params, steps, outcome.steps)} (${outcome.reason}; see what is left)`}
    case 'rolled-back': {
      const original = params.from ? `IPPool ${params.pool} is as it was` : `there is no ${params.family === 'ipv4' ? 'IPv4' : 'IPv6'} pool, as before`
      return {...base, result: 'rolled-back', message: `${outcome.reason}; everything done was undone${outcome.left.length > 0 ? ' as far as it is safe (see what is left)' : ''}: ${original}`}
    }
    case 'failed': return {...base, result: 'failed', message: outcome.message ?? outcome.reason ?? 'failed'}
  }
}

function settingsOf(options: RunPoolFixOptions, deadline: number): RunSettings {
  return {deadline, timeoutText: options.timeoutText, backupDir: options.backupDir, readyTimeoutMs: options.readyTimeoutMs, force: options.force,
    stopped: options.stopped, onProgress: options.onProgress}
}

export async function runPoolFix(client: ClusterClient, options: RunPoolFixOptions): Promise<PoolFixReport> {
  if (options.resume || options.rollback) return continuePoolFix(client, options)

  const gathered = await gatherPoolFix(client, options)
  if (isRefusal(gathered)) return {...baseReport(client, options.family), message: gathered.refused, hint: gathered.hint}
  // A run in progress, or one left half-done, comes first: never plan over it.
  const engine = new RepairEngine(client, POOL_FIX, gathered.namespace)
  const blocked = await engine.check(options.dryRun)
  if (blocked) return {...baseReport(client, options.family), pool: gathered.target?.metadata?.name ?? '', message: blocked.refused, hint: blocked.hint}

  const plan = planPoolFix(gathered.input)
  if (isRefusal(plan)) {
    return {...baseReport(client, options.family), pool: plan.pool ?? gathered.target?.metadata?.name ?? '', impact: impactView(gathered.input.impact), message: plan.refused, hint: plan.hint,
      ...(plan.wrong || plan.to ? {from: (plan.from ?? null) as PoolFixReport['from'], to: (plan.to ?? null) as PoolFixReport['to'], wrong: plan.wrong ?? []} : {})}
  }
  const report = planReport(client, plan)
  const creator = gathered.input.install.operator ? 'the Installation "default" asks' : 'calico-node would create'
  if (plan.strategy === 'none') return {...report, result: 'unchanged', actions: [], message: `nothing to do: IPPool ${plan.pool} already is what ${creator} (${plan.to.spec.cidr})`}
  const steps = {steps: plan.actions.map(journalAction), commitAt: plan.commitAt}
  const params: PoolFixParams = {family: plan.family, pool: plan.pool, strategy: plan.strategy as PoolFixParams['strategy'], from: plan.from, to: plan.to, wrong: plan.wrong, notes: plan.notes,
    evictBare: options.evictBare}
  const outcome = await engine.apply({plan: steps, params}, {
    dryRun: options.dryRun, what: 'ippool fix', notes: (notes) => report.notes.push(...notes),
    // Before the Lease: a backup directory that cannot be used is bad usage, said now, not half-way.
    prepare: async () => { if (plan.actions.some((a) => a.kind === 'backup')) await ensureBackupDir(options.backupDir) },
    show: () => options.showPlan(report), confirm: () => options.confirm(plan), settings: () => settingsOf(options, Date.now() + options.timeoutMs),
  })
  if (outcome === 'dry-run') return {...report, result: 'planned', message: `dry run: nothing was written (${plan.actions.length} actions planned)`}
  if (isRefused(outcome)) return {...report, result: 'refused', message: outcome.refused, hint: outcome.hint}
  return ended(report, params, plan.actions, outcome)
}

/** --resume / --rollback: what is left, counted now, shown and confirmed like any run (or only shown, on --dry-run). */
async function continuePoolFix(client: ClusterClient, options: RunPoolFixOptions): Promise<PoolFixReport> {
  const mode = options.resume ? 'resume' : 'rollback'
  const engine = new RepairEngine(client, POOL_FIX, await calicoNamespace(client))
  const loaded = await engine.load<PoolFixParams>(mode, {evictBare: options.evictBare})
  if (isRefused(loaded)) return {...baseReport(client, options.family), message: loaded.refused, hint: loaded.hint}
  const journal = loaded
  // A rollback takes the new pool away: count who holds it. A resume still has the old pool's pods to move.
  const cidr = mode === 'rollback' ? journal.params.to.spec.cidr : journal.params.from?.cidr
  const impact = cidr ? await readImpact(client, cidr) : {cidr: '', pods: [], tunnels: [], leaked: []}
  const report = journalReport(client, journal, impact)
  const what = `${mode === 'resume' ? 'resume' : 'roll back'}: ${engine.describe(journal, mode)}`
  const outcome = await engine.apply({journal, mode}, {
    dryRun: options.dryRun, what: `ippool fix --${mode}`, notes: (notes) => report.notes.push(...notes),
    show: () => options.showPlan({...report, result: 'planned', message: what}),
    confirm: async () => {
      await options.confirm({pool: journal.params.pool})
      options.onProgress?.(what)
    },
    settings: () => settingsOf(options, Date.now() + options.timeoutMs),
  })
  if (outcome === 'dry-run') return {...report, result: 'planned', message: `dry run: nothing was written; would ${what}`}
  if (isRefused(outcome)) return {...report, result: 'refused', message: outcome.refused, hint: outcome.hint}
  return ended(report, journal.params, journal.steps as Action[], outcome)
}

/**
 * The journal lives in a Lease annotation (annotations are capped at 256 KiB): a rollout needs only its
 * owner, so pod names are kept only where they are acted on one by one (eviction) or listed.
 */
function journalAction(action: Action): Action {
  if (action.kind !== 'recreate-pods') return action
  return {...action, groups: action.groups.map((g) => (g.action === 'rollout-restart' ? {...g, pods: [`${g.pods.length} pod(s)`]} : g))}
}

/** Calico's namespace (where the Lease lives), from the calico-node DaemonSet. */
async function calicoNamespace(client: ClusterClient): Promise<string> {
  const found = await findCalicoNode(client)
  if (!found) throw new DualstackError('Calico is not installed: no calico-node DaemonSet in kube-system or calico-system', ExitCode.ProblemsFound)
  return found.namespace
}

export const RESULT_EXIT: Record<Result, number> = {fixed: 0, unchanged: 0, planned: 0, refused: 1, 'rolled-back': 1, failed: 1}
