// Applies a pool-fix plan action by action. Each action re-reads before it writes, so running it twice (a
// resumed run, a retried step) does no harm; the journal in the Lease is written after each one. A failure,
// timeout or Ctrl-C before the commit point undoes what was done, newest first, back to the original pool;
// after it, the desired pools are in place and the run stops there saying what is left.
import type {ClusterClient} from '../../cluster/kube.js'
import type {IPPoolObject, IPPoolSpec, Target} from '../../cluster/types.js'
import {effectiveSpec, poolDifferences} from '../../calico/pools.js'
import {ApiError} from '../../errors.js'
import {restorable, writeBackup} from '../backup.js'
import type {RunLock} from '../lock.js'
import {recreateGroups} from '../recreate.js'
import {holdersOf, type PoolApi} from './gather.js'
import type {Action, PoolFixPlan} from './plan.js'

export type Result = 'fixed' | 'unchanged' | 'planned' | 'rolled-back' | 'failed' | 'refused'
export type ActionStatus = 'pending' | 'done' | 'failed' | 'undone' | 'skipped'

/** What the Lease keeps about a run: enough for another machine to finish it or put things back. */
export interface Journal {
  version: 1
  command: 'ippool fix'
  context: string
  server: string
  startedAt: string
  api: PoolApi
  plan: Omit<PoolFixPlan, 'impact'> & {impact: {pods: number; tunnels: number}}
  /** The pool as it was before the first write (null when there was none). */
  original: (IPPoolObject & {spec?: IPPoolSpec}) | null
  backup?: string
  /** How many actions completed. */
  done: number
  state: 'running' | 'rolling-back' | 'finished' | 'rolled-back' | 'failed'
  error?: string
}

export interface ActionReport {
  kind: Action['kind']
  pool: string
  title: string
  status: ActionStatus
  message?: string
}

export interface ExecOutcome {
  result: Result
  message: string
  actions: ActionReport[]
  /** What the run leaves for later (a disabled pool still in use, pods not moved). */
  left: string[]
  backup?: string
}

export function describeAction(action: Action): string {
  const spec = (s: IPPoolSpec) => `${s.cidr}, blockSize ${s.blockSize}, natOutgoing ${s.natOutgoing}, ipipMode ${s.ipipMode}, vxlanMode ${s.vxlanMode}, nodeSelector ${s.nodeSelector}`
  switch (action.kind) {
    case 'backup': return `back up IPPool ${action.pool} to a YAML file`
    case 'create-pool': return `create IPPool ${action.pool} (${spec(action.spec)})`
    case 'update-pool': return action.spec.disabled ? `disable IPPool ${action.pool} (no new addresses come from it)` : `update IPPool ${action.pool} (${spec(action.spec)})`
    case 'delete-pool': return `delete IPPool ${action.pool}`
    case 'verify-pool': return `verify IPPool ${action.pool} reads back as planned`
    case 'recreate-pods': return `recreate the pods holding addresses of ${action.pool}, one owner at a time (${action.groups.map((g) => g.owner ? `${g.owner.kind} ${g.namespace}/${g.owner.name}` : `${g.pods.length} bare pod(s) in ${g.namespace}`).join(', ')})`
    case 'delete-pool-if-unused': return `delete IPPool ${action.pool} once no pod holds an address of ${action.cidr}, else leave it disabled`
  }
}

export interface ExecutorOptions {
  target: Target
  backupDir: string
  deadline: number
  timeoutText: string
  lock: RunLock
  onProgress?: (line: string) => void
  /** Bounds waits for rollouts when pods are recreated. */
  readyTimeoutMs: number
  /** Why to stop at the next safe point (Ctrl-C), if so: before the commit point that means undo. */
  stopped: () => string | undefined
}

class StepError extends Error {}

/** The actions that change the cluster, and so are undone on rollback. */
const WRITES: ReadonlySet<Action['kind']> = new Set(['create-pool', 'update-pool', 'delete-pool'])

export class PoolFixExecutor {
  private readonly reports: ActionReport[]
  private readonly left: string[] = []
  /** The migrated-from pool this run deleted, for the closing message. */
  private deletedOldPool?: string

