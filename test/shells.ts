// The shells the completion tests run the scripts in (zsh, fish). A machine without them gets Debian's packages
// unpacked into a cache folder (no root: `apt-get download` and `dpkg-deb -x`), as the control plane tier builds
// its binaries, so that `npm test` passes by itself wherever Debian's packages are reachable.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'

export type Shell = 'zsh' | 'fish'

export interface ShellCommand {
  binary: string
  /** What the unpacked shell needs to find its functions and libraries (nothing for an installed one). */
  env: Record<string, string>
  /** Put before the program: zsh ignores MODULE_PATH from the environment (for security), so it is set in the program. */
  prelude: string
}

/** The Debian packages each shell needs beyond what a Debian machine with Node already has. */
const PACKAGES: Record<Shell, string[]> = {
  zsh: ['zsh', 'zsh-common'],
  fish: ['fish', 'fish-common', 'libpcre2-32-0'],
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name)
    if (dir && existsSync(candidate)) return candidate
  }
  return undefined
}

function cacheRoot(): string {
  return process.env.DUALSTACK_SHELL_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'kubectl-dualstack', 'shells')
}

function sh(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, {cwd, encoding: 'utf8'})
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? result.stderr.trim().split('\n').at(-1)
    throw new Error(`${command} ${args.join(' ')} failed (${why}): install the shell (apt-get install ${args.at(-1)}), or run apt-get update first`)
  }
}

/** Unpacks the shell's packages once; a half-done unpack never becomes the cache (it is renamed in when complete). */
function unpacked(shell: Shell): string {
  const root = path.join(cacheRoot(), shell)
  if (existsSync(root)) return root
  mkdirSync(cacheRoot(), {recursive: true})
  const work = mkdtempSync(path.join(cacheRoot(), `.${shell}-`))
  try {
    const debs = path.join(work, 'debs')
    mkdirSync(debs)
    sh('apt-get', ['download', '-qq', ...PACKAGES[shell]], debs)
    const tree = path.join(work, 'tree')
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) sh('dpkg-deb', ['-x', path.join(debs, deb), tree], work)
    if (!existsSync(root)) renameSync(tree, root)
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
  return root
}

/** The shell on PATH, or Debian's, unpacked into the cache. */
export function shellCommand(shell: Shell): ShellCommand {
  const installed = onPath(shell)
  if (installed) return {binary: installed, env: {}, prelude: ''}
  const root = unpacked(shell)
  // Libraries sit in usr/lib/<multiarch triplet>/.
  const lib = readdirSync(path.join(root, 'usr', 'lib')).map((d) => path.join(root, 'usr', 'lib', d)).find((d) => d.endsWith('-gnu'))!
  if (shell === 'zsh') {
    const functions = path.join(root, 'usr', 'share', 'zsh', 'functions')
    const fpath = readdirSync(functions).map((d) => path.join(functions, d)).filter((d) => statSync(d).isDirectory())
    const modules = readdirSync(path.join(lib, 'zsh')).map((version) => path.join(lib, 'zsh', version))
    return {binary: path.join(root, 'bin', 'zsh'), env: {FPATH: fpath.join(':')}, prelude: `module_path=(${modules.join(' ')}); `}
  }
  return {binary: path.join(root, 'usr', 'bin', 'fish'), env: {LD_LIBRARY_PATH: lib}, prelude: ''}
}
