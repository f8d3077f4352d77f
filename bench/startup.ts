// npm run bench: start-up of both installs (npm and the krew binary) next to kubectl's own, medians of
// BENCH_RUNS (default 15) runs each, with peak RSS: --version and --help against `kubectl version
// --client`, and `pod-ips -A` against `kubectl get pods -A` on the runbook's 17-pod cluster.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {testEnv} from '../test/sim/harness.js'
import {loadScenario} from '../test/sim/scenario.js'
import {SimServer} from '../test/sim/server.js'
import {installs} from './installs.js'
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

const {npm, binary} = await installs()
const server = new SimServer(loadScenario('runbook-rke-1.18'))
await server.start()
const kubeconfig = path.join(dir, 'kubeconfig')
writeFileSync(kubeconfig, server.kubeconfig())

const cases: Array<{label: string; plugin: string[]; kubectl: string[]; timeTarget: number; rssTarget?: number}> = [
  {label: '--version', plugin: ['--version'], kubectl: ['version', '--client'], timeTarget: 1.5},
  {label: '--help', plugin: ['--help'], kubectl: ['version', '--client'], timeTarget: 1.5},
  {label: 'pod-ips -A (17 pods)', plugin: ['pod-ips', '-A', '--kubeconfig', kubeconfig], kubectl: ['get', 'pods', '-A', '--kubeconfig', kubeconfig], timeTarget: 1.5, rssTarget: 2},
]

console.log(`start-up, medians of ${RUNS} runs (Node in the binary and npm's: ${process.version}; ${new Date().toISOString()})`)
console.log(`${'case'.padEnd(22)} ${'kubectl'.padStart(16)} ${'npm install'.padStart(16)} ${'binary'.padStart(16)}   ratios (time, RSS) npm | binary   target`)
for (const c of cases) {
  const kubectl = await medians('kubectl', c.kubectl)
  const fromNpm = await medians(npm, c.plugin)
  const fromBinary = await medians(binary, c.plugin)
  const cell = (m: {ms: number; mb: number}) => `${(m.ms / 1000).toFixed(3)} s ${m.mb.toFixed(0).padStart(4)} MB`
  const ratio = (m: {ms: number; mb: number}) => `${(m.ms / kubectl.ms).toFixed(2)}x ${(m.mb / kubectl.mb).toFixed(2)}x`
  const target = `time <= ${c.timeTarget}x${c.rssTarget ? `, RSS <= ${c.rssTarget}x` : ''}`
  console.log(`${c.label.padEnd(22)} ${cell(kubectl).padStart(16)} ${cell(fromNpm).padStart(16)} ${cell(fromBinary).padStart(16)}   ${ratio(fromNpm)} | ${ratio(fromBinary)}   ${target}`)
}
await server.stop()
