import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {KubeCommand, kubeFlags} from '../base-command.js'
import {parseDuration} from '../cluster/duration.js'
import {CLIENT_IMAGE} from '../connectivity/workload.js'
import {ExitCode} from '../errors.js'
import {renderSvcCheckTable, svcCheckVerdict} from '../render/svc-check.js'
import {probeFlags, probeSettings, progressLine} from '../probe/options.js'
import {runSvcCheck} from '../svc/run.js'
import {contextsOf, fleetCommand, fleetFlags} from '../fleet/fleet.js'
import {emit, outputOf} from '../render/emit.js'
import type {ClusterClient} from '../cluster/kube.js'

export default class SvcCheck extends KubeCommand {
  static override summary = 'Prove a Service answers over IPv4 and IPv6: ClusterIPs, endpoints, ping to its pods, HTTP to its ClusterIP'
  static override description = `The runbook's validation for one Service, run from a pod in the cluster: --from an existing pod, or a short-lived pod created for the check (image --image) and always deleted afterwards, also on error or Ctrl-C, unless --keep.
Exit 0 when every test passed, 1 when any failed.`

  static override examples = [
    '<%= config.bin %> svc-check svc-hellok8s -n default',
    '<%= config.bin %> svc-check svc-hellok8s -n default --all-contexts',
    '<%= config.bin %> svc-check web --image registry.internal:5001/nicolaka/netshoot:v0.13 -o json',
  ]

  static override enableJsonFlag = true
  static override args = {service: Args.string({description: 'Service name (in the namespace of -n)', required: true})}
  static override flags = {
    ...kubeFlags,
    ...fleetFlags,
    from: Flags.string({description: 'Run the tests from this existing pod (POD, or NS/POD in another namespace) instead of creating one'}),
    'pod-namespace': Flags.string({description: "Namespace of the pod created for the check (default: the Service's)"}),
    image: Flags.string({description: 'Image of the pod created for the check (needs ping, ping6 and curl)', default: CLIENT_IMAGE}),
    ...probeFlags,
    'delete-timeout': Flags.string({description: 'How long to wait for the pod it created to be gone after deleting it', default: '30s'}),
    port: Flags.string({description: "Service port for the HTTP test, by number or name (default: the Service's first TCP port)"}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json', 'yaml'], default: 'table'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(SvcCheck)
    const settings = probeSettings(flags)
    const output = outputOf(this, flags.output)
    const contexts = await contextsOf(flags)
    const options = (client: ClusterClient, prefix = '') => ({
      ...settings, namespace: client.target.namespace, service: args.service, from: flags.from, image: flags.image, podNamespace: flags['pod-namespace'], port: flags.port,
      deleteTimeoutMs: parseDuration(flags['delete-timeout'], '--delete-timeout'),
      onLeftBehind: (what: string) => process.stderr.write(`warning: ${prefix}${what}\n`),
    })
    if (contexts.length > 1) {
      return fleetCommand(this, output, contexts, flags, async (client) => {
        const report = await runSvcCheck(client, options(client, `context ${client.target.context}: `))
        return {report, summary: svcCheckVerdict(report), exitCode: report.results.some((r) => r.status === 'fail') ? ExitCode.ProblemsFound : ExitCode.Ok}
      }, (report) => report)
    }
    const client = await this.connect({...flags, context: contexts[0]})
    const progress = progressLine()
    const report = await runSvcCheck(client, {...options(client), onProgress: progress.update})
    progress.done()
    emit(this, output, report, {table: () => renderSvcCheckTable(report, this.theme(flags['no-color']))})
    if (report.results.some((r) => r.status === 'fail')) process.exitCode = ExitCode.ProblemsFound
    return report
  }
}
