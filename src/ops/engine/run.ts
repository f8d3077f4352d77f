// The sequence every repair follows, owned here once: look at the Lease (refuse while another run holds
// it or left work unfinished), check access (a dry run needs only read access: what is missing is a
// note), stop on --dry-run, show the plan and confirm, take the Lease with the journal, run or roll back,
// release, also on Ctrl-C and errors. --resume and --rollback read the journal back, validated, and
// rebuild the run from its step kinds.
import {randomBytes} from 'node:crypto'

import {accessDenied, describeNeed, leaseNeeds, missingAccess, type AccessNeed} from '../../cluster/access.js'
import {ApiError, DualstackError, ExitCode, UsageError} from '../../errors.js'
import {LockHeldError, RunLock} from '../lock.js'
import {RepairExecutor, type EngineOutcome, type RunSettings} from './executor.js'
import {COMMANDS, isInvalid, isUnfinished, JOURNAL_FORMAT, JOURNAL_VERSION, parseJournal, RERUN_COMMANDS, unfinishedText, type InvalidJournal, type Journal, type RepairCommand} from './journal.js'
import {kindOf, planProblems, type KindRegistry, type RepairClient, type RepairPlan, type Step} from './steps.js'

export interface Refused {
  refused: string
  hint?: string
}

export function isRefused(value: unknown): value is Refused {
  return typeof value === 'object' && value !== null && typeof (value as Refused).refused === 'string'
}

export interface RepairDefinition {
  command: RepairCommand
  kinds: KindRegistry
  /** Whether a run that stopped after its commit point can be finished with --resume. */
  resumable: boolean
  /** Checks the command's parameters in a journal read back. */
  validateParams: (value: unknown) => string | undefined
  /** Checks an original object read back from a journal (by its objectKey). */
  validateOriginal?: (key: string, value: Record<string, unknown>) => string | undefined
  /** A few words on what a run does, from its (valid) parameters: "migrate of default-ipv6-ippool". */
  summarize?: (params: never) => string
  /**
   * --resume and --rollback: the steps built again from the journal's parameters and what the cluster holds
   * now, never taken from the Lease (which anyone allowed to update it could have written); or why the
   * journal's steps are not what this command plans for them.
   */
  rebuild?: (client: RepairClient, journal: Journal<never>, now: Record<string, unknown>) => Promise<{steps: Step[]} | InvalidJournal>
}

export type {RunSettings} from './executor.js'

/** What a command gives the engine to go from a plan to a run: how to show, confirm and bound it. */
export interface ApplyHooks {
  dryRun: boolean
  /** The command as an access refusal names it ("ippool fix --resume"). */
  what: string
  /** What a dry run could not see or the user may not do: added to the report before the plan is shown. */
  notes: (notes: string[]) => void
  /** Checks before the Lease that would otherwise fail half-way (a backup directory that cannot be used). */
  prepare?: () => Promise<void> | void
  show: () => void
  confirm: () => Promise<unknown>
  /** The run's bounds, taken once it is confirmed: --timeout bounds the run, not the time at the prompt. */
  settings: () => RunSettings
}

/** What the user is told to do about an unfinished run: of this command (`own`), or of another; `raw` is its journal. */
export function finishHint(command: RepairCommand, own: boolean, raw?: unknown, namespace = 'NAMESPACE'): string {
  const version = (raw as {version?: unknown} | undefined)?.version
  // Another version's journal, or one of a command this version does not have: nothing here can finish it.
  if ((version !== undefined && version !== JOURNAL_VERSION) || !COMMANDS.includes(command)) {
    return `finish it with the version of kubectl-dualstack that started it, or look at it (kubectl -n ${namespace} get lease kubectl-dualstack -o yaml), put things right by hand from its backups and delete the Lease`
  }
  if (RERUN_COMMANDS.includes(command)) return own ? 'run it again: it does what is left' : `run kubectl dualstack ${command} again first: it does what is left`
  return own ? 'finish it with --resume, or put the original back with --rollback' : `finish it first: kubectl dualstack ${command} --resume (or --rollback)`
}

export class RepairEngine {
  private readonly holder

  constructor(private readonly client: RepairClient, private readonly definition: RepairDefinition, readonly namespace: string) {
    this.holder = RunLock.holderFor(definition.command, client.target.user)
  }

