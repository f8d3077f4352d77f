import {Flags} from '@oclif/core'

import {KubeCommand, kubeFlags} from '../base-command.js'
import {ExitCode} from '../errors.js'
import {connectivityJunitCases, renderConnectivity} from '../render/connectivity.js'
import {renderJunit} from '../render/junit.js'
import {renderJson} from '../render/structured.js'
import {runConnectivity, type ConnectivityReport} from '../svc/connectivity.js'
import {probeFlags, probeSettings, progressLine} from '../svc/options.js'

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
    ...probeFlags,
    'external-target': Flags.string({description: 'Also ping this host or address outside the cluster (what NAT outgoing enables)'}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json', 'junit'], default: 'table'}),
  }

  async run(): Promise<ConnectivityReport> {
    const {flags} = await this.parse(Connectivity)
    const settings = probeSettings(flags)
    const client = await this.connect(flags)
    const progress = progressLine()
    const report = await runConnectivity(client, {
      ...settings, namespace: flags['namespace-for-tests'], image: flags.image, serverImage: flags['server-image'],
      externalTarget: flags['external-target'], onProgress: progress.update, onLeftBehind: (what: string) => process.stderr.write(`warning: ${what}\n`),
    })
    progress.done()
    if (!this.jsonEnabled()) {
      if (flags.output === 'json') this.log(renderJson(report))
      else if (flags.output === 'junit') this.log(renderJunit('kubectl-dualstack connectivity', connectivityJunitCases(report)))
      else this.log(renderConnectivity(report, settings.families, this.theme(flags['no-color'])))
    }
    if (report.summary.fail > 0) process.exitCode = ExitCode.ProblemsFound
    return report
  }
}
