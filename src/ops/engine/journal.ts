// The journal a run keeps in its Lease: a versioned envelope that says which command, which steps, how far
// it got and the objects as they were. Anyone allowed to update Leases in Calico's namespace can write it,
// so what is read back is validated before it is believed: known version, command and step kinds, valid
// step parameters, and originals only of objects the steps touch. Paths and bodies are never in it: the
// step kinds build them.
import type {KubeObject} from '../../cluster/types.js'
import {kindOf, planProblems, type KindRegistry, type RepairPlan, type Step} from './steps.js'

export const JOURNAL_FORMAT = 'kubectl-dualstack/journal'
export const JOURNAL_VERSION = 2

export type RepairCommand = 'ippool fix' | 'calico-restart' | 'pods recreate' | 'services dual'
export const COMMANDS: readonly RepairCommand[] = ['ippool fix', 'calico-restart', 'pods recreate', 'services dual']
/** The repairs that are finished by running them again (no --resume, no --rollback). */
export const RERUN_COMMANDS: readonly RepairCommand[] = ['calico-restart', 'pods recreate']

export type JournalState = 'running' | 'rolling-back' | 'finished' | 'rolled-back' | 'failed'
const STATES: readonly JournalState[] = ['running', 'rolling-back', 'finished', 'rolled-back', 'failed']

export interface Journal<P = unknown> extends RepairPlan {
  format: typeof JOURNAL_FORMAT
  version: typeof JOURNAL_VERSION
  command: RepairCommand
  /** Carried by this run's writes (an annotation), so an undo touches only what this run made. */
  runId: string
  context: string
  server: string
  startedAt: string
  /** Whether a run that stopped after its commit point is finished with --resume (else it just stops). */
  resumable: boolean
  /** The command's own parameters (validated by the command). */
  params: P
  /** How many steps completed. */
  done: number
  state: JournalState
  /** The objects as they were before the run's first write to them, by objectKey. */
  originals: Record<string, KubeObject>
  backups: string[]
  error?: string
}

/**
 * The one definition of a run that is not over: it is running or rolling back (and was not seen to end),
 * or failed half-way, and there is something left to undo or finish (a run that cannot be resumed has
 * nothing left once past its commit point). A journal of an older or unknown
 * format counts as unfinished: what it left cannot be told.
 */
export function isUnfinished(raw: unknown): boolean {
  if (!raw || typeof raw !== 'object') return false
  const j = raw as Partial<Journal>
  if (j.state !== 'running' && j.state !== 'rolling-back' && j.state !== 'failed') return false
  // What calico-restart and pods recreate do is never undone (a pod deleted, an owner restarted; their plans
  // have no step before a commit point): a run of theirs that stopped, of whatever version or shape, leaves
  // nothing to finish or undo that running it again does not do.
  if (RERUN_COMMANDS.includes(j.command as RepairCommand)) return false
  if (j.version !== JOURNAL_VERSION) return true
  if (j.state !== 'running') return true
  // A resumable run seen running was not seen to end (even with every step done, its release may not have
  // happened): --resume finishes it. Another run is over once past its commit point.
  return j.resumable === true || (j.done ?? 0) < (j.commitAt ?? 0)
}

