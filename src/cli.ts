import {execute} from '@oclif/core/execute'

import {runCli} from './cli-process.js'

/** Runs the npm install's CLI: oclif finds the commands and the manifest from package.json beside bin/. */
export async function run(binUrl: string): Promise<void> {
  await runCli(() => execute({dir: binUrl}))
}
