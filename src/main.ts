import {execute} from '@oclif/core'

import {installInterruptHandler} from './interrupt.js'

/** Runs the CLI. Ctrl-C runs registered clean-ups and exits 130, as shells expect from an interrupted command. */
export async function run(binUrl: string): Promise<void> {
  installInterruptHandler()
  await execute({dir: binUrl})
}