  /** What a dry run could not see, for its notes. */
  readonly notes: string[] = []

  /**
   * Before planning: refused while another run holds the Lease or one left work unfinished. A dry run needs
   * only read access: a Lease it may not read is a note (a run in progress would go unseen), not an error.
   */
  async check(dryRun = false): Promise<Refused | undefined> {
    let lease
    try {
      lease = await RunLock.peek(this.client, this.namespace)
    } catch (error) {
      if (!(dryRun && error instanceof ApiError && error.code === 403)) throw error
      this.notes.push(`user "${this.client.target.user}" may not read the Lease ${this.namespace}/kubectl-dualstack: a repair running now, or one left half-done, is not seen by this dry run`)
      return undefined
    }
    if (lease?.held) return {refused: new LockHeldError(lease, this.namespace).message, hint: 'wait for it to finish, or for the Lease to expire'}
    if (lease && isUnfinished(lease.journal)) {
      const command = (lease.journal as {command?: RepairCommand}).command ?? this.definition.command
      return {refused: this.describe(lease.journal), hint: finishHint(command, command === this.definition.command, lease.journal, this.namespace)}
    }
    return undefined
  }

  /** A journal in a line; with its steps and summary when it is one of this command's and valid. */
  describe(raw: unknown, mode: 'resume' | 'rollback' = 'resume'): string {
    const own = parseJournal(raw, this.definition.command, this.definition.kinds, this.definition.validateParams, this.definition.validateOriginal)
    if (isInvalid(own)) return unfinishedText(raw)
    return unfinishedText(own, this.definition.kinds, this.definition.summarize?.(own.params as never), mode)
  }

  /** What applying these steps asks of RBAC, the Lease included. */
  needs(plan: RepairPlan): AccessNeed[] {
    return [...leaseNeeds(this.namespace), ...plan.steps.flatMap((step) => kindOf(this.definition.kinds, step).needs(step as never))]
  }

  /**
   * The permissions the plan needs that the user lacks. For a dry run they are notes (a dry run needs only
   * read access); otherwise the run is refused here, before anything is written, naming all of them.
   */
  async access(plan: RepairPlan, dryRun: boolean, what: string): Promise<string[]> {
    const missing = await missingAccess(this.client, this.needs(plan))
    if (missing.length === 0) return []
    if (!dryRun) throw accessDenied(this.client.target.user, what, missing)
    return [`user "${this.client.target.user}" could not apply this plan: missing ${missing.map(describeNeed).join(', ')}`]
  }

  /**
   * The sequence from a plan on, the same for every repair: access (a dry run notes what is missing and stops
   * there, writing nothing), the checks before the Lease, the plan shown, confirmed, then the run. `plan` is a
   * new plan (with its journal's parameters) or a journal loaded for --resume / --rollback.
   */
  async apply<P>(target: {plan: RepairPlan; params: P} | {journal: Journal; mode: 'resume' | 'rollback'}, hooks: ApplyHooks): Promise<'dry-run' | EngineOutcome | Refused> {
    hooks.notes([...this.notes, ...(await this.access('plan' in target ? target.plan : target.journal, hooks.dryRun, hooks.what))])
    if (hooks.dryRun) return 'dry-run'
    await hooks.prepare?.()
    hooks.show()
    await hooks.confirm()
    return 'plan' in target ? this.start(target.plan, target.params, hooks.settings()) : this.continue(target.journal, target.mode, hooks.settings())
  }

