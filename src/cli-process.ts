// What runs around oclif in both installs (src/cli.ts): interrupt and output handlers, no transpiling, the exit timer.
import {settings} from '@oclif/core/settings'

import {installInterruptHandler} from './interrupt.js'
import {installOutputErrorHandler} from './output-errors.js'
import {installOutputSanitizer} from './render/sanitize.js'

/** Runs oclif (`execute`) as the CLI. Ctrl-C runs registered clean-ups and exits 130, as shells expect from an interrupted command. */
export async function runCli(execute: () => Promise<unknown>): Promise<void> {
  installInterruptHandler()
  installOutputSanitizer()
  // Again as each command starts (BaseCommand.init), after oclif's command module added its own listener.
  installOutputErrorHandler()
  // What runs is the bundle, never TypeScript: without this, a shell with NODE_ENV=development or test makes
  // oclif look for typescript and warn on every run.
  settings.enableAutoTranspile = false
  await execute()
  // The command is over: nothing may keep the process alive past it (a file-system call given up on a hung
  // mount still holds the event loop). Not sooner: output written to a pipe gets its moment to drain.
  setTimeout(() => process.exit(), 2000).unref()
}
