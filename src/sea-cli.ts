// The single executable's oclif: oclif finds a CLI through its package.json and loads its manifest, commands
// and hooks from files; a single executable has none on disk. The package.json and oclif.manifest.json come
// from SEA assets, each command from this bundle when oclif asks for it, and the one hook is called here.
import type {Command} from '@oclif/core/command'
import {Config, Plugin} from '@oclif/core/config'
import {execute} from '@oclif/core/execute'
import type * as Interfaces from '@oclif/core/interfaces'
import {dirname} from 'node:path'

import {runCli} from './cli-process.js'
import {COMMAND_LOADERS} from './commands.js'
import {unknownCommand} from './hooks/command-not-found.js'

// oclif runs a hook by importing its file. The one hook is called here instead: oclif rebuilds any Config
// it is given (so a subclass would be dropped), hence the method is wrapped on the prototype, in this process only.
const runHook = Config.prototype.runHook
Config.prototype.runHook = async function (this: Config, event: string, opts: unknown, ...rest: unknown[]) {
  if (event === 'command_not_found') unknownCommand((opts as {id: string}).id)
  return (runHook as (...args: unknown[]) => Promise<never>).call(this, event, opts, ...rest)
} as typeof runHook

export async function run(pjson: Interfaces.PJSON, manifest: Interfaces.Manifest): Promise<void> {
  // The hook runs from the wrapper above; left in, oclif would try to import its file.
  delete pjson.oclif.hooks
  const root = dirname(process.execPath)
  const plugin = new Plugin({isRoot: true, pjson, root})
  // oclif reads the manifest from a file beside package.json and a command from the file the manifest names:
  // here both come from the bundle. Checked by the single-executable tests (every command runs, --help lists them).
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
