import * as Flags from '@oclif/core/flags'

import {KubeCommand, kubeFlags} from '../base-command.js'
import {parseDuration} from '../cluster/duration.js'
import type {Status} from '../doctor/check.js'
import {runDoctor} from '../doctor/run.js'
import {ExitCode} from '../errors.js'
import {contextsOf, fleetCommand, fleetFlags} from '../fleet/fleet.js'
import {emit, outputOf} from '../render/emit.js'
import {doctorJunitCases, doctorModel, renderDoctorTable, summaryText} from '../render/doctor.js'
import type {DoctorReport} from '../doctor/run.js'
import {renderJunit} from '../render/junit.js'
import {redrawLine} from '../render/sanitize.js'

export default class Doctor extends KubeCommand {
  static override summary = "Check every setting dual-stack needs, on a live cluster, and say how to fix what's wrong"
  static override description = `Runs the runbook's checks through the Kubernetes API: version and feature gate, the API server's service ranges (a dry-run Service, nothing is stored), node addresses and IPv6 forwarding (read through calico-node), Calico's CNI config, env and IP pools, kube-proxy, single-stack pods and cluster DNS.
Read-only. Exit 0 when nothing failed or errored (with --strict, nothing warned either), 1 otherwise, 3 when the cluster cannot be reached.`

  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --all-contexts',
    '<%= config.bin %> doctor --skip workloads.pod-ips --strict -o junit > doctor.xml',
  ]

  static override enableJsonFlag = true
  static override flags = {
    ...kubeFlags,
    ...fleetFlags,
    only: Flags.string({description: 'Run only these check ids (comma-separated; a prefix like calico.ippool selects a group)', multiple: true, delimiter: ','}),
    skip: Flags.string({description: 'Skip these check ids (comma-separated; prefixes allowed)', multiple: true, delimiter: ','}),
    strict: Flags.boolean({description: 'Warnings fail the run too (exit 1)'}),
    concurrency: Flags.integer({description: 'How many nodes to read at once', default: 16, min: 1, max: 256}),
    'exec-timeout': Flags.string({description: 'Timeout of each exec into a node\'s calico-node pod', default: '10s'}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json', 'yaml', 'junit'], default: 'table'}),
  }

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Doctor)
    const execTimeoutMs = parseDuration(flags['exec-timeout'], '--exec-timeout')
    const output = outputOf(this, flags.output)
    const options = {only: flags.only ?? [], skip: flags.skip ?? [], concurrency: flags.concurrency, execTimeoutMs}
    const failing: Status[] = flags.strict ? ['fail', 'error', 'warn'] : ['fail', 'error']
    const exitOf = (report: DoctorReport) => (report.checks.some((c) => failing.includes(c.status)) ? ExitCode.ProblemsFound : ExitCode.Ok)
    const contexts = await contextsOf(flags)

    if (contexts.length > 1) {
      return fleetCommand(this, output, contexts, flags, async (client) => {
        const report = await runDoctor(client, options)
        return {report, summary: summaryText(report.summary), exitCode: exitOf(report)}
      }, doctorModel, {
        // One JUnit run for the fleet: each cluster's checks under its context; an unreachable cluster is one error.
        junit: (outcomes) => renderJunit('kubectl-dualstack doctor', outcomes.flatMap((o) => (o.report
          ? doctorJunitCases(o.report, flags.strict).map((c) => ({...c, classname: `${o.context}.${c.classname}`}))
          : [{classname: o.context, name: 'cluster', outcome: 'error' as const, message: o.error ?? o.summary}]))),
      })
    }

    const client = await this.connect({...flags, context: contexts[0]})
    const progress = process.stderr.isTTY ? (what: string, done: number, total: number) => {
      redrawLine(process.stderr, `${what}: ${done}/${total}`, false)
      if (done === total) redrawLine(process.stderr, '')
    } : undefined
    const report = await runDoctor(client, {...options, onProgress: progress})
    emit(this, output, doctorModel(report), {
      table: () => renderDoctorTable(report, this.theme(flags['no-color'])), junit: () => renderJunit('kubectl-dualstack doctor', doctorJunitCases(report, flags.strict)),
    })
    process.exitCode = exitOf(report)
    return doctorModel(report)
  }
}