  constructor(private readonly client: ClusterClient, private readonly journal: Journal, private readonly options: ExecutorOptions) {
    this.reports = journal.plan.actions.map((action, i) => ({kind: action.kind, pool: action.pool, title: describeAction(action), status: i < journal.done ? 'done' : 'pending'}))
  }

  private path(name: string): string {
    return `${this.journal.api.collection}/${encodeURIComponent(name)}`
  }

  private async get(name: string): Promise<IPPoolObject | undefined> {
    return this.client.getIfExists<IPPoolObject>(this.path(name))
  }

  private manifest(name: string, spec: IPPoolSpec, base?: IPPoolObject): IPPoolObject {
    return {...(base ?? {}), apiVersion: this.journal.api.apiVersion, kind: 'IPPool', metadata: {...(base?.metadata ?? {}), name}, spec}
  }

  private async record(): Promise<void> {
    await this.options.lock.record(this.journal)
  }

  private progress(index: number, text: string): void {
    this.options.onProgress?.(`[${index + 1}/${this.journal.plan.actions.length}] ${text}`)
  }

  private stopReason(): string | undefined {
    const stopped = this.options.stopped()
    if (stopped) return stopped
    if (Date.now() > this.options.deadline) return `timed out after ${this.options.timeoutText} (--timeout)`
    if (this.options.lock.lost) return this.options.lock.lost
    return undefined
  }

  async run(): Promise<ExecOutcome> {
    const {actions, commitAt} = this.journal.plan
    for (let i = this.journal.done; i < actions.length; i++) {
      const stop = this.stopReason()
      if (stop && this.options.lock.lost) return this.lockLost(stop)
      if (stop) return i < commitAt ? this.rollback(stop, i) : this.stopAfterCommit(stop, i)
      const action = actions[i]!
      this.progress(i, this.reports[i]!.title)
      try {
        await this.apply(action, i)
      } catch (error) {
        const message = (error as Error).message
        this.reports[i] = {...this.reports[i]!, status: 'failed', message}
        if (this.options.lock.lost) return this.lockLost(`${this.reports[i]!.title} failed: ${message}`)
        if (i < commitAt) return this.rollback(`${this.reports[i]!.title} failed: ${message}`, i)
        return this.failAfterCommit(`${this.reports[i]!.title} failed: ${message}`, i)
      }
      this.reports[i] = {...this.reports[i]!, status: 'done'}
      this.journal.done = i + 1
      try {
        await this.record()
      } catch (error) {
        // Without its journal the run cannot be finished by anyone else: treat it as this step failing.
        const message = `the journal could not be written after it: ${(error as Error).message}`
        if (this.options.lock.lost) return this.lockLost(message)
        if (i + 1 < commitAt) return this.rollback(`${this.reports[i]!.title}: ${message}`, i)
      }
    }
    this.journal.state = 'finished'
    await this.released(this.options.lock.release())
    return {result: 'fixed', message: this.successMessage(), actions: this.reports, left: this.left, backup: this.journal.backup}
  }

  private async released(release: Promise<string | undefined>): Promise<void> {
    const problem = await release
    if (problem) this.left.push(problem)
  }

  /** Someone else has the Lease now (a takeover after it expired): they finish or undo; this run must not write again. */
  private lockLost(message: string): ExecOutcome {
    return {result: 'failed', actions: this.reports, left: this.left, backup: this.journal.backup,
      message: `${message}. Another run now holds the lock and the journal; it will finish or undo this one (see: kubectl -n ${this.options.lock.namespace} get lease kubectl-dualstack -o yaml)`}
  }

  private successMessage(): string {
    const to = this.journal.plan.to
    const others = this.journal.plan.wrong.filter((d) => d.field !== 'cidr').map((d) => `${d.field} ${String(d.to)}`)
    const done = `IPPool ${to.name} is ${to.spec.cidr}${others.length > 0 ? ` with ${others.join(', ')}` : ''}, as calico-node would create it`
    return this.deletedOldPool ? `${done}; the migration is complete: IPPool ${this.deletedOldPool} is deleted` : done
  }

