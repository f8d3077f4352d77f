// The single executable's oclif: oclif finds a CLI through its package.json and loads commands and hooks
// from files; a single executable has neither on disk. The package.json comes from the SEA asset, and the
// commands and the one hook come from this bundle instead of files.
import {Config, execute, Plugin, settings, type Interfaces} from '@oclif/core'
import {dirname} from 'node:path'

import {COMMANDS} from './commands.js'
import {unknownCommand} from './hooks/command-not-found.js'
import {installInterruptHandler} from './interrupt.js'
import {installOutputSanitizer} from './render/sanitize.js'

// oclif runs a hook by importing its file. The one hook is called here instead: oclif rebuilds any Config
// it is given (so a subclass would be dropped), hence the method is wrapped on the prototype, in this process only.
const runHook = Config.prototype.runHook
Config.prototype.runHook = async function (this: Config, event: string, opts: unknown, ...rest: unknown[]) {
  if (event === 'command_not_found') unknownCommand((opts as {id: string}).id)
  return (runHook as (...args: unknown[]) => Promise<never>).call(this, event, opts, ...rest)
} as typeof runHook

export async function run(pjson: Interfaces.PJSON): Promise<void> {
  installInterruptHandler()
  installOutputSanitizer()
  settings.enableAutoTranspile = false // as in cli.ts: nothing to transpile, whatever NODE_ENV says
  // The hook runs from the wrapper above; left in, oclif would try to import its file.
  delete pjson.oclif.hooks
  const root = dirname(process.execPath)
  const plugin = new Plugin({ignoreManifest: true, isRoot: true, pjson, root})
  // oclif keeps the explicit strategy's command map in a private field it fills by importing the target file;
  // filled here, it never imports. Checked by the single-executable tests (every command runs).
  ;(plugin as unknown as {commandCache: typeof COMMANDS}).commandCache = COMMANDS
  await plugin.load()
  await execute({args: process.argv.slice(2), loadOptions: {ignoreManifest: true, pjson, plugins: new Map([[plugin.name, plugin]]), root}})
}
