// Whether this process was started for completion, decided before anything heavy is loaded.

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