  private async apply(action: Action, index: number): Promise<void> {
    switch (action.kind) {
      case 'backup': {
        const current = await this.get(action.pool)
        if (!current) throw new StepError(`IPPool ${action.pool} no longer exists: the cluster changed since the plan was made; run again`)
        if (poolDifferences(current.spec, this.journal.plan.from ?? {}).length > 0) {
          throw new StepError(`IPPool ${action.pool} changed since the plan was made (now ${current.spec?.cidr}); run again`)
        }
        this.journal.original = restorable(current) as Journal['original']
        this.journal.backup = writeBackup(this.options.backupDir, current, this.options.target)
        this.reports[index]!.message = this.journal.backup
        this.options.onProgress?.(`backup written: ${this.journal.backup}`)
        return
      }
      case 'create-pool': {
        const existing = await this.get(action.pool)
        if (existing) {
          if (poolDifferences(existing.spec, action.spec).length === 0) return
          throw new StepError(`IPPool ${action.pool} already exists with ${existing.spec?.cidr}`)
        }
        await this.client.request('POST', this.journal.api.collection, {body: this.manifest(action.pool, action.spec)})
        return
      }
      case 'update-pool': {
        const current = await this.get(action.pool)
        if (!current) throw new StepError(`IPPool ${action.pool} no longer exists`)
        if (poolDifferences(current.spec, action.spec).length === 0) return
        // The resourceVersion it was read at makes a concurrent change a 409, not a silent overwrite.
        await this.client.request('PUT', this.path(action.pool), {body: this.manifest(action.pool, action.spec, current)})
        return
      }
      case 'delete-pool':
        return this.deleteIfThere(action.pool)
      case 'verify-pool': {
        const now = await this.get(action.pool)
        if (!now) throw new StepError(`IPPool ${action.pool} is not there`)
        const off = poolDifferences(now.spec, action.spec)
        if (off.length > 0) throw new StepError(`IPPool ${action.pool} reads back with ${off.map((f) => `${f} ${String(effectiveSpec(now.spec)[f])}`).join(', ')}`)
        return
      }
      case 'recreate-pods': {
        const outcome = await recreateGroups(this.client, action.groups, {
          deadline: this.options.deadline, readyTimeoutMs: this.options.readyTimeoutMs, stopped: () => this.stopReason(),
          onProgress: this.options.onProgress,
        })
        this.left.push(...outcome.notes)
        if (outcome.error) throw new StepError(outcome.error)
        return
      }
      case 'delete-pool-if-unused': {
        const holders = await holdersOf(this.client, action.cidr)
        if (holders.length === 0) {
          await this.apply({kind: 'delete-pool', pool: action.pool}, index)
          this.reports[index]!.message = `nothing held addresses of ${action.cidr}: deleted`
          if (action.pool !== this.journal.plan.to.name) this.deletedOldPool = `${action.pool} (${action.cidr})`
          return
        }
        this.reports[index] = {...this.reports[index]!, message: `${holders.length} pod(s) still hold addresses: left disabled`}
        this.left.push(`IPPool ${action.pool} (${action.cidr}) stays disabled: ${holders.length} pod(s) still hold its addresses (${holders.slice(0, 10).map((p) => `${p.namespace}/${p.name}`).join(', ')}${holders.length > 10 ? ', ...' : ''}); move them with kubectl dualstack pods recreate --in-pool ${action.pool} -A, then run ippool fix again`)
        return
      }
    }
  }

  /** Deletes a pool; already gone is what was wanted. */
  private async deleteIfThere(name: string): Promise<void> {
    try {
      await this.client.request('DELETE', this.path(name))
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error
    }
  }

