import {Flags} from '@oclif/core'

import {KubeCommand, kubeFlags} from '../base-command.js'
import {parseDuration} from '../cluster/duration.js'
import {ExitCode} from '../errors.js'
import type {Family} from '../net/ip.js'
import {connectivityJunitCases, renderConnectivity} from '../render/connectivity.js'
import {renderJunit} from '../render/junit.js'
import {renderJson} from '../render/structured.js'
import {runConnectivity, type ConnectivityReport} from '../svc/connectivity.js'

export default class Connectivity extends KubeCommand {
  static override summary = 'Prove traffic flows over both families across the cluster: pod to pod, to a ClusterIP, by DNS name, outside'
  static override description = `Deploys a small test workload (a server and a client pod on each of two nodes, and a PreferDualStack Service) in its own namespace, runs the matrix per family, and deletes everything it made, always (also on error or Ctrl-C) unless --keep.
Exit 0 when every test passed, 1 when any failed.`

  static override examples = [
    '<%= config.bin %> connectivity',
    '<%= config.bin %> connectivity --external-target 2606:4700:4700::1111 --family ipv6',
    '<%= config.bin %> connectivity --image registry.internal/nicolaka/netshoot:latest -o junit > connectivity.xml',
  ]

  static override enableJsonFlag = true
  static override flags = {
    ...kubeFlags,
    'namespace-for-tests': Flags.string({description: 'Namespace for the test workload (default: a new dualstack-connectivity-xxxxxx, deleted afterwards)'}),
    image: Flags.string({description: 'Image of the client pods (needs ping, ping6, curl, dig)', default: 'nicolaka/netshoot:latest'}),
    'server-image': Flags.string({description: 'Image of the server pods (agnhost netexec serves HTTP on 8080)', default: 'registry.k8s.io/e2e-test-images/agnhost:2.52'}),
    family: Flags.string({description: 'Which families to test', options: ['ipv4', 'ipv6', 'all'], default: 'all'}),
    'external-target': Flags.string({description: 'Also ping this host or address outside the cluster (what NAT outgoing enables)'}),
    timeout: Flags.string({description: 'Timeout of each test', default: '5s'}),
    'ready-timeout': Flags.string({description: 'How long to wait for the test pods to be Ready', default: '2m'}),
    keep: Flags.boolean({description: 'Keep the test workload'}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json', 'junit'], default: 'table'}),
  }

  async run(): Promise<ConnectivityReport> {
    const {flags} = await this.parse(Connectivity)
    const timeoutMs = parseDuration(flags.timeout, '--timeout')
    const readyTimeoutMs = parseDuration(flags['ready-timeout'], '--ready-timeout')
    const client = this.connect(flags)
    const families: Family[] = flags.family === 'all' ? ['ipv4', 'ipv6'] : [flags.family as Family]
    const progress = process.stderr.isTTY ? (message: string) => process.stderr.write(`\r\x1b[K${message}`) : undefined
    const report = await runConnectivity(client, {
      namespace: flags['namespace-for-tests'], image: flags.image, serverImage: flags['server-image'], families,
      externalTarget: flags['external-target'], probeTimeoutSeconds: Math.max(1, Math.round(timeoutMs / 1000)), readyTimeoutMs, keep: flags.keep, onProgress: progress,
    })
    if (progress) process.stderr.write('\r\x1b[K')
    if (!this.jsonEnabled()) {
      if (flags.output === 'json') this.log(renderJson(report))
      else if (flags.output === 'junit') this.log(renderJunit('kubectl-dualstack connectivity', connectivityJunitCases(report)))
      else this.log(renderConnectivity(report, families, this.theme(flags['no-color'])))
    }
    if (report.summary.fail > 0) process.exitCode = ExitCode.ProblemsFound
    return report
  }
}
