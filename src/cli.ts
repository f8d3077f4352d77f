import {execute, settings} from '@oclif/core'

import {installInterruptHandler} from './interrupt.js'
import {installOutputSanitizer} from './render/sanitize.js'

// What package.json's oclif config points at (explicit discovery, for the bundle).
export {COMMANDS} from './commands.js'
export {default as COMMAND_NOT_FOUND} from './hooks/command-not-found.js'

/** Runs the CLI. Ctrl-C runs registered clean-ups and exits 130, as shells expect from an interrupted command. */
export async function run(binUrl: string): Promise<void> {
  installInterruptHandler()
  installOutputSanitizer()
  // What runs is the bundle, never TypeScript: without this, a shell with NODE_ENV=development or test makes
  // oclif look for typescript and warn on every run.
  settings.enableAutoTranspile = false
  await execute({dir: binUrl})
}

