import {execute} from '@oclif/core'

import {ExitCode} from './errors.js'

/** Runs the CLI. Ctrl-C exits 130, as shells expect from an interrupted command. */
export async function run(binUrl: string): Promise<void> {
  process.once('SIGINT', () => {
    process.stderr.write('\ninterrupted\n')
    process.exit(ExitCode.Interrupted)
  })
  await execute({dir: binUrl})
}
