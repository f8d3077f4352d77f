// oclif.manifest.json is what the npm install's --help, completion and command lookup read instead of the
// commands' code: it must say what the code says. Made by the build (npm run build) from the bundle; compared
// here with oclif's own reading of the TypeScript commands.
import {Plugin} from '@oclif/core'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {COMMAND_LOADERS, loadCommands} from '../../src/commands.js'
import {ROOT} from '../sim/harness.js'

type Manifest = {version: string; commands: Record<string, Record<string, unknown> & {relativePath?: string[]}>}

const pjson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string; oclif: Record<string, unknown>}
const built = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest

/** The manifest oclif makes from the classes themselves (the classes the single executable loads). */
async function fromSource(): Promise<Manifest> {
  const oclif = {...pjson.oclif, commands: {strategy: 'explicit', target: './src/commands.ts', identifier: 'COMMANDS'}, hooks: {}}
  const plugin = new Plugin({ignoreManifest: true, isRoot: true, pjson: {...pjson, oclif} as never, root: ROOT})
  ;(plugin as unknown as {commandCache: unknown}).commandCache = await loadCommands()
  await plugin.load()
  return plugin.manifest as unknown as Manifest
}

/** dist/commands' files by oclif id, as the pattern discovery names them (ippool/fix.js is ippool:fix). */
function commandFiles(dir = path.join(ROOT, 'dist', 'commands'), prefix: string[] = []): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? commandFiles(path.join(dir, entry.name), [...prefix, entry.name]) : entry.name.endsWith('.js') ? [[...prefix, entry.name.slice(0, -3)].join(':')] : [])
}

describe('oclif.manifest.json (made by the build)', () => {
  it('has every command of the code, each as oclif reads it from the class: flags, args, summaries, examples', async () => {
    const source = await fromSource()
    expect(built.version).toBe(pjson.version)
    expect(Object.keys(built.commands).sort()).toEqual(Object.keys(COMMAND_LOADERS).sort())
    for (const [id, command] of Object.entries(source.commands)) {
      // Where the file is is the build's to say; everything else must be the class's.
      const {relativePath, isESM, ...said} = built.commands[id]!
      expect(said).toEqual(Object.fromEntries(Object.entries(command).filter(([key]) => key !== 'relativePath' && key !== 'isESM')))
      expect(isESM).toBe(true)
      expect(existsSync(path.join(ROOT, ...relativePath!))).toBe(true)
    }
  })

  it('names each file of dist/commands once: nothing is found by oclif that the manifest does not describe', () => {
    expect(commandFiles().sort()).toEqual(Object.keys(built.commands).sort())
  })
})
