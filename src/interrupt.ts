// Ctrl-C: run what must always happen (deleting pods we created), then exit 130.
import {ExitCode} from './errors.js'

type Cleanup = () => Promise<void>
const cleanups = new Map<Cleanup, number>()
const DEFAULT_GRACE_MS = 15_000

/**
 * Registers a clean-up to run on Ctrl-C, with how long it may take (a repair that must put a pool back
 * needs longer than deleting a test pod); returns a function that unregisters it.
 */
export function onInterrupt(cleanup: Cleanup, graceMs = DEFAULT_GRACE_MS): () => void {
  cleanups.set(cleanup, graceMs)
  return () => cleanups.delete(cleanup)
}

let interrupted = false

/** Whether Ctrl-C was pressed: the process then ends with 130 once its clean-ups ran, whatever the command does. */
export function wasInterrupted(): boolean {
  return interrupted
}

/**
 * For a command that fails after Ctrl-C (its test pod deleted under it by the clean-up, say): wait for the
 * clean-ups, whose end exits 130, instead of exiting with the command's own code while they still run.
 */
export function untilInterruptEnds(): Promise<never> {
  return new Promise<never>(() => {})
}

export function installInterruptHandler(): void {
  process.on('SIGINT', () => {
    if (interrupted) process.exit(ExitCode.Interrupted) // a second Ctrl-C does not wait for clean-up
    interrupted = true
    // Should the event loop empty before the clean-ups' end (nothing left to wait on), the exit is still 130.
    process.exitCode = ExitCode.Interrupted
    const pending = [...cleanups.keys()]
    process.stderr.write(pending.length > 0 ? '\ninterrupted: cleaning up (Ctrl-C again to skip)\n' : '\ninterrupted\n')
    const graceMs = Math.max(DEFAULT_GRACE_MS, ...cleanups.values())
    const deadline = new Promise((resolve) => setTimeout(resolve, graceMs).unref())
    void Promise.race([Promise.allSettled(pending.map((c) => c())), deadline]).then(() => process.exit(ExitCode.Interrupted))
  })
}

/**
 * Ctrl-C for a repair. Before it starts writing (planning, the confirmation prompt) Ctrl-C exits at once.
 * Once `started()` was called, Ctrl-C only makes `stopped()` say why, so the work stops at its next safe
 * point (undoing or finishing), and the exit waits until `finished()` is called, once it has reported.
 */
export function repairInterrupt(graceMs: number): {started(): void; stopped(): string | undefined; finished(): void} {
  let running = false
  let reason: string | undefined
  let finish: () => void = () => {}
  const done = new Promise<void>((resolve) => (finish = resolve))
  const unregister = onInterrupt(async () => {
    reason = 'interrupted (Ctrl-C)'
    if (running) await done
  }, graceMs)
  return {
    started: () => void (running = true),
    stopped: () => reason,
    finished() {
      finish()
      unregister()
    },
  }
}