/** A journal that failed validation: why, to say and to refuse on. */
export interface InvalidJournal {
  invalid: string
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Reads a journal for `command`: a valid one, or why it is refused. `params` checks the command's own
 * parameters; `kinds` are the step kinds the command may use (any other kind is refused).
 */
export function parseJournal<P>(raw: unknown, command: RepairCommand, kinds: KindRegistry, params: (value: unknown) => string | undefined,
  original: (key: string, value: Record<string, unknown>) => string | undefined = () => undefined): Journal<P> | InvalidJournal {
  if (!isRecord(raw)) return {invalid: 'it is not an object'}
  if (raw.version !== JOURNAL_VERSION || raw.format !== JOURNAL_FORMAT) {
    return {invalid: `it is not a version ${JOURNAL_VERSION} journal (version ${JSON.stringify(raw.version ?? null)}): another version of kubectl-dualstack wrote it`}
  }
  if (raw.command !== command) return {invalid: `it is a journal of ${COMMANDS.includes(raw.command as RepairCommand) ? String(raw.command) : 'an unknown command'}, not of ${command}`}
  for (const field of ['runId', 'context', 'server', 'startedAt'] as const) {
    if (typeof raw[field] !== 'string') return {invalid: `its ${field} is not a string`}
  }
  if (!/^[a-z0-9-]{1,40}$/.test(raw.runId as string)) return {invalid: 'its runId is not one this tool writes'}
  if (!STATES.includes(raw.state as JournalState)) return {invalid: `its state ${JSON.stringify(raw.state)} is not known`}
  if (typeof raw.resumable !== 'boolean') return {invalid: 'it does not say whether it can be resumed'}
  if (!Array.isArray(raw.steps) || !raw.steps.every((s) => isRecord(s) && typeof s.kind === 'string')) return {invalid: 'its steps are not a list of steps'}
  const plan = {steps: raw.steps as Step[], commitAt: raw.commitAt as number}
  const problems = planProblems(kinds, plan)
  if (problems.length > 0) return {invalid: problems.join('; ')}
  if (!Number.isInteger(raw.done) || (raw.done as number) < 0 || (raw.done as number) > plan.steps.length) return {invalid: `its count of steps done (${JSON.stringify(raw.done)}) is outside the plan`}
  const paramProblem = params(raw.params)
  if (paramProblem) return {invalid: `its parameters: ${paramProblem}`}
  if (!isRecord(raw.originals)) return {invalid: 'its originals are not a map of objects'}
  const touched = new Set(plan.steps.flatMap((step) => kindOf(kinds, step).touches(step as never)))
  for (const [key, obj] of Object.entries(raw.originals)) {
    if (!touched.has(key)) return {invalid: `it holds an original of ${key}, which no step of the plan touches`}
    if (!isRecord(obj)) return {invalid: `its original of ${key} is not an object`}
    const problem = original(key, obj)
    if (problem) return {invalid: problem}
  }
  // Backups are printed as the kubectl apply to run: plain absolute paths only.
  if (!Array.isArray(raw.backups) || !raw.backups.every((b) => typeof b === 'string' && /^\/[\w./@+-]*$/.test(b))) return {invalid: 'its backups are not a list of files'}
  if (raw.error !== undefined && typeof raw.error !== 'string') return {invalid: 'its error is not text'}
  return raw as unknown as Journal<P>
}

export function isInvalid(value: unknown): value is InvalidJournal {
  return isRecord(value) && typeof value.invalid === 'string'
}

/** What a journal says about its run, in a line: for refusals, --resume and --rollback. */
export function unfinishedText(raw: unknown, kinds?: KindRegistry, summary?: string, mode: 'resume' | 'rollback' = 'resume'): string {
  const j = (isRecord(raw) ? raw : {}) as Partial<Journal>
  const steps = Array.isArray(j.steps) ? j.steps : []
  // A rollback undoes, newest first, the writing steps done (the one that was running too: its write may have landed).
  const undo = kinds && typeof j.done === 'number'
    ? steps.slice(0, Math.min(j.done + 1, steps.length)).filter((s) => { const k = kinds[s.kind]; return k?.writes === true && typeof k.undo === 'function' })
      .reverse().map((s) => kindOf(kinds, s).describe(s as never)) : []
  const next = mode === 'rollback' && kinds ? (undo.length > 0 ? `, to undo: ${undo.join('; ')}` : ', nothing to undo')
    : kinds && typeof j.done === 'number' && steps[j.done] && kinds[steps[j.done]!.kind] ? `, next: ${kindOf(kinds, steps[j.done]!).describe(steps[j.done]! as never)}` : ''
  const command = COMMANDS.includes(j.command as RepairCommand) ? j.command : 'repair'
  const about = [summary, typeof j.startedAt === 'string' ? `started ${j.startedAt}` : ''].filter(Boolean).join(', ')
  if (j.version !== JOURNAL_VERSION || j.format !== JOURNAL_FORMAT) {
    // Another version's journal: how far it got is in terms this version does not read.
    return `a previous ${command}${about ? ` (${about})` : ''} stopped ${j.state === 'rolling-back' ? 'while rolling back' : 'half-way'}, ` +
      `and its journal is version ${JSON.stringify(j.version ?? null)}, which this version of kubectl-dualstack (version ${JOURNAL_VERSION}) does not read`
  }
  return `a previous ${command}${about ? ` (${about})` : ''} stopped ${j.state === 'rolling-back' ? 'while rolling back' : 'half-way'}: ` +
    `${typeof j.done === 'number' ? j.done : '?'} of ${steps.length} steps done${next}${typeof j.error === 'string' ? ` (${j.error})` : ''}`
}
