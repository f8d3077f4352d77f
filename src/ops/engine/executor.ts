// Applies a plan step by step, writing the journal to the Lease after each one. A failure, timeout or
// Ctrl-C before the commit point undoes what was done, newest first, so the run ends as it started; from
// the commit point on, what was wanted is in place and the run stops there saying what is left.
import {ApiError, ClusterUnavailableError} from '../../errors.js'
import type {RunLock} from '../lock.js'
import type {Journal} from './journal.js'
import {kindOf, StepFailure, type KindRegistry, type StepContext, type StepResult} from './steps.js'

export type StepStatus = 'pending' | 'done' | 'failed' | 'undone' | 'skipped'

export interface StepReport {
  kind: string
  title: string
  status: StepStatus
  message?: string
  /** What the step said of itself (StepResult.detail), not rendered by the engine. */
  detail?: unknown
}

/** done: every step; stopped: stopped after the commit point; failed: after it, or rolling back failed, or the Lease was lost. */
export type EngineResult = 'done' | 'stopped' | 'rolled-back' | 'failed'

export interface EngineOutcome {
  result: EngineResult
  /** Why the run did not do every step (the failure, Ctrl-C, the timeout), when it did not. */
  reason?: string
  /** A sentence for the user about how it ended, when the engine has one to say (rollback, lost lock). */
  message?: string
  steps: StepReport[]
  left: string[]
  backups: string[]
}

/** How long a step waits out an API server that does not answer (a restart, a leader election) before it counts as failed. */
export const PATIENCE_MS = 45_000

/** An answer that says "not now" rather than "no": the API server restarting, overloaded or unreachable for a moment. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ApiError) return error.code === 429 || error.code === 503 || error.code === 504
  return error instanceof ClusterUnavailableError && /^(cannot connect to the API server|request timed out|the API server did not answer|the API server closed the connection)/.test(error.message)
}

/** What a run is given by its command: its bounds, where backups go, and how to report and be stopped. */
export interface RunSettings {
  deadline: number
  timeoutText: string
  backupDir: string
  readyTimeoutMs: number
  force: boolean
  stopped: () => string | undefined
  onProgress?: (line: string) => void
  /** How long a step waits out an API server that does not answer (default PATIENCE_MS). */
  patienceMs?: number
}

export interface ExecutorOptions extends RunSettings {
  lock: RunLock
}

export function stepReports(kinds: KindRegistry, journal: Pick<Journal, 'steps' | 'done'>): StepReport[] {
  return journal.steps.map((step, i) => ({kind: step.kind, title: kindOf(kinds, step).describe(step as never), status: i < journal.done ? 'done' : 'pending'}))
}

export class RepairExecutor {
  private readonly reports: StepReport[]
  private readonly ctx: StepContext

  constructor(client: StepContext['client'], private readonly kinds: KindRegistry, private readonly journal: Journal, private readonly options: ExecutorOptions) {
    this.reports = stepReports(kinds, journal)
    this.ctx = {
      client, target: client.target, runId: journal.runId, originals: journal.originals, backupDir: options.backupDir, backups: journal.backups, left: [],
      deadline: options.deadline, readyTimeoutMs: options.readyTimeoutMs, stopped: () => this.stopReason(), onProgress: options.onProgress, force: options.force,
    }
  }

  private outcome(result: EngineResult, extra: Partial<EngineOutcome> = {}): EngineOutcome {
    return {result, steps: this.reports, left: this.ctx.left, backups: this.journal.backups, ...extra}
  }

  private stopReason(): string | undefined {
    const stopped = this.options.stopped()
    if (stopped) return stopped
    if (Date.now() > this.options.deadline) return `timed out after ${this.options.timeoutText} (--timeout)`
    return this.options.lock.lost
  }

  private record(): Promise<void> {
    return this.options.lock.record(this.journal)
  }

  private async released(keep?: Journal): Promise<void> {
    const problem = await this.options.lock.release(keep)
    if (problem) this.ctx.left.push(problem)
  }

