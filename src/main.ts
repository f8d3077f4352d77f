// The npm install's entry (bin/kubectl-dualstack). It imports nothing heavy itself: --version answers at
// once, completion loads what completion needs, and everything else loads oclif and the commands (cli.ts).
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {completionWords, topicsOf} from './completion/words.js'
import {versionLine, wantsVersion, type PackageInfo} from './version.js'

export async function run(binUrl: string): Promise<void> {
  const root = path.dirname(path.dirname(fileURLToPath(binUrl)))
  const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageInfo & Parameters<typeof topicsOf>[0]
  const args = process.argv.slice(2)
  if (wantsVersion(args)) {
    process.stdout.write(`${versionLine(pjson)}\n`)
    return
  }
  const words = completionWords(process.argv[1] ?? '', args)
  if (words) {
    const {runCompletion} = await import('./completion/run.js')
    // The commands' flags as oclif's manifest has them: no command's code is loaded to complete a word.
    const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as {commands: Parameters<typeof runCompletion>[2]}
    await runCompletion(words, topicsOf(pjson), manifest.commands)
  }
  // oclif checks its own package.json's engines with semver as its index loads (about 10 ms); bin/kubectl-dualstack
  // has checked Node's version already, with a message of its own.
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const cli = await import('./cli.js')
  await cli.run(binUrl)
}
