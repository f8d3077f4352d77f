import {execute, settings} from '@oclif/core'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {completionWords, runCompletion, topicsOf} from './completion/run.js'
import {installInterruptHandler} from './interrupt.js'

// What package.json's oclif config points at (explicit discovery, for the bundle).
export {COMMANDS} from './commands.js'
export {default as COMMAND_NOT_FOUND} from './hooks/command-not-found.js'

/** Runs the CLI. Ctrl-C runs registered clean-ups and exits 130, as shells expect from an interrupted command. */
export async function run(binUrl: string): Promise<void> {
  const words = completionWords(process.argv[1] ?? '', process.argv.slice(2))
  if (words) {
    const root = path.dirname(path.dirname(fileURLToPath(binUrl)))
    await runCompletion(words, topicsOf(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))))
  }
  installInterruptHandler()
  // What runs is the bundle, never TypeScript: without this, a shell with NODE_ENV=development or test makes
  // oclif look for typescript and warn on every run.
  settings.enableAutoTranspile = false
  await execute({dir: binUrl})
}