  /**
   * Runs a step's apply or undo, waiting out an API server that does not answer for a while (steps re-read
   * before they write, so running one again is safe). Ctrl-C or the run's --timeout ends the wait.
   */
  private async patiently<T>(what: string | undefined, work: () => Promise<T>, undoing = false): Promise<T> {
    // Putting things back is what a timeout or Ctrl-C asked for: its waits are not cut short by them.
    const patience = Date.now() + (this.options.patienceMs ?? PATIENCE_MS)
    const until = undoing ? patience : Math.min(patience, this.options.deadline)
    let said = false
    for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
      try {
        return await work()
      } catch (error) {
        if (!isTransient(error) || Date.now() + delay > until || (!undoing && this.options.stopped()) || this.options.lock.lost) throw error
        if (!said) this.options.onProgress?.(`  ${what ? `${what}: ` : ''}${(error as Error).message}; trying again for up to ${Math.round((until - Date.now()) / 1000)}s`)
        said = true
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  private note(index: number, result: StepResult | void): void {
    if (result?.message) this.reports[index]!.message = result.message
    if (result?.detail !== undefined) this.reports[index]!.detail = result.detail
  }

  async run(): Promise<EngineOutcome> {
    const {steps, commitAt} = this.journal
    for (let i = this.journal.done; i < steps.length; i++) {
      const stop = this.stopReason()
      if (stop && this.options.lock.lost) return this.lockLost(stop)
      if (stop) return i < commitAt ? this.rollback(stop, i - 1) : this.stopAfterCommit(stop, i)
      const step = steps[i]!
      this.options.onProgress?.(`[${i + 1}/${steps.length}] ${this.reports[i]!.title}`)
      try {
        const kind = kindOf(this.kinds, step)
        this.note(i, await this.patiently(undefined, async () => {
          const wrong = await kind.expects?.(step as never, this.ctx)
          if (wrong) throw new StepFailure(wrong)
          return kind.apply(step as never, this.ctx)
        }))
      } catch (error) {
        const reason = `${this.reports[i]!.title} failed: ${(error as Error).message}`
        this.reports[i] = {...this.reports[i]!, status: 'failed', message: (error as Error).message, ...(error instanceof StepFailure ? {detail: error.detail} : {})}
        if (this.options.lock.lost) return this.lockLost(reason)
        if (i < commitAt) return this.rollback(reason, i)
        return this.failAfterCommit(reason, i)
      }
      this.reports[i]!.status = 'done'
      this.journal.done = i + 1
      try {
        await this.patiently('writing the journal', () => this.record())
      } catch (error) {
        // Without its journal the run cannot be finished by anyone else: the same as this step failing.
        const reason = `the journal could not be written after "${this.reports[i]!.title}": ${(error as Error).message}`
        if (this.options.lock.lost) return this.lockLost(reason)
        if (i + 1 < commitAt) return this.rollback(reason, i)
      }
    }
    this.journal.state = 'finished'
    await this.released()
    await this.settle()
    return this.outcome('done')
  }

  /**
   * The run is over and its Lease released (a run killed before that is resumed, and settles then): each step
   * that did something lets go of it (WritingKind.settle); a failure is a note, the run stands.
   */
  private async settle(): Promise<void> {
    for (let i = 0; i < this.journal.done; i++) {
      const step = this.journal.steps[i]!
      const kind = kindOf(this.kinds, step)
      if (!kind.writes || !kind.settle) continue
      try {
        await this.patiently(`settling step ${i + 1}`, () => kind.settle!(step as never, this.ctx), true)
      } catch (error) {
        this.ctx.left.push(`warning: ${this.reports[i]!.title}: could not mark it done (${(error as Error).message})`)
      }
    }
  }

  /** Someone else has the Lease now (a takeover after it expired): they finish or undo; this run must not write again. */
  private lockLost(reason: string): EngineOutcome {
    return this.outcome('failed', {reason,
      message: `${reason}. Another run now holds the lock and the journal; it will finish or undo this one (see: kubectl -n ${this.options.lock.namespace} get lease kubectl-dualstack -o yaml)`})
  }

  /**
   * Undoes steps newest first, from `reached` (the step that was running when the run stopped is undone too:
   * its write may have landed even if the answer did not; every undo re-reads, so that is safe).
   */
  async rollback(reason: string, reached: number): Promise<EngineOutcome> {
    this.journal.state = 'rolling-back'
    this.journal.error = reason
    await this.record().catch(() => undefined)
    this.options.onProgress?.(`${reason}: rolling back`)
    const last = Math.min(reached, this.journal.steps.length - 1)
    try {
      for (let i = last; i >= 0; i--) {
        const step = this.journal.steps[i]!
        const kind = kindOf(this.kinds, step)
        if (kind.writes && typeof kind.undo === 'function') {
          const undo = kind.undo
          const undone = await this.patiently(`undoing step ${i + 1}`, () => undo(step as never, this.ctx), true)
          if (this.reports[i]!.status === 'done' || undone?.putBack) this.reports[i]!.status = 'undone'
          if (undone?.message) this.reports[i]!.message = undone.message
        }
        this.journal.done = i
      }
    } catch (error) {
      // Still rolling back, as far as it got: --rollback finishes undoing (or --resume drives forward from there).
      this.journal.state = 'rolling-back'
      this.journal.error = `${reason}; rolling back failed too: ${(error as Error).message}`
      await this.released(this.journal)
      const restore = this.journal.backups.length > 0 ? `, or restore ${this.journal.backups.map((b) => `kubectl apply -f ${b}`).join(' and ')}` : ''
      return this.outcome('failed', {reason: this.journal.error,
        message: `${this.journal.error}. Finish undoing with 'kubectl dualstack ${this.journal.command} --rollback' when the cluster answers again${restore}`})
    }
    for (const report of this.reports) if (report.status === 'pending') report.status = 'skipped'
    this.journal.state = 'rolled-back'
    await this.released()
    return this.outcome('rolled-back', {reason})
  }

  /** Stopped (Ctrl-C, timeout) at or after the commit point: what was wanted is in place; say what is left. */
  private async stopAfterCommit(reason: string, at: number): Promise<EngineOutcome> {
    for (let i = at; i < this.reports.length; i++) this.reports[i]!.status = 'skipped'
    this.ctx.left.push(`${reason} before: ${this.reports.slice(at).map((r) => r.title).join('; ')}`)
    this.journal.state = 'finished'
    this.journal.error = reason
    await this.released()
    await this.settle()
    return this.outcome('stopped', {reason})
  }

  private async failAfterCommit(reason: string, at: number): Promise<EngineOutcome> {
    for (let i = at + 1; i < this.reports.length; i++) this.reports[i]!.status = 'skipped'
    this.journal.error = reason
    if (!this.journal.resumable) {
      this.journal.state = 'finished'
      await this.released()
      await this.settle()
      return this.outcome('failed', {reason})
    }
    this.journal.state = 'failed'
    await this.released(this.journal)
    return this.outcome('failed', {reason, message: `${reason}. What was wanted is in place; finish with: kubectl dualstack ${this.journal.command} --resume`})
  }
}
