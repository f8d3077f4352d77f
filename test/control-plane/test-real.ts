// `npm run test:real [-- --all-versions | --version 1.30.14] [test/real/FILE...] [JEST ARGS...]`: the real control plane tier alone (or those files of it).
// Builds what it needs (cold: about 5 minutes), then runs test/real with jest once per Kubernetes version.
import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {KUBERNETES_VERSIONS, calicoManifests, defaultVersion, ensureControlPlane} from './build.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const args = process.argv.slice(2)
let versions = [defaultVersion()]
const jestArgs: string[] = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--all-versions') versions = [...KUBERNETES_VERSIONS]
  else if (args[i] === '--version') versions = [args[++i] ?? '']
  else jestArgs.push(args[i]!)
}
try {
  for (const version of versions) await ensureControlPlane(version)
  calicoManifests()
} catch (error) {
  console.error(`test:real: ${(error as Error).message}`)
  process.exit(1)
}
let failed = false
for (const version of versions) {
  console.error(`\n== real control plane tier: Kubernetes ${version} ==`)
  // Files of the tier named on the command line are run alone (jest ORs path patterns: 'test/real' would add all).
  const only = jestArgs.some((arg) => arg.includes('test/real/'))
  const result = spawnSync(process.execPath, ['--experimental-vm-modules', path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), ...(only ? [] : ['test/real']), ...jestArgs],
    {cwd: ROOT, stdio: 'inherit', env: {...process.env, DUALSTACK_K8S_VERSION: version}})
  if (result.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)
