import * as Flags from '@oclif/core/flags'

import {KubeCommand, allNamespacesFlag, kubeFlags} from '../../base-command.js'
import {waitDuration} from '../../cluster/duration.js'
import {ExitCode} from '../../errors.js'
import {repairInterrupt} from '../../interrupt.js'
import {confirm} from '../../ops/confirm.js'
import {runPodsRecreate, type PodsRecreateReport} from '../../ops/pods-recreate.js'
import {renderPodsRecreate} from '../../render/pods-recreate.js'
import {emit, outputOf} from '../../render/emit.js'

export default class PodsRecreate extends KubeCommand {
  static override summary = 'Recreate pods so they get addresses of both families (or of a new pool), through their owners, one at a time'
  static override description = `The fix doctor's workloads.pod-ips gives: pods created before dual-stack keep one family until recreated.
Deployments, StatefulSets and DaemonSets are restarted as kubectl rollout restart does, one at a time, each waited for until available; a paused Deployment or an OnDelete StatefulSet or DaemonSet is listed with the kubectl that does it. Pods of other controllers are evicted one at a time, each replacement Ready before the next (PodDisruptionBudgets are honoured: a blocked eviction is reported, never forced). Bare pods are listed, not deleted, unless --evict-bare (they are then gone for good); Jobs' pods and static pods are always listed, bare pods in kube-system unless --evict-bare-in-kube-system. Takes the repairs' Lease, like ippool fix and calico-restart.
Exit 0 when every owner was recreated (or --dry-run), 1 when one was blocked, failed, refused or only listed (or another repair holds the Lease), 2 on bad usage.`

  static override examples = [
    '<%= config.bin %> pods recreate --single-stack -A --dry-run',
    '<%= config.bin %> pods recreate --in-pool default-ipv6-ippool -A',
    '<%= config.bin %> pods recreate --outside-pools -A',
  ]

  static override enableJsonFlag = true
  static override flags = {
    ...kubeFlags,
    'single-stack': Flags.boolean({description: 'Select Running pods on the pod network that have one family', exactlyOne: ['single-stack', 'in-pool', 'outside-pools']}),
    'in-pool': Flags.string({description: 'Select pods holding an address of this Calico IPPool', exactlyOne: ['single-stack', 'in-pool', 'outside-pools']}),
    'outside-pools': Flags.boolean({description: 'Select pods holding an address no Calico IPPool covers (left behind by a pool recreated with another range)', exactlyOne: ['single-stack', 'in-pool', 'outside-pools']}),
    'all-namespaces': allNamespacesFlag('Select in all namespaces'),
    selector: Flags.string({char: 'l', description: 'Label selector'}),
    'evict-bare': Flags.boolean({description: 'Also evict bare pods (nothing recreates them); never Jobs\' pods or static pods'}),
    'evict-bare-in-kube-system': Flags.boolean({description: 'With --evict-bare: also bare pods in kube-system (usually static or critical ones)', dependsOn: ['evict-bare']}),
    'dry-run': Flags.boolean({description: 'Show what would be recreated and stop'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask (required when standard input is not a terminal)'}),
    timeout: Flags.string({description: 'Stop starting new owners after this long', default: '30m'}),
    'ready-timeout': Flags.string({description: 'How long each owner may take to be available again', default: '5m'}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json'], default: 'table'}),
  }

  async run(): Promise<PodsRecreateReport> {
    const {flags} = await this.parse(PodsRecreate)
    const timeoutMs = waitDuration(flags.timeout, '--timeout')
    const readyTimeoutMs = waitDuration(flags['ready-timeout'], '--ready-timeout')
    const json = this.jsonEnabled() || flags.output === 'json'
    const theme = this.theme(flags['no-color'])
    const client = await this.connect(flags)
    // Ctrl-C: no new owner is started (the one being rolled is left to its controller); exit once reported.
    const interrupt = repairInterrupt(30_000)
    try {
      const report = await runPodsRecreate(client, {
        namespace: flags['all-namespaces'] ? undefined : client.target.namespace, labelSelector: flags.selector,
        singleStack: flags['single-stack'], inPool: flags['in-pool'], outsidePools: flags['outside-pools'], evictBare: flags['evict-bare'], evictKubeSystemBare: flags['evict-bare-in-kube-system'], dryRun: flags['dry-run'], timeoutMs, readyTimeoutMs,
        showPlan: (plan) => {
          if (!json) this.log(renderPodsRecreate(plan, theme))
        },
        confirm: async (groups) => {
          await confirm({yes: flags.yes, expected: client.target.context, what: `${groups.filter((g) => g.action !== 'list').length} workload(s)`, target: client.target})
          interrupt.started()
        },
        stopped: interrupt.stopped,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      })
      emit(this, outputOf(this, flags.output), report, {table: () => renderPodsRecreate(report, theme)})
      if (report.result === 'incomplete' || report.result === 'refused') process.exitCode = ExitCode.ProblemsFound
      return report
    } finally {
      interrupt.finished()
    }
  }
}
