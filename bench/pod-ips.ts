// npm run bench: `pod-ips -A -o plain`, from the npm install and from the krew binary, next to the runbook's
// `kubectl get pods -A -o go-template=...`, on generated simulated clusters. Prints wall time and peak RSS
// of each and the ratios.
// Sizes: BENCH_PODS=30000,100000 (default).
import {writeFileSync} from 'node:fs'
import path from 'node:path'

import {generatePods} from '../test/sim/generate.js'
import {testEnv} from '../test/sim/harness.js'
import {loadScenario} from '../test/sim/scenario.js'
import {SimServer} from '../test/sim/server.js'
import {installs} from './installs.js'
import {kubectlBinaries} from './kubectl.js'
import {measure, type Measurement} from './measure.js'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'

const TEMPLATE = '{{range .items}}{{range .status.podIPs}}{{printf "%s\\n" .ip}}{{end}}{{end}}'
const sizes = (process.env.BENCH_PODS ?? '30000,100000').split(',').map(Number)
const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-bench-'))
const env = testEnv({KUBECACHEDIR: path.join(dir, 'kubectl-cache')})

function row(label: string, m: Measurement): string {
  return `  ${label.padEnd(28)} ${(m.wallMs / 1000).toFixed(2).padStart(8)} s ${m.peakRssMb.toFixed(0).padStart(7)} MB   (exit ${m.exitCode}, ${m.stdoutBytes} bytes)`
}

const kubectl = kubectlBinaries().binary
const {npm, binary} = await installs()
console.log(`kubectl-dualstack pod-ips benchmark (Node ${process.version}; ${new Date().toISOString()}; kubectl binary ${kubectl})`)
const results: Array<{pods: number; kubectl: Measurement; plugin: Measurement; binary: Measurement}> = []
for (const pods of sizes) {
  const server = new SimServer(loadScenario('healthy-dual-stack'))
  await server.start()
  generatePods(server.sim, pods)
  const kubeconfig = path.join(dir, `kubeconfig-${pods}`)
  writeFileSync(kubeconfig, server.kubeconfig())
  // One warm-up each so both start with the page cache and kubectl's discovery cache filled.
  await measure(kubectl, ['--kubeconfig', kubeconfig, 'get', 'namespaces'], env)
  await measure(npm, ['pod-ips', '-n', 'default', '--kubeconfig', kubeconfig], env)
  await measure(binary, ['pod-ips', '-n', 'default', '--kubeconfig', kubeconfig], env)
  const args = ['pod-ips', '-A', '-o', 'plain', '--kubeconfig', kubeconfig]
  const fromKubectl = await measure(kubectl, ['--kubeconfig', kubeconfig, 'get', 'pods', '-A', '-o', `go-template=${TEMPLATE}`], env)
  const plugin = await measure(npm, args, env)
  const fromBinary = await measure(binary, args, env)
  await server.stop()
  console.log(`\n${pods.toLocaleString('en-US')} pods`)
  console.log(row('kubectl get -o go-template', fromKubectl))
  for (const [label, m] of [['pod-ips, npm install', plugin], ['pod-ips, krew binary', fromBinary]] as const) {
    console.log(row(label, m))
    const same = fromKubectl.stdoutSha256 === m.stdoutSha256
    console.log(`  ${''.padEnd(28)} same output: ${same ? 'yes' : 'NO'}; time ${(m.wallMs / fromKubectl.wallMs).toFixed(2)}x kubectl's; RSS ${(m.peakRssMb / fromKubectl.peakRssMb).toFixed(2)}x`)
    if (!same || m.exitCode !== 0) process.exitCode = 1
  }
  if (fromKubectl.exitCode !== 0) process.exitCode = 1
  results.push({pods, kubectl: fromKubectl, plugin, binary: fromBinary})
}
if (results.length > 1) {
  const first = results[0]!
  const last = results.at(-1)!
  console.log(`\npeak RSS as the cluster grows ${first.pods} -> ${last.pods} pods: plugin ${first.plugin.peakRssMb.toFixed(0)} -> ${last.plugin.peakRssMb.toFixed(0)} MB, kubectl ${first.kubectl.peakRssMb.toFixed(0)} -> ${last.kubectl.peakRssMb.toFixed(0)} MB`)
}
console.log('targets (issue 24): at 30,000 pods time <= 0.2x kubectl\'s, peak RSS <= 0.25x kubectl\'s, and flat as the cluster grows, for both installs')
