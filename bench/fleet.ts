// npm run bench:fleet: doctor on 20 simulated clusters at once (--all-contexts) against running it on them
// one after another, as a loop over contexts would. BENCH_CLUSTERS changes the count.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {parse, stringify} from 'yaml'

import {PLUGIN, testEnv} from '../test/sim/harness.js'
import {loadScenario} from '../test/sim/scenario.js'
import {SimServer} from '../test/sim/server.js'
import {measure} from './measure.js'

const count = Number(process.env.BENCH_CLUSTERS ?? 20)
const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-fleet-'))
const servers = await Promise.all(Array.from({length: count}, async (_, i) => {
  const server = new SimServer(loadScenario(i % 2 === 0 ? 'healthy-dual-stack' : 'runbook-rke-1.18'))
  await server.start()
  return server
}))
const merged = {apiVersion: 'v1', kind: 'Config', clusters: [] as unknown[], users: [] as unknown[], contexts: [] as unknown[], 'current-context': 'cluster-0'}
servers.forEach((server, i) => {
  const one = parse(server.kubeconfig()) as {clusters: Array<{cluster: unknown}>; users: Array<{user: unknown}>}
  merged.clusters.push({name: `cluster-${i}`, cluster: one.clusters[0]!.cluster})
  merged.users.push({name: `cluster-${i}`, user: one.users[0]!.user})
  merged.contexts.push({name: `cluster-${i}`, context: {cluster: `cluster-${i}`, user: `cluster-${i}`}})
})
const kubeconfig = path.join(dir, 'kubeconfig')
writeFileSync(kubeconfig, stringify(merged))
const env = testEnv()

console.log(`doctor on ${count} simulated clusters (Node ${process.version}; ${new Date().toISOString()})`)
await measure(PLUGIN, ['doctor', '--context', 'cluster-0', '--kubeconfig', kubeconfig], env) // warm
const fleet = await measure(PLUGIN, ['doctor', '--all-contexts', '--kubeconfig', kubeconfig], env)
let sequentialMs = 0
let peak = 0
for (let i = 0; i < count; i++) {
  const one = await measure(PLUGIN, ['doctor', '--context', `cluster-${i}`, '--kubeconfig', kubeconfig], env)
  sequentialMs += one.wallMs
  peak = Math.max(peak, one.peakRssMb)
}
console.log(`  --all-contexts, concurrently   ${(fleet.wallMs / 1000).toFixed(2).padStart(7)} s  ${fleet.peakRssMb.toFixed(0).padStart(5)} MB   exit ${fleet.exitCode}`)
console.log(`  one after another (${count} runs)  ${(sequentialMs / 1000).toFixed(2).padStart(7)} s  ${peak.toFixed(0).padStart(5)} MB (peak of one)`)
console.log(`  speed-up ${(sequentialMs / fleet.wallMs).toFixed(1)}x`)
await Promise.all(servers.map((s) => s.stop()))
