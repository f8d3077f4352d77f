// `kubectl_complete-dualstack ARGS...` and `kubectl-dualstack __complete ARGS...`: print the candidates and exit.
import {COMMANDS} from '../commands.js'
import {CHECKS} from '../doctor/checks/index.js'
import {complete, formatCompletion, type CommandSpec} from './complete.js'
import {clusterLookup} from './lookup.js'
import {SHELLS} from './scripts.js'

export async function runCompletion(args: string[], topics: Record<string, string>): Promise<never> {
  const completion = await complete(args.length === 0 ? [''] : args, {
    commands: COMMANDS as unknown as Record<string, CommandSpec>,
    topics,
    checkIds: CHECKS.map((check) => check.id),
    shells: SHELLS,
    lookup: clusterLookup(),
  })
  process.stdout.write(formatCompletion(completion), () => process.exit(0))
  // A lookup's request that outlived its deadline must not keep the shell waiting.
  return new Promise<never>(() => {})
}

/**
 * The words to complete when this process was started for completion, else undefined: kubectl runs
 * `kubectl_complete-dualstack WORDS...` (a link to the plugin, recognised by its name), shell scripts run
 * `kubectl-dualstack __complete WORDS...`.
 */
export function completionWords(invokedAs: string, args: string[]): string[] | undefined {
  const name = invokedAs.split(/[\\/]/).at(-1)?.replace(/\.(exe|cmd)$/i, '') ?? ''
  if (args[0] === '__complete') return args.slice(1)
  return name.startsWith('kubectl_complete-') ? args : undefined
}

/** oclif's topics from package.json, as name -> description. */
export function topicsOf(pjson: {oclif?: {topics?: Record<string, {description?: string}>}}): Record<string, string> {
  return Object.fromEntries(Object.entries(pjson.oclif?.topics ?? {}).map(([name, topic]) => [name, topic.description ?? '']))
}
