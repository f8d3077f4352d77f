import {Args, Flags} from '@oclif/core'

import {KubeCommand, kubeFlags} from '../base-command.js'
import {parseDuration} from '../cluster/duration.js'
import {ExitCode} from '../errors.js'
import type {Family} from '../net/ip.js'
import {renderJson} from '../render/structured.js'
import {renderSvcCheckTable} from '../render/svc-check.js'
import {runSvcCheck, type SvcCheckReport} from '../svc/run.js'

export default class SvcCheck extends KubeCommand {
  static override summary = 'Prove a Service answers over IPv4 and IPv6: ClusterIPs, endpoints, ping to its pods, HTTP to its ClusterIP'
  static override description = `The runbook's validation for one Service, run from a pod in the cluster: --from an existing pod, or a short-lived pod created for the check (image --image) and always deleted afterwards, also on error or Ctrl-C, unless --keep.
Exit 0 when every test passed, 1 when any failed.`

  static override examples = [
    '<%= config.bin %> svc-check svc-hellok8s -n default',
    '<%= config.bin %> svc-check svc-hellok8s --from netshoot --family ipv6',
    '<%= config.bin %> svc-check web --image registry.internal:5001/nicolaka/netshoot:latest -o json',
  ]

  static override enableJsonFlag = true
  static override args = {service: Args.string({description: 'Service name (in the namespace of -n)', required: true})}
  static override flags = {
    ...kubeFlags,
    from: Flags.string({description: 'Run the tests from this existing pod instead of creating one'}),
    image: Flags.string({description: 'Image of the pod created for the check (needs ping, ping6 and curl)', default: 'nicolaka/netshoot:latest'}),
    family: Flags.string({description: 'Which families to test', options: ['ipv4', 'ipv6', 'all'], default: 'all'}),
    port: Flags.integer({description: "Service port for the HTTP test (default: the Service's first port)", min: 1, max: 65_535}),
    timeout: Flags.string({description: 'Timeout of each ping and HTTP test', default: '5s'}),
    'ready-timeout': Flags.string({description: 'How long to wait for the created pod to be Ready', default: '2m'}),
    keep: Flags.boolean({description: 'Keep the pod created for the check'}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json'], default: 'table'}),
  }

  async run(): Promise<SvcCheckReport> {
    const {args, flags} = await this.parse(SvcCheck)
    const probeTimeoutMs = parseDuration(flags.timeout, '--timeout')
    const readyTimeoutMs = parseDuration(flags['ready-timeout'], '--ready-timeout')
    const client = this.connect(flags)
    const families: Family[] = flags.family === 'all' ? ['ipv4', 'ipv6'] : [flags.family as Family]
    const progress = process.stderr.isTTY ? (message: string) => process.stderr.write(`\r\x1b[K${message}`) : undefined
    const report = await runSvcCheck(client, {
      namespace: client.target.namespace, service: args.service, from: flags.from, image: flags.image, families, port: flags.port,
      probeTimeoutSeconds: Math.max(1, Math.round(probeTimeoutMs / 1000)), readyTimeoutMs, keep: flags.keep, onProgress: progress,
    })
    if (progress) process.stderr.write('\r\x1b[K')
    if (this.jsonEnabled()) {
      // oclif prints the returned model
    } else if (flags.output === 'json') this.log(renderJson(report))
    else this.log(renderSvcCheckTable(report, this.theme(flags['no-color'])))
    if (report.results.some((r) => r.status === 'fail')) process.exitCode = ExitCode.ProblemsFound
    return report
  }
}
