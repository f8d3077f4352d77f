// Ctrl-C: run what must always happen (deleting pods we created), then exit 130.
import {ExitCode} from './errors.js'

type Cleanup = () => Promise<void>
const cleanups = new Set<Cleanup>()

/** Registers a clean-up to run on Ctrl-C; returns a function that unregisters it. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup)
  return () => cleanups.delete(cleanup)
}

export function installInterruptHandler(): void {
  let interrupted = false
  process.on('SIGINT', () => {
    if (interrupted) process.exit(ExitCode.Interrupted) // a second Ctrl-C does not wait for clean-up
    interrupted = true
    const pending = [...cleanups]
    process.stderr.write(pending.length > 0 ? '\ninterrupted: cleaning up (Ctrl-C again to skip)\n' : '\ninterrupted\n')
    const deadline = new Promise((resolve) => setTimeout(resolve, 15_000).unref())
    void Promise.race([Promise.allSettled(pending.map((c) => c())), deadline]).then(() => process.exit(ExitCode.Interrupted))
  })
}
