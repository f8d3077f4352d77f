// npm run bench:doctor — doctor on generated clusters where every exec takes 50 ms (a kubelet round trip),
// next to the runbook's way of checking forwarding: one `kubectl exec` per node, in sequence. The loop is
// timed on a sample of nodes and scaled to the cluster (it would take minutes in full); both are printed.
// BENCH_NODES=100,1000,5000  BENCH_LOOP_SAMPLE=20
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {generateNodes} from '../test/sim/generate.js'
import {PLUGIN, testEnv} from '../test/sim/harness.js'
import {loadScenario} from '../test/sim/scenario.js'
import {SimServer} from '../test/sim/server.js'
import {kubectlBinaries} from './kubectl.js'
import {measure} from './measure.js'

const kubectl = kubectlBinaries().binary
const sizes = (process.env.BENCH_NODES ?? '100,1000,5000').split(',').map(Number)
const sample = Number(process.env.BENCH_LOOP_SAMPLE ?? '20')
const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-bench-doctor-'))
const env = testEnv({KUBECACHEDIR: path.join(dir, 'kubectl-cache')})

console.log(`kubectl-dualstack doctor benchmark (Node ${process.version}; exec latency 50 ms; ${new Date().toISOString()})`)
for (const nodes of sizes) {
  const scenario = loadScenario('healthy-dual-stack')
  generateNodes(scenario, nodes)
  scenario.execLatencyMs = 50
  const server = new SimServer(scenario)
  await server.start()
  const kubeconfig = path.join(dir, `kubeconfig-${nodes}`)
  writeFileSync(kubeconfig, server.kubeconfig())
  await measure(kubectl, ['--kubeconfig', kubeconfig, 'get', 'namespaces'], env)

  const run = await measure(PLUGIN, ['doctor', '-o', 'json', '--kubeconfig', kubeconfig], env)
  console.log(`\n${nodes.toLocaleString('en-US')} nodes`)
  console.log(`  kubectl dualstack doctor (all ${19} checks)   ${(run.wallMs / 1000).toFixed(2).padStart(7)} s  ${run.peakRssMb.toFixed(0).padStart(5)} MB  exit ${run.exitCode}`)
  if (run.exitCode !== 0) process.exitCode = 1

  // The runbook's loop: kubectl exec into each node's calico-node pod, one after the other.
  const pods = server.sim.store.list(server.sim.type('v1', 'Pod'), 'kube-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'calico-node').slice(0, sample)
  let loopMs = 0
  for (const pod of pods) {
    const one = await measure(kubectl, ['--kubeconfig', kubeconfig, 'exec', '-n', 'kube-system', pod.metadata.name, '--', 'cat', '/proc/sys/net/ipv6/conf/all/forwarding'], env)
    loopMs += one.wallMs
  }
  const perNode = loopMs / pods.length
  const loopTotal = perNode * nodes
  console.log(`  runbook loop, kubectl exec per node     ${(loopTotal / 1000).toFixed(2).padStart(7)} s  (${perNode.toFixed(0)} ms per node, timed on ${pods.length} nodes, scaled to ${nodes})`)
  console.log(`  doctor is ${(loopTotal / run.wallMs).toFixed(1)}x faster than the loop (targets: >= 40x at 100 nodes (issue 24), 50x from 1,000, under 30 s at 5,000 nodes)`)
  await server.stop()
}