  /** A new run: takes the Lease with its journal (after the plan was shown and confirmed) and runs it. */
  async start<P>(plan: RepairPlan, params: P, settings: RunSettings): Promise<EngineOutcome | Refused> {
    const problems = planProblems(this.definition.kinds, plan)
    if (problems.length > 0) throw new Error(`internal: the ${this.definition.command} plan is not valid: ${problems.join('; ')}`)
    const journal: Journal<P> = {
      format: JOURNAL_FORMAT, version: JOURNAL_VERSION, command: this.definition.command, runId: `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      context: this.client.target.context, server: this.client.target.server, startedAt: new Date().toISOString(), resumable: this.definition.resumable,
      params, steps: plan.steps, commitAt: plan.commitAt, done: 0, state: 'running', originals: {}, backups: [],
    }
    let acquired
    try {
      acquired = await RunLock.acquire(this.client, this.namespace, this.holder, journal)
    } catch (error) {
      if (error instanceof LockHeldError) return {refused: error.message, hint: 'wait for it to finish'}
      throw error
    }
    if (isUnfinished(acquired.unfinished)) {
      // Left half-done between the check and now: it stays for --resume / --rollback.
      await acquired.lock.release(acquired.unfinished)
      const command = (acquired.unfinished as {command?: RepairCommand}).command ?? this.definition.command
      return {refused: this.describe(acquired.unfinished), hint: finishHint(command, command === this.definition.command, acquired.unfinished, this.namespace)}
    }
    return this.execute(acquired.lock, journal as Journal, settings, 'run')
  }

  /**
   * The unfinished run of this command, validated; a UsageError when there is none, a refusal when it is
   * held or cannot be believed.
   */
  async load<P>(mode: 'resume' | 'rollback', now: Record<string, unknown> = {}): Promise<Journal<P> | Refused> {
    const lease = await RunLock.peek(this.client, this.namespace)
    if (lease?.held) return {refused: new LockHeldError(lease, this.namespace).message, hint: 'wait for it to finish, or for the Lease to expire'}
    const raw = lease?.journal as {command?: unknown} | undefined
    if (!isUnfinished(raw) || raw?.command !== this.definition.command) {
      throw new UsageError(`there is no unfinished ${this.definition.command} to ${mode === 'resume' ? 'resume' : 'roll back'} (no such journal in Lease ${this.namespace}/kubectl-dualstack)`,
        `run ${this.definition.command} without --resume/--rollback`)
    }
    const journal = parseJournal<P>(raw, this.definition.command, this.definition.kinds, this.definition.validateParams, this.definition.validateOriginal)
    const untrusted = (why: string) => new DualstackError(`the journal in Lease ${this.namespace}/kubectl-dualstack cannot be trusted: ${why}; nothing was changed`, ExitCode.ProblemsFound,
      `look at it (kubectl -n ${this.namespace} get lease kubectl-dualstack -o yaml), put things right by hand from the backups, then delete the Lease`)
    if (isInvalid(journal)) throw untrusted(journal.invalid)
    if (this.definition.rebuild) {
      // `now`: the choices of this command line (what the journal must not decide, such as evicting bare pods).
      const rebuilt = await this.definition.rebuild(this.client, journal as Journal<never>, now)
      if (isInvalid(rebuilt)) throw untrusted(rebuilt.invalid)
      journal.steps = rebuilt.steps
    }
    // A run stopped while rolling back can go either way: every step reads before it writes, so --resume
    // drives forward from where the rollback got to, and --rollback finishes undoing.
    return journal
  }

  /** Finishes (resume) or undoes (rollback) a loaded journal, after its plan was shown and confirmed. */
  async continue(journal: Journal, mode: 'resume' | 'rollback', settings: RunSettings): Promise<EngineOutcome | Refused> {
    let acquired
    try {
      acquired = await RunLock.acquire(this.client, this.namespace, this.holder, null)
    } catch (error) {
      if (error instanceof LockHeldError) return {refused: error.message, hint: 'wait for it to finish, or for the Lease to expire'}
      throw error
    }
    const now = acquired.unfinished as Partial<Journal> | undefined
    if (!now || now.runId !== journal.runId) {
      await acquired.lock.release(isUnfinished(now) ? now : undefined)
      return {refused: `another run finished or took over the unfinished ${this.definition.command} in the meantime`, hint: `look again: kubectl dualstack ${this.definition.command} --dry-run`}
    }
    // The validated journal is what runs, not what the Lease holds now (which is the same run, re-read).
    return this.execute(acquired.lock, journal, settings, mode)
  }

  private async execute(lock: RunLock, journal: Journal, settings: RunSettings, mode: 'run' | 'resume' | 'rollback'): Promise<EngineOutcome> {
    const executor = new RepairExecutor(this.client, this.definition.kinds, journal, {...settings, lock})
    try {
      if (mode === 'rollback') return await executor.rollback('--rollback asked for', journal.done)
      journal.state = 'running'
      return await executor.run()
    } catch (error) {
      // An error the executor could not turn into an outcome: the journal stays, as the run left it.
      const problem = await lock.release(isUnfinished(journal) ? journal : undefined)
      if (problem) settings.onProgress?.(`warning: ${problem}`)
      throw error
    }
  }
}
