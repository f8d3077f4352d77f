// npm run bench: start-up of both installs (npm and the krew binary) next to the kubectl binary's, medians of
// BENCH_RUNS (default 15) runs each, with peak RSS: --version against `kubectl version --client`, --help
// against `kubectl --help`, and `pod-ips -A` against `kubectl get pods -A` on the runbook's 17-pod cluster.
// The anchor is the kubectl binary itself: gcloud's `kubectl` is a dispatcher that starts a versioned binary
// beside it (kubectl.1.NN), so its own figure is printed too, labelled, and never used for the ratios.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {testEnv} from '../test/sim/harness.js'
import {loadScenario} from '../test/sim/scenario.js'
import {SimServer} from '../test/sim/server.js'
import {installs} from './installs.js'
import {kubectlBinaries} from './kubectl.js'
import {measure, type Measurement} from './measure.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-startup-'))
const env = testEnv({KUBECACHEDIR: path.join(dir, 'kubectl-cache')})

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function medians(command: string, args: string[]): Promise<{ms: number; mb: number}> {
  await measure(command, args, env) // warm: page cache, compile cache, kubectl's discovery cache
  const runs: Measurement[] = []
  for (let i = 0; i < RUNS; i++) {
    const m = await measure(command, args, env)
    if (m.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} exited ${m.exitCode}`)
    runs.push(m)
  }
  return {ms: median(runs.map((m) => m.wallMs)), mb: median(runs.map((m) => m.peakRssMb))}
}

const kubectlBinary = kubectlBinaries()
const {npm, binary} = await installs()
const server = new SimServer(loadScenario('runbook-rke-1.18'))
await server.start()
const kubeconfig = path.join(dir, 'kubeconfig')
writeFileSync(kubeconfig, server.kubeconfig())

// The issue's targets (issue 24): time and peak RSS against the kubectl binary's.
const cases: Array<{label: string; plugin: string[]; kubectl: string[]; timeTarget: number; rssTarget?: number}> = [
  {label: '--version', plugin: ['--version'], kubectl: ['version', '--client'], timeTarget: 1.0},
  {label: '--help', plugin: ['--help'], kubectl: ['--help'], timeTarget: 1.4},
  {label: 'pod-ips -A (17 pods)', plugin: ['pod-ips', '-A', '--kubeconfig', kubeconfig], kubectl: ['get', 'pods', '-A', '--kubeconfig', kubeconfig], timeTarget: 1.6, rssTarget: 1.6},
]

const cell = (m: {ms: number; mb: number}) => `${(m.ms / 1000).toFixed(3)} s ${m.mb.toFixed(0).padStart(4)} MB`
console.log(`start-up, medians of ${RUNS} runs (Node in the binary and npm's: ${process.version}; ${new Date().toISOString()})`)
console.log(`kubectl binary: ${kubectlBinary.binary}${kubectlBinary.dispatcher ? ` (started by the dispatcher ${kubectlBinary.dispatcher})` : ''}`)
console.log(`${'case'.padEnd(22)} ${'kubectl'.padStart(16)} ${'npm install'.padStart(16)} ${'binary'.padStart(16)}   ratios (time, RSS) npm | binary   target`)
const dispatcherRows: string[] = []
for (const c of cases) {
  const kubectl = await medians(kubectlBinary.binary, c.kubectl)
  const fromNpm = await medians(npm, c.plugin)
  const fromBinary = await medians(binary, c.plugin)
  const ratio = (m: {ms: number; mb: number}) => `${(m.ms / kubectl.ms).toFixed(2)}x ${(m.mb / kubectl.mb).toFixed(2)}x`
  const met = (m: {ms: number; mb: number}) => m.ms / kubectl.ms <= c.timeTarget && (!c.rssTarget || m.mb / kubectl.mb <= c.rssTarget)
  const target = `time <= ${c.timeTarget}x${c.rssTarget ? `, RSS <= ${c.rssTarget}x` : ''}: ${met(fromNpm) ? 'met' : 'NOT met'} | ${met(fromBinary) ? 'met' : 'NOT met'}`
  console.log(`${c.label.padEnd(22)} ${cell(kubectl).padStart(16)} ${cell(fromNpm).padStart(16)} ${cell(fromBinary).padStart(16)}   ${ratio(fromNpm)} | ${ratio(fromBinary)}   ${target}`)
  if (kubectlBinary.dispatcher) dispatcherRows.push(`${c.label.padEnd(22)} ${cell(await medians(kubectlBinary.dispatcher, c.kubectl)).padStart(16)}`)
}
if (kubectlBinary.dispatcher) console.log(`\nfor reference only, the dispatcher on PATH (${kubectlBinary.dispatcher}), same commands:\n${dispatcherRows.join('\n')}`)
await server.stop()
