// A repair is a list of steps; each step's kind is one object that says everything about it: how it reads
// in the plan, what RBAC it needs, what it must find before it runs, how it applies and how it is undone.
// A writing kind without an undo does not type-check: it must say why it cannot be undone, and such a step
// is only allowed after the plan's commit point (where nothing is undone any more).
import type {AccessNeed} from '../../cluster/access.js'
import type {ClusterApi} from '../../cluster/kube.js'
import type {KubeObject, Target} from '../../cluster/types.js'

/** The part of the cluster client the engine and its steps use (a fake of it tests them in-process). */
export type RepairClient = ClusterApi

/** A step as the plan and the journal hold it: its kind and plain, validated parameters. Never a path or a body. */
export interface Step {
  kind: string
}

/** The state a step is given: the run, where it writes, and the originals it may need to put back. */
export interface StepContext {
  client: RepairClient
  target: Target
  /** A token unique to this run, which writes of this run carry so that an undo touches only its own objects. */
  runId: string
  /** The objects as they were before this run's first write to them, by objectKey. */
  originals: Record<string, KubeObject>
  backupDir: string
  backups: string[]
  /** Lines for the user about what the run leaves to do. */
  left: string[]
  /** Epoch ms after which long steps stop waiting. */
  deadline: number
  readyTimeoutMs: number
  /** Why to stop at the next safe point (Ctrl-C, timeout, lost Lease), if so. */
  stopped: () => string | undefined
  onProgress?: (line: string) => void
  /** --force: undo may do what it would otherwise refuse (delete a pool that pods still hold). */
  force: boolean
}

export interface StepResult {
  /** What the step found or did, shown beside it. */
  message?: string
  /** The step's own account of what it did (per node, per owner), for the command's report. */
  detail?: unknown
  /** From an undo: it put something back. A step stopped half-way (its write landed, its journal entry did not) is then reported undone, not skipped. */
  putBack?: boolean
}

/** A step that failed, with its account of how far it got. */
export class StepFailure extends Error {
  constructor(message: string, readonly detail?: unknown) {
    super(message)
  }
}

interface KindBase<S extends Step> {
  kind: S['kind']
  /** The step as a line of the plan. */
  describe(step: S): string
  /** What RBAC must allow before the run starts (asked with SelfSubjectAccessReview). */
  needs(step: S): AccessNeed[]
  /** The objects the step reads or writes, as objectKey names: a journal's originals must be among them. */
  touches(step: S): string[]
  /** Checks a step read from a journal: undefined when valid, else what is wrong. */
  validate(step: Record<string, unknown>): string | undefined
  /**
   * What the step must find before it runs, read now (a name someone else took, an object changed since the
   * plan): why it cannot run, or undefined. Said as the step's failure, before it writes, so it is never
   * undone later. Optional: a step that needs nothing of the cluster has none.
   */
  expects?(step: S, ctx: StepContext): Promise<string | undefined>
  /**
   * Applies the step. It re-reads what it changes and must be safe to run again (a resumed run repeats the
   * step it was in), and fails with what it found when the cluster is not as the plan expects.
   */
  apply(step: S, ctx: StepContext): Promise<StepResult | void>
}

export interface ReadingKind<S extends Step> extends KindBase<S> {
  writes: false
}

export interface WritingKind<S extends Step> extends KindBase<S> {
  writes: true
  /**
   * Undoes the step: only what this run did (objects carry ctx.runId), re-reading first, so it is safe also
   * for a step whose answer never came (its write may or may not have landed). Or, for a step that cannot
   * be undone, why: such a step must come after the plan's commit point.
   */
  undo: ((step: S, ctx: StepContext) => Promise<StepResult | void>) | {irreversible: string}
  /**
   * Once the run is over (finished, or stopped where nothing is left to undo): makes what the step did no
   * longer this run's to undo, so that a journal naming this run (its id is on what it made) undoes nothing.
   */
  settle?: (step: S, ctx: StepContext) => Promise<void>
}

export type StepKind<S extends Step = Step> = ReadingKind<S> | WritingKind<S>

/** The kinds a repair may use, by name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each kind takes its own step type; the registry holds them all
export type KindRegistry = Readonly<Record<string, StepKind<any>>>

/** A plan: the steps in order and where its commit point is. */
export interface RepairPlan {
  steps: Step[]
  /**
   * Steps before this index are undone when a later one fails (the run ends as it started); from it on,
   * what was wanted is in place, and a failure stops there saying what is left.
   */
  commitAt: number
}

export function kindOf(kinds: KindRegistry, step: Step): StepKind {
  const kind = kinds[step.kind]
  if (!kind) throw new Error(`no step kind "${step.kind}"`)
  return kind
}

/** A plan the engine can run: known kinds, valid steps, nothing irreversible before the commit point. */
export function planProblems(kinds: KindRegistry, plan: RepairPlan): string[] {
  const problems: string[] = []
  if (!Number.isInteger(plan.commitAt) || plan.commitAt < 0 || plan.commitAt > plan.steps.length) problems.push(`commit point ${String(plan.commitAt)} is outside the plan`)
  plan.steps.forEach((step, i) => {
    const kind = kinds[step.kind]
    if (!kind) return void problems.push(`step ${i + 1}: unknown kind "${String(step.kind)}"`)
    const invalid = kind.validate(step as unknown as Record<string, unknown>)
    if (invalid) problems.push(`step ${i + 1} (${step.kind}): ${invalid}`)
    if (kind.writes && 'irreversible' in kind.undo && i < plan.commitAt) problems.push(`step ${i + 1} (${step.kind}) cannot be undone (${kind.undo.irreversible}) but comes before the commit point`)
  })
  return problems
}

export function objectKey(resource: string, name: string, namespace?: string): string {
  return namespace ? `${resource}/${namespace}/${name}` : `${resource}/${name}`
}
