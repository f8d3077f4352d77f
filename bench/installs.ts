// The two ways users get the plugin, made from this build as a user would get them: the npm package
// (npm pack, then npm install -g into a temporary prefix) and the krew archive's single executable.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import * as tar from 'tar'

import {ROOT, testEnv} from '../test/sim/harness.js'

export interface Installs {
  npm: string
  binary: string
}

export async function installs(): Promise<Installs> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-installs-'))
  const env = testEnv({npm_config_cache: path.join(dir, 'npm-cache')})
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {cwd: ROOT, env, encoding: 'utf8'}).trim().split('\n').at(-1)!
  execFileSync('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', path.join(dir, 'npm'), path.join(dir, tarball)], {env, stdio: 'ignore'})
  const {version} = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}
  const archive = path.join(ROOT, 'release', `kubectl-dualstack_v${version}_linux_amd64.tar.gz`)
  await tar.extract({file: archive, cwd: dir})
  return {npm: path.join(dir, 'npm', 'bin', 'kubectl-dualstack'), binary: path.join(dir, 'kubectl-dualstack')}
}
