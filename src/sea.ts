// Entry point of the single executable (Node SEA): the krew install, on machines that may have no Node.
// As main.ts for the npm install: --version and completion first, oclif (sea-cli.ts) only when needed. In
// this CommonJS bundle a dynamic import() is a lazy initialiser, so what is not imported is not evaluated.
import {getAsset} from 'node:sea'

import {completionWords, topicsOf} from './completion/words.js'
import {versionLine, wantsVersion} from './version.js'

async function main(): Promise<void> {
  const pjson = JSON.parse(getAsset('package.json', 'utf8'))
  const args = process.argv.slice(2)
  if (wantsVersion(args)) {
    process.stdout.write(`${versionLine(pjson)}\n`)
    return
  }
  // argv0 is the name the binary was started by (a kubectl_complete-dualstack link); execPath is resolved.
  const words = completionWords(process.argv0, args)
  if (words) {
    const {runCompletion} = await import('./completion/run.js')
    await runCompletion(words, topicsOf(pjson), JSON.parse(getAsset('oclif.manifest.json', 'utf8')).commands)
  }
  const {run} = await import('./sea-cli.js')
  await run(pjson, JSON.parse(getAsset('oclif.manifest.json', 'utf8')))
}

void main()
