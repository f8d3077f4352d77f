// The CLI's bundle (dist/cli.cjs, one CommonJS file), run by both installs through src/start/: completion, or
// oclif with the commands. oclif would find a CLI's manifest and commands as files and import each; here
// the manifest comes from the install (a file beside package.json, or the executable's asset) and each command
// from this bundle when oclif asks for it, so a run evaluates only its own command (in this bundle a dynamic
// import() is a lazy initialiser: what is not imported is not evaluated).
import type {Command} from '@oclif/core/command'
import {Config, Plugin} from '@oclif/core/config'
import {execute} from '@oclif/core/execute'
import type * as Interfaces from '@oclif/core/interfaces'

import {runCli} from './cli-process.js'
import {COMMAND_LOADERS} from './commands.js'
import {completionWords, topicsOf} from './completion/words.js'
import {unknownCommand} from './hooks/command-not-found.js'

export interface Install {
  pjson: Interfaces.PJSON
  /** oclif.manifest.json, read when needed (--version and completion of a topic never parse it). */
  manifest(): Interfaces.Manifest
  /** The folder oclif takes as the CLI's root. */
  root: string
  /** The name this process was started by: kubectl runs completion as kubectl_complete-dualstack. */
  invokedAs: string
}

// oclif runs a hook by importing its file. The one hook is called here instead: oclif rebuilds any Config
// it is given (so a subclass would be dropped), hence the method is wrapped on the prototype, in this process only.
const runHook = Config.prototype.runHook
Config.prototype.runHook = async function (this: Config, event: string, opts: unknown, ...rest: unknown[]) {
  if (event === 'command_not_found') unknownCommand((opts as {id: string}).id)
  return (runHook as (...args: unknown[]) => Promise<never>).call(this, event, opts, ...rest)
} as typeof runHook

export async function main({pjson, manifest: readManifest, root, invokedAs}: Install): Promise<void> {
  const words = completionWords(invokedAs, process.argv.slice(2))
  if (words) {
    const {runCompletion} = await import('./completion/run.js')
    // The commands' flags as the manifest has them: no command's code is loaded to complete a word.
    await runCompletion(words, topicsOf(pjson), readManifest().commands)
  }
  // oclif checks its own package.json's engines with semver as its index loads; the bin has checked Node already.
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const manifest = readManifest()
  const plugin = new Plugin({isRoot: true, pjson, root})
  // oclif reads the manifest from a file beside package.json and a command from the file the manifest names:
  // here both come from the install and the bundle. Checked by the command tests of both installs.
  const own = plugin as unknown as {_manifest(): Promise<Interfaces.Manifest>; commandIDs: string[]}
  own._manifest = async () => {
    own.commandIDs = Object.keys(manifest.commands)
    return manifest
  }
  plugin.findCommand = async (id: string, opts: {must?: boolean} = {}): Promise<Command.Class> => {
    const load = COMMAND_LOADERS[id]
    if (!load) {
      if (opts.must) unknownCommand(id)
      return undefined as unknown as Command.Class
    }
    const command = await load()
    command.id = id
    command.plugin = plugin
    return command
  }
  await runCli(async () => {
    await plugin.load()
    await execute({args: process.argv.slice(2), loadOptions: {pjson, plugins: new Map([[plugin.name, plugin]]), root}})
  })
}
