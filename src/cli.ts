import {execute} from '@oclif/core/execute'
import {settings} from '@oclif/core/settings'

import {installInterruptHandler} from './interrupt.js'
import {installOutputSanitizer} from './render/sanitize.js'


/** Runs the CLI. Ctrl-C runs registered clean-ups and exits 130, as shells expect from an interrupted command. */
export async function run(binUrl: string): Promise<void> {
  installInterruptHandler()
  installOutputSanitizer()
  installOutputErrorHandler()
  // What runs is the bundle, never TypeScript: without this, a shell with NODE_ENV=development or test makes
  // oclif look for typescript and warn on every run.
  settings.enableAutoTranspile = false
  await execute({dir: binUrl})
  // The command is over: nothing may keep the process alive past it (a file-system call given up on a hung
  // mount still holds the event loop). Not sooner: output written to a pipe gets its moment to drain.
  setTimeout(() => process.exit(), 2000).unref()
}


/**
 * stdout that cannot be written: a closed pipe (`| head`) ends the output quietly, as kubectl's does; any other
 * failure (a full disk, /dev/full) is one line on stderr and exit 1, not oclif's re-thrown stack trace. The
 * command goes on to its end, so that its clean-ups (test pods, the Lease) still run.
 */
function installOutputErrorHandler(): void {
  process.stdout.removeAllListeners('error')
  let said = false
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || said) return
    said = true
    process.stderr.write(`error: cannot write the output: ${error.message}; free some space or send the output elsewhere\n`)
    process.exitCode = 1
  })
}
