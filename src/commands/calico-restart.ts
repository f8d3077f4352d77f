import * as Flags from '@oclif/core/flags'

import {KubeCommand, clusterScopedKubeFlags} from '../base-command.js'
import {waitDuration} from '../cluster/duration.js'
import {ExitCode} from '../errors.js'
import {repairInterrupt} from '../interrupt.js'
import {runCalicoRestart, type CalicoRestartReport} from '../ops/calico-restart.js'
import {confirm} from '../ops/confirm.js'
import {renderCalicoRestart} from '../render/calico-restart.js'
import {emit, outputOf} from '../render/emit.js'

export default class CalicoRestart extends KubeCommand {
  static override summary = 'Restart calico-node node by node (each waited for until Ready), then calico-kube-controllers'
  static override description = `The runbook's "delete every calico pod in kube-system", without taking every node's pod network down at once: calico-node's pod on N nodes at a time (--max-unavailable, default 1) is deleted and its replacement waited for until Ready before the next, then calico-kube-controllers. No spec is edited, so manifest, Helm, operator and GitOps installs behave alike. Only Calico's pods in Calico's namespace (kube-system, or calico-system for operator installs) are touched.
It stops at the first node that does not come back and says why (phase, container state, last events). Exit 0 when all restarted (or --dry-run), 1 when one did not come back or another repair holds the lock, 2 on bad usage.`

  static override examples = [
    '<%= config.bin %> calico-restart --dry-run',
    '<%= config.bin %> calico-restart --max-unavailable 2 --yes',
    '<%= config.bin %> calico-restart --all-at-once --yes -o json',
  ]

  static override enableJsonFlag = true
  static override flags = {
    ...clusterScopedKubeFlags,
    'max-unavailable': Flags.integer({description: 'How many nodes restart at the same time', default: 1, min: 1}),
    'all-at-once': Flags.boolean({description: 'Restart every node at once, as the runbook does (every node\'s pod network is disrupted)', exclusive: ['max-unavailable']}),
    'dry-run': Flags.boolean({description: 'Show what would be restarted and stop'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (required when standard input is not a terminal)'}),
    timeout: Flags.string({description: 'How long each node\'s new calico-node pod may take to be Ready', default: '5m'}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json'], default: 'table'}),
  }

  async run(): Promise<CalicoRestartReport> {
    const {flags} = await this.parse(CalicoRestart)
    const timeoutMs = waitDuration(flags.timeout, '--timeout')
    const json = this.jsonEnabled() || flags.output === 'json'
    const theme = this.theme(flags['no-color'])
    const client = await this.connect(flags)
    // Ctrl-C: no further node is started; exit once the report is out (the lock is released on the way).
    const interrupt = repairInterrupt(30_000)
    let planShown = false
    try {
      const report = await runCalicoRestart(client, {
        maxUnavailable: flags['max-unavailable'], allAtOnce: flags['all-at-once'], dryRun: flags['dry-run'], timeoutMs,
        showPlan: (plan) => {
          if (json) return
          this.log(renderCalicoRestart(plan, theme))
          planShown = true
        },
        confirm: async (plan) => {
          await confirm({yes: flags.yes, expected: 'calico-node', what: `calico-node on ${plan.nodes.filter((n) => n.status !== 'not-restarted').length} node(s) in ${plan.namespace}`, target: client.target})
          interrupt.started()
        },
        stopped: interrupt.stopped,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      })
      emit(this, outputOf(this, flags.output), report, {table: () => `${planShown ? '\n' : ''}${renderCalicoRestart(report, theme)}`})
      if (report.result === 'failed' || report.result === 'refused') process.exitCode = ExitCode.ProblemsFound
      return report
    } finally {
      interrupt.finished()
    }
  }
}
