import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {KubeCommand, allNamespacesFlag, kubeFlags} from '../base-command.js'
import {podPages} from '../cluster/resources.js'
import {ExitCode, UsageError} from '../errors.js'
import {collectPodIps} from '../pods/pod-ips.js'
import {contextsOf, fleetCommand, fleetFlags} from '../fleet/fleet.js'
import {emit, outputOf} from '../render/emit.js'
import {podIpModel, renderPodIpTable, summaryLine} from '../render/pod-ips.js'

export default class PodIps extends KubeCommand {
  static override summary = 'Show the IPv4 and IPv6 addresses of pods, and which are dual-stack'
  static override description = `The runbook's check, for a whole cluster: kubectl get pods POD -o go-template='{{range .status.podIPs}}{{printf "%s\\n" .ip}}{{end}}'.
Pods are read page by page, so memory stays flat on large clusters. Exit 1 with --require-dual when a Running pod on the pod network is not dual-stack.`

  static override examples = [
    {description: 'Every pod, with its families', command: '<%= config.bin %> pod-ips -A'},
    {description: "One pod's addresses, as the runbook's go-template prints them", command: '<%= config.bin %> pod-ips hello-k8s -n default -o plain'},
    {description: 'Fail (exit 1) when a pod of app=web is not dual-stack, on two clusters at once', command: '<%= config.bin %> pod-ips -A -l app=web --require-dual --context prod-eu --context prod-us'},
  ]

  static override enableJsonFlag = true
  static override args = {name: Args.string({description: 'Pod name (in the namespace of -n)', required: false})}
  static override flags = {
    ...kubeFlags,
    ...fleetFlags,
    'all-namespaces': allNamespacesFlag('List pods in all namespaces'),
    selector: Flags.string({char: 'l', description: 'Label selector (e.g. app=web,tier!=db)'}),
    'field-selector': Flags.string({description: 'Field selector (e.g. spec.nodeName=worker-1,status.phase=Running)'}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'wide', 'json', 'yaml', 'plain'], default: 'table'}),
    'require-dual': Flags.boolean({description: 'Exit 1 when a selected Running, non-hostNetwork pod is not dual-stack'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(PodIps)
    const output = outputOf(this, flags.output)
    const contexts = await contextsOf(flags)
    if (contexts.length > 1) {
      if (output === 'plain' || output === 'wide') throw new UsageError(`-o ${output} shows one cluster`, 'with several contexts use -o table (one row per cluster), json or yaml')
      return fleetCommand(this, output, contexts, flags, async (client) => {
        const {report, offenders} = await collectPodIps(podPages(client, {
          namespace: flags['all-namespaces'] ? undefined : client.target.namespace, name: args.name, labelSelector: flags.selector, fieldSelector: flags['field-selector'],
        }), {keepRows: output !== 'table', summarize: true, requireDual: flags['require-dual']})
        const exitCode = offenders.length > 0 ? ExitCode.ProblemsFound : ExitCode.Ok
        return {report, summary: `${summaryLine(report.summary)}${offenders.length > 0 ? `; ${offenders.length} running pod(s) not dual-stack` : ''}`, exitCode}
      }, podIpModel)
    }
    const client = await this.connect({...flags, context: contexts[0]})
    const selection = {
      namespace: flags['all-namespaces'] ? undefined : client.target.namespace,
      name: args.name,
      labelSelector: flags.selector,
      fieldSelector: flags['field-selector'],
    }
    const plain = output === 'plain'
    const {report, offenders} = await collectPodIps(podPages(client, selection), {
      keepRows: !plain, requireDual: flags['require-dual'], onRawPage: plain ? (text) => process.stdout.write(text) : undefined,
    })

    const table = () => renderPodIpTable(report, {allNamespaces: flags['all-namespaces'], wide: output === 'wide', now: Date.now(), theme: this.theme(flags['no-color'])})
    // plain was streamed as it came.
    emit(this, output, podIpModel(report), {table, wide: table, plain: undefined})

    if (offenders.length > 0) {
      const names = offenders.slice(0, 20).map((row) => `${row.namespace}/${row.name} (${row.stack})`).join(', ')
      const more = offenders.length > 20 ? ` and ${offenders.length - 20} more` : ''
      process.stderr.write(`error: ${offenders.length} running pod(s) are not dual-stack: ${names}${more}; recreate pods created before dual-stack was enabled\n`)
      process.exitCode = ExitCode.ProblemsFound
    }
    return podIpModel(report)
  }
}
