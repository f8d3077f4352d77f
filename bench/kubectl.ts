// The kubectl the benchmarks compare with: the binary a user runs, not a wrapper around it.
import {execFileSync} from 'node:child_process'
import {existsSync, realpathSync} from 'node:fs'
import path from 'node:path'

/** The kubectl binary a user runs: $KUBECTL_BINARY, else the versioned binary a dispatcher on PATH starts, else kubectl on PATH. */
export function kubectlBinaries(): {binary: string; dispatcher?: string} {
  if (process.env.KUBECTL_BINARY) return {binary: process.env.KUBECTL_BINARY}
  const onPath = realpathSync(execFileSync('sh', ['-c', 'command -v kubectl'], {encoding: 'utf8'}).trim())
  const version = JSON.parse(execFileSync(onPath, ['version', '--client', '-o', 'json'], {encoding: 'utf8'})) as {clientVersion: {gitVersion: string; minor: string}}
  if (!version.clientVersion.gitVersion.includes('dispatcher')) return {binary: onPath}
  const versioned = path.join(path.dirname(onPath), `kubectl.1.${version.clientVersion.minor.replace(/\D/g, '')}`)
  if (!existsSync(versioned)) throw new Error(`kubectl on PATH (${onPath}) is a dispatcher and ${versioned} is not there: set KUBECTL_BINARY`)
  return {binary: versioned, dispatcher: onPath}
}

