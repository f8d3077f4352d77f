// Runs a simulated cluster until interrupted: `tsx test/sim/cli.ts runbook-rke-1.18 --kubeconfig-out FILE`.
// --generate-pods N adds N dual-stack pods (spread over the nodes) for benchmarks.
import {writeFileSync} from 'node:fs'
import {parseArgs} from 'node:util'

import {generatePods} from './generate.js'
import {loadScenario} from './scenario.js'
import {SimServer} from './server.js'

const {positionals, values} = parseArgs({
  allowPositionals: true,
  options: {'kubeconfig-out': {type: 'string'}, 'generate-pods': {type: 'string'}, user: {type: 'string'}},
})
const scenario = loadScenario(positionals[0] ?? 'healthy-dual-stack')
const server = new SimServer(scenario)
await server.start()
if (values['generate-pods']) generatePods(server.sim, Number(values['generate-pods']))
const kubeconfig = server.kubeconfig({user: values.user})
if (values['kubeconfig-out']) writeFileSync(values['kubeconfig-out'], kubeconfig)
process.stdout.write(`ready ${server.url} scenario=${scenario.name}\n`)
const stop = () => void server.stop().then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
