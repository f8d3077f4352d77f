// `kubectl_complete-dualstack ARGS...` and `kubectl-dualstack __complete ARGS...`: print the candidates and exit.
import {CHECKS} from '../doctor/checks/index.js'
import {complete, formatCompletion, type CommandSpec} from './complete.js'
import {clusterLookup} from './lookup.js'
import {SHELLS} from './scripts.js'

/** `commands`: each command's flags and args by oclif id (the npm install's oclif.manifest.json, the executable's classes). */
export async function runCompletion(args: string[], topics: Record<string, string>, commands: Record<string, CommandSpec>): Promise<never> {
  const completion = await complete(args.length === 0 ? [''] : args, {
    commands,
    topics,
    checkIds: CHECKS.map((check) => check.id),
    shells: SHELLS,
    lookup: clusterLookup(),
  })
  process.stdout.write(formatCompletion(completion), () => process.exit(0))
  // A lookup's request that outlived its deadline must not keep the shell waiting.
  return new Promise<never>(() => {})
}

