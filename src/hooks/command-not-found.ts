import type {Hook} from '@oclif/core/hooks'

import {ExitCode} from '../errors.js'

/** An unknown command is bad usage: one line, exit 2, as for every other usage error. */
export function unknownCommand(id: string): never {
  const name = id.replaceAll(':', ' ')
  process.stderr.write(`error: unknown command "${name}" for "kubectl dualstack"; see 'kubectl dualstack --help'\n`)
  process.exit(ExitCode.Usage)
}

const hook: Hook<'command_not_found'> = async function (options) {
  unknownCommand(options.id)
}

export default hook
