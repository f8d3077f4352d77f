// Helpers for tests: start a simulated cluster from a scenario, write its kubeconfig, and run the real
// plugin binary or the real kubectl against it in a subprocess.
import {execFile, spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {parse, stringify} from 'yaml'

import {loadScenario, type Scenario} from './scenario.js'
import {SimServer} from './server.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const PLUGIN = path.join(ROOT, 'bin', 'kubectl-dualstack')

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface RunningSim {
  server: SimServer
  dir: string
  kubeconfig: string
  /** Writes another kubeconfig (another user, namespace, CA or server) and returns its path. */
  writeKubeconfig(name: string, options?: Parameters<SimServer['kubeconfig']>[0]): string
  stop(): Promise<void>
}

export async function startSim(scenario: string | Scenario, mutate?: (s: Scenario) => void): Promise<RunningSim> {
  const loaded = typeof scenario === 'string' ? loadScenario(scenario) : scenario
  mutate?.(loaded)
  const server = new SimServer(loaded)
  await server.start()
  const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-sim-'))
  const writeKubeconfig = (name: string, options?: Parameters<SimServer['kubeconfig']>[0]) => {
    const file = path.join(dir, name)
    writeFileSync(file, server.kubeconfig(options))
    return file
  }
  const kubeconfig = writeKubeconfig('kubeconfig')
  return {
    server, dir, kubeconfig, writeKubeconfig,
    async stop() {
      await server.stop()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Environment for subprocesses: this Node first on PATH (the pinned Node 24), no colour, a HOME with no kubeconfig. */
export function testEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1'}
  delete env.KUBECONFIG
  delete env.DEBUG
  delete env.FORCE_COLOR
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return env
}

export function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, {env, timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024}, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : error.signal ? 128 : 1) : 0
      resolve({code, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

export function runPlugin(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<RunResult> {
  return run(PLUGIN, args, testEnv(extraEnv))
}

// kubectl caches discovery per server address; ports get reused between simulated clusters.
const KUBECTL_CACHE = mkdtempSync(path.join(tmpdir(), 'dualstack-kubectl-cache-'))

/** The real kubectl. It is on PATH on every machine here and in CI: a missing kubectl fails the test. */
export function runKubectl(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<RunResult> {
  return run('kubectl', args, testEnv({KUBECACHEDIR: KUBECTL_CACHE, ...extraEnv}))
}

/** Starts the plugin, sends it SIGINT (Ctrl-C) once `ready()` holds, and returns how it ended. */
export async function interruptPlugin(args: string[], ready: () => boolean, extraEnv: Record<string, string | undefined> = {}): Promise<{code: number | null; stderr: string}> {
  const child = spawn(PLUGIN, args, {env: testEnv(extraEnv)})
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  const deadline = Date.now() + 20_000
  while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  child.kill('SIGINT')
  return {code: await exited, stderr}
}

/**
 * Runs the plugin under `script` (a pseudo-terminal, as an interactive shell has), waits for `prompt` in what
 * it prints, runs `beforeAnswer`, types `answer` and a newline, and returns how it ended with everything it printed.
 */
export async function answerAtTerminal(args: string[], prompt: string, answer: string, beforeAnswer?: () => Promise<void>): Promise<{code: number | null; output: string}> {
  const cmd = [PLUGIN, ...args].map((a) => `'${a}'`).join(' ')
  const child = spawn('script', ['-qec', cmd, '/dev/null'], {env: testEnv()})
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const deadline = Date.now() + 20_000
  while (!output.includes(prompt) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  // What happens while the user reads the plan (another writer changing the cluster, say).
  await beforeAnswer?.()
  // A control key (Ctrl-C, Ctrl-D) is pressed alone; anything else is typed and Enter pressed.
  child.stdin.write(answer === '\x03' || answer === '\x04' ? answer : `${answer}\n`)
  const code = await exited
  child.stdin.end()
  return {code, output}
}

/** One kubeconfig with a context per cluster, named as given (each member a one-context kubeconfig's text). */
export function fleetKubeconfig(file: string, members: Record<string, string>): string {
  type One = {clusters: Array<{cluster: Record<string, unknown>}>; users: Array<{user: Record<string, unknown>}>}
  const merged = {apiVersion: 'v1', kind: 'Config', 'current-context': Object.keys(members)[0], clusters: [] as unknown[], users: [] as unknown[], contexts: [] as unknown[]}
  for (const [name, text] of Object.entries(members)) {
    const one = parse(text) as One
    merged.clusters.push({name, cluster: one.clusters[0]!.cluster})
    merged.users.push({name, user: one.users[0]!.user})
    merged.contexts.push({name, context: {cluster: name, user: name}})
  }
  writeFileSync(file, stringify(merged))
  return file
}
