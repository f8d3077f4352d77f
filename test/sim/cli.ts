// Runs a simulated cluster until interrupted: `tsx test/sim/cli.ts runbook-rke-1.18 --kubeconfig-out FILE`.
// --generate-pods N adds N dual-stack pods (spread over the nodes), --generate-nodes N makes N nodes, and
// --exec-latency-ms MS delays every exec, --pod-start-ms MS every pod's start, for benchmarks and profiling.
import {writeFileSync} from 'node:fs'
import {parseArgs} from 'node:util'

import {generateNodes, generatePods} from './generate.js'
import {loadScenario} from './scenario.js'
import {SimServer} from './server.js'

const {positionals, values} = parseArgs({
  allowPositionals: true,
  options: {'kubeconfig-out': {type: 'string'}, 'generate-pods': {type: 'string'}, 'generate-nodes': {type: 'string'}, 'exec-latency-ms': {type: 'string'}, 'pod-start-ms': {type: 'string'}, user: {type: 'string'}},
})
const scenario = loadScenario(positionals[0] ?? 'healthy-dual-stack')
if (values['generate-nodes']) generateNodes(scenario, Number(values['generate-nodes']))
if (values['exec-latency-ms']) scenario.execLatencyMs = Number(values['exec-latency-ms'])
if (values['pod-start-ms']) scenario.podStartMs = Number(values['pod-start-ms'])
const server = new SimServer(scenario)
await server.start()
if (values['generate-pods']) generatePods(server.sim, Number(values['generate-pods']))
const kubeconfig = server.kubeconfig({user: values.user})
if (values['kubeconfig-out']) writeFileSync(values['kubeconfig-out'], kubeconfig)
process.stdout.write(`ready ${server.url} scenario=${scenario.name}\n`)
const stop = () => void server.stop().then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
