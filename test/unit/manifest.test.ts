// oclif.manifest.json is what both installs' --help, completion and command lookup read instead of the
// commands' code: it must say what the code says. Made by the build (npm run build); compared here with
// oclif's own reading of the TypeScript commands now, so a command changed without a rebuild fails.
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {commandsManifest} from '../../.ci/build.js'
import {COMMAND_LOADERS} from '../../src/commands.js'
import {ROOT} from '../sim/harness.js'

type Manifest = {version: string; commands: Record<string, Record<string, unknown>>}

const pjson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string; oclif: Record<string, unknown>}
const built = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest

describe('oclif.manifest.json (made by the build)', () => {
  it('has every command of the code, each as oclif reads it from the class: flags, args, summaries, examples', async () => {
    const source = (await commandsManifest()) as Manifest
    expect(built.version).toBe(pjson.version)
    expect(Object.keys(built.commands).sort()).toEqual(Object.keys(COMMAND_LOADERS).sort())
    for (const [id, command] of Object.entries(source.commands)) {
      expect(built.commands[id]).toEqual(command)
    }
  })

  it('orders its ids by code point as oclif\'s localeCompare does (the bundle sorts them so: .ci/build.ts oclifCommandSort)', () => {
    const ids = Object.keys(built.commands)
    const byCodePoint = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    expect(byCodePoint).toEqual([...ids].sort((a, b) => a.localeCompare(b)))
    expect(byCodePoint).toEqual(expect.arrayContaining(['ippool:fix', 'pod-ips', 'pods:recreate']))
  })
})
