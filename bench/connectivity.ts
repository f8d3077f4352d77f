// npm run bench:connectivity — connectivity on a generated cluster where every exec takes 50 ms (a kubelet
// round trip) and a pod takes 2 s to start, with one node's IPv6 forwarding off: every node tested
// (--sample 0), then the default (a sample of 100 holding the suspicious node). Prints wall time, peak RSS,
// the tests run, whether the bad node was named, and what was left in the cluster afterwards (must be 0);
// then Ctrl-C in the middle of a run: how long the exit takes and what is left (must be 0).
// BENCH_NODES=1000  BENCH_CONCURRENCY=32
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {generateNodes} from '../test/sim/generate.js'
import {PLUGIN, testEnv} from '../test/sim/harness.js'
import {loadScenario} from '../test/sim/scenario.js'
import {SimServer} from '../test/sim/server.js'
import {measure} from './measure.js'

const nodes = Number(process.env.BENCH_NODES ?? '1000')
const concurrency = process.env.BENCH_CONCURRENCY ?? '32'
const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-bench-connectivity-'))
const env = testEnv()

const scenario = loadScenario('healthy-dual-stack')
generateNodes(scenario, nodes)
const bad = scenario.nodes[Math.floor(nodes * 0.37)]!
bad.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
scenario.execLatencyMs = 50
scenario.podStartMs = 2000
const server = new SimServer(scenario)
/** Test pods, DaemonSets and namespaces of ours still in the cluster. */
const leftBehind = () => server.sim.store.list(server.sim.type('v1', 'Pod')).filter((p) => p.metadata.namespace?.startsWith('dualstack-')).length
  + server.sim.store.list(server.sim.type('apps/v1', 'DaemonSet')).filter((d) => d.metadata.namespace?.startsWith('dualstack-')).length
  + server.sim.store.list(server.sim.type('v1', 'Namespace')).filter((n) => n.metadata.name?.startsWith('dualstack-')).length
await server.start()
const kubeconfig = path.join(dir, 'kubeconfig')
writeFileSync(kubeconfig, server.kubeconfig())

console.log(`kubectl-dualstack connectivity benchmark (Node ${process.version}; ${nodes.toLocaleString('en-US')} nodes, exec 50 ms, pod start 2 s, --concurrency ${concurrency}; IPv6 forwarding off on ${bad.name}; ${new Date().toISOString()})`)
for (const [label, extra] of [['every node (--sample 0)', ['--sample', '0']], ['default (sample of 100)', []]] as const) {
  const execsBefore = server.sim.requests.filter((r) => r.verb === 'exec').length
  const run = await measure(PLUGIN, ['connectivity', '-o', 'json', '--timeout', '1s', '--concurrency', concurrency, '--kubeconfig', kubeconfig, ...extra], env, true)
  const report = JSON.parse(run.stdout ?? '{}') as {nodes: string[]; summary: {pass: number; fail: number; notReady: number}; nodeSummary: Array<{node: string; status: string}>}
  const failing = report.nodeSummary.filter((n) => n.status === 'fail').map((n) => n.node)
  const left = leftBehind()
  const execs = server.sim.requests.filter((r) => r.verb === 'exec').length - execsBefore
  console.log(`  ${label.padEnd(26)} ${(run.wallMs / 1000).toFixed(1).padStart(6)} s  ${run.peakRssMb.toFixed(0).padStart(4)} MB  exit ${run.exitCode}  nodes ${report.nodes.length}`
    + `  tests ${report.summary.pass + report.summary.fail} (${report.summary.fail} failed)  execs ${execs}  failing nodes: ${failing.join(', ') || 'none'}  left behind: ${left}`)
  if (run.wallMs > 120_000 || !failing.includes(bad.name) || failing.length !== 1 || left > 0) process.exitCode = 1
}

// Ctrl-C once a thousand tests have run.
const execsBefore = server.sim.requests.filter((r) => r.verb === 'exec').length
const child = spawn(PLUGIN, ['connectivity', '--sample', '0', '--kubeconfig', kubeconfig], {env, stdio: 'ignore'})
const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
while (server.sim.requests.filter((r) => r.verb === 'exec').length - execsBefore < 1000) await new Promise((resolve) => setTimeout(resolve, 100))
const interruptedAt = Date.now()
child.kill('SIGINT')
const code = await exited
const left = leftBehind()
console.log(`  ${'Ctrl-C after 1,000 tests'.padEnd(26)} exit ${code} in ${((Date.now() - interruptedAt) / 1000).toFixed(1)} s  left behind: ${left}`)
if (code !== 130 || left > 0) process.exitCode = 1
await server.stop()
