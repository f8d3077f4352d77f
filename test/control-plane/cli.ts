// `npm run cluster:real -- [SCENARIO] [--kubeconfig-out FILE] [--version 1.30.14] [--user NAME...]`: a real
// control plane for a scenario, in the foreground. It prints what it started; Ctrl-C stops every process and
// removes its data.
import {copyFileSync} from 'node:fs'
import {parseArgs} from 'node:util'

import {loadScenario} from '../sim/scenario.js'
import {RealCluster} from './cluster.js'

const {positionals, values} = parseArgs({
  allowPositionals: true,
  options: {'kubeconfig-out': {type: 'string'}, version: {type: 'string'}, user: {type: 'string', multiple: true}, verbose: {type: 'boolean'}},
})
const scenario = loadScenario(positionals[0] ?? 'healthy-dual-stack')
let cluster: RealCluster | undefined
let stopping = false
const stop = async (code: number) => {
  if (stopping) return
  stopping = true
  await cluster?.stop()
  process.exit(code)
}
process.on('SIGINT', () => void stop(130))
process.on('SIGTERM', () => void stop(143))
try {
  await RealCluster.start({scenario, version: values.version, users: values.user, log: (line) => process.stderr.write(`${line}\n`)}, (created) => (cluster = created))
} catch (error) {
  process.stderr.write(`cluster:real: ${(error as Error).message}\n`)
  await stop(1)
}
if (cluster && !stopping) {
  if (values['kubeconfig-out']) copyFileSync(cluster.kubeconfig, values['kubeconfig-out'])
  process.stdout.write([
    `ready ${cluster.server} scenario=${scenario.name} kubernetes=v${cluster.version}`,
    `  etcd, kube-apiserver, kube-controller-manager, kube-scheduler, the exec server and the node agent (${scenario.nodes.map((n) => n.name).join(', ')})`,
    `  kubeconfig (admin): ${values['kubeconfig-out'] ?? cluster.kubeconfig}`,
    `  audit log: ${cluster.dir}/audit.log; component logs: ${cluster.dir}/logs/`,
    '  Ctrl-C stops everything and removes the data.',
    '',
  ].join('\n'))
}