  /**
   * Puts a pool back exactly as the journal recorded it: created if missing, replaced if its range differs.
   * A write of ours that timed out may still land in between: a conflict means read again and decide again.
   */
  private async ensureOriginal(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ensureOriginalOnce()
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 409) || attempt >= 5) throw error
        await new Promise((resolve) => setTimeout(resolve, 300 * attempt))
      }
    }
  }

  private async ensureOriginalOnce(): Promise<void> {
    const original = this.journal.original
    if (!original?.metadata?.name) return
    const name = original.metadata.name
    const current = await this.get(name)
    const spec = original.spec ?? {}
    if (!current) {
      await this.client.request('POST', this.journal.api.collection, {body: {...original, apiVersion: this.journal.api.apiVersion}})
      return
    }
    const off = poolDifferences(current.spec, spec)
    if (off.length === 0) return
    if (off.includes('cidr') || off.includes('blockSize')) {
      await this.deleteIfThere(name)
      await this.client.request('POST', this.journal.api.collection, {body: {...original, apiVersion: this.journal.api.apiVersion}})
      return
    }
    await this.client.request('PUT', this.path(name), {body: this.manifest(name, spec, current)})
  }

  private async undo(action: Action): Promise<void> {
    const originalName = this.journal.original?.metadata?.name
    switch (action.kind) {
      case 'create-pool':
        if (action.pool === originalName) return this.ensureOriginal()
        return this.deleteIfThere(action.pool)
      case 'update-pool':
      case 'delete-pool':
        if (action.pool === originalName) return this.ensureOriginal()
        return
      default:
        return
    }
  }

  /**
   * Undoes actions newest first. The action that was running when the run stopped is undone too: its write
   * may have reached the server even if the answer did not (every undo re-reads, so that is safe).
   */
  async rollback(reason: string, reached: number): Promise<ExecOutcome> {
    this.journal.state = 'rolling-back'
    this.journal.error = reason
    await this.record().catch(() => undefined)
    this.options.onProgress?.(`${reason}: rolling back`)
    const last = Math.min(reached, this.journal.plan.actions.length - 1)
    try {
      for (let i = last; i >= 0; i--) {
        const action = this.journal.plan.actions[i]!
        await this.undo(action)
        if (this.reports[i]!.status === 'done' && WRITES.has(action.kind)) this.reports[i]!.status = 'undone'
        this.journal.done = i
      }
    } catch (error) {
      this.journal.state = 'failed'
      this.journal.error = `${reason}; rolling back failed too: ${(error as Error).message}`
      await this.released(this.options.lock.release(this.journal))
      const restore = this.journal.backup ? `kubectl apply -f ${this.journal.backup}` : 'the original pool is in the Lease journal'
      return {result: 'failed', actions: this.reports, left: this.left, backup: this.journal.backup,
        message: `${this.journal.error}. The original pool may be missing: run 'kubectl dualstack ippool fix --rollback' when the cluster answers again, or ${restore}`}
    }
    for (const report of this.reports) if (report.status === 'pending') report.status = 'skipped'
    this.journal.state = 'rolled-back'
    await this.released(this.options.lock.release())
    return {result: 'rolled-back', actions: this.reports, left: this.left, backup: this.journal.backup,
      message: `${reason}; everything done was undone: IPPool ${this.journal.original?.metadata?.name ?? this.journal.plan.pool} is as it was`}
  }

  /** Stopped (Ctrl-C, timeout) after the commit point: the desired pools are in place; say what is left. */
  private async stopAfterCommit(reason: string, at: number): Promise<ExecOutcome> {
    for (let i = at; i < this.reports.length; i++) this.reports[i]!.status = 'skipped'
    const pending = this.journal.plan.actions.slice(at).map(describeAction)
    this.left.push(`${reason} before: ${pending.join('; ')}`)
    this.journal.state = 'finished'
    await this.released(this.options.lock.release())
    return {result: 'fixed', actions: this.reports, left: this.left, backup: this.journal.backup, message: `${this.successMessage()} (${reason}; see what is left)`}
  }

  private async failAfterCommit(reason: string, at: number): Promise<ExecOutcome> {
    for (let i = at + 1; i < this.reports.length; i++) this.reports[i]!.status = 'skipped'
    this.journal.state = 'failed'
    this.journal.error = reason
    await this.released(this.options.lock.release(this.journal))
    return {result: 'failed', actions: this.reports, left: this.left, backup: this.journal.backup,
      message: `${reason}. The new pool is in place; finish with: kubectl dualstack ippool fix --resume`}
  }
}
