import * as Flags from '@oclif/core/flags'

import {KubeCommand, clusterScopedKubeFlags} from '../../base-command.js'
import {waitDuration} from '../../cluster/duration.js'
import {UsageError} from '../../errors.js'
import {repairInterrupt} from '../../interrupt.js'
import {parseCidr, type Family} from '../../net/ip.js'
import {defaultBackupDir} from '../../ops/backup.js'
import {confirm} from '../../ops/confirm.js'
import {RESULT_EXIT, runPoolFix, type PoolFixReport} from '../../ops/ippool/run.js'
import {renderPoolFixOutcome, renderPoolFixPlan} from '../../render/ippool-fix.js'
import {emit, outputOf} from '../../render/emit.js'

export default class IppoolFix extends KubeCommand {
  static override summary = 'Make a Calico IP pool what calico-node is configured to create: plan, confirm, back up, lock, fix, verify, roll back on failure'
  static override description = `The runbook's repair of a stale IPv6 pool (its CIDR is not CALICO_IPV6POOL_CIDR, or NAT outgoing is off), done safely.
The desired pool is what calico-node would create from its env (or --cidr), checked as Calico's API server would check it; a --cidr over a Service range or a node's address is bad usage. On a Tigera operator install it is the Installation's pool (spec.calicoNetwork.ipPools), and the operator's pools are never written: the refusal names the Installation field to change. Fields that can change in place are patched; otherwise the pool is recreated (nothing holds its addresses) or migrated (Calico's documented migration: new pool, old one disabled, pods moved with --recreate-pods, old pool deleted once empty).
Before any write: the plan is shown, the user types the pool's name (or passes --yes), the pool is backed up to a YAML file, and a Lease in Calico's namespace locks out other runs and journals each step. A failure, timeout or Ctrl-C before the new pool is in place puts the original back.
Exit 0: fixed, unchanged or planned (--dry-run); 1: refused, rolled back or failed; 2: bad usage or confirmation refused; 3: cluster unreachable before any write.`

  static override examples = [
    {description: 'See the plan for the IPv6 pool; nothing is written', command: '<%= config.bin %> ippool fix --dry-run'},
    {description: 'Move to a new pool without downtime, in a pipeline', command: '<%= config.bin %> ippool fix --strategy migrate --recreate-pods --yes -o json'},
    {description: 'Finish (or undo, with --rollback) a run that stopped half-way', command: '<%= config.bin %> ippool fix --resume'},
  ]

  static override enableJsonFlag = true
  static override flags = {
    ...clusterScopedKubeFlags,
    family: Flags.string({description: 'Which family\'s pool to fix', options: ['ipv6', 'ipv4'], default: 'ipv6'}),
    cidr: Flags.string({description: 'The CIDR the pool should have (default: calico-node\'s CALICO_IPV6POOL_CIDR / CALICO_IPV4POOL_CIDR)'}),
    strategy: Flags.string({description: 'How to change the CIDR: recreate (delete and create; refused while pods use the pool), migrate (new pool, old one disabled), auto (recreate when unused, else migrate)',
      options: ['auto', 'recreate', 'migrate'], default: 'auto'}),
    'recreate-pods': Flags.boolean({description: 'With migrate: move the pods to the new pool now (rollout restart of their owners, one at a time)'}),
    'evict-bare': Flags.boolean({description: 'With --recreate-pods: also evict bare pods (nothing recreates them); never Jobs\' pods, static pods or bare pods in kube-system'}),
    force: Flags.boolean({description: 'Recreate a pool even while pods use it; change a pool that GitOps or Helm manages'}),
    'dry-run': Flags.boolean({description: 'Show the plan and stop: nothing is written'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for the pool name (required when standard input is not a terminal)'}),
    'backup-dir': Flags.string({description: 'Where the pool is backed up before any change (default: ~/.kube/dualstack-backups)'}),
    timeout: Flags.string({description: 'Give up (and roll back) when the fix has not finished within this time', default: '10m'}),
    'ready-timeout': Flags.string({description: 'With --recreate-pods: how long each owner may take to be available again', default: '5m'}),
    resume: Flags.boolean({description: 'Finish a run that stopped half-way (its journal is in the Lease)', exclusive: ['rollback']}),
    rollback: Flags.boolean({description: 'Undo a run that stopped half-way, back to the original pool', exclusive: ['resume']}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json'], default: 'table'}),
  }

  async run(): Promise<PoolFixReport> {
    const {flags} = await this.parse(IppoolFix)
    const family = flags.family as Family
    if (flags.cidr !== undefined) {
      const parsed = parseCidr(flags.cidr)
      if (!parsed) throw new UsageError(`--cidr "${flags.cidr}" is not a CIDR`, 'e.g. --cidr fd00:10:244::/56')
      if (parsed.family !== family) throw new UsageError(`--cidr ${flags.cidr} is ${parsed.family === 'ipv4' ? 'IPv4' : 'IPv6'} but --family is ${family}`, `pass --family ${parsed.family}`)
    }
    const timeoutMs = waitDuration(flags.timeout, '--timeout')
    const readyTimeoutMs = waitDuration(flags['ready-timeout'], '--ready-timeout')
    const json = this.jsonEnabled() || flags.output === 'json'
    const theme = this.theme(flags['no-color'])
    const client = await this.connect(flags)

    // Ctrl-C: the run stops at the next safe point and undoes or finishes; exit once it has reported.
    const interrupt = repairInterrupt(120_000)
    let planShown = false
    try {
      const report = await runPoolFix(client, {
        family, cidr: flags.cidr ? parseCidr(flags.cidr)!.text : undefined, strategy: flags.strategy as 'auto' | 'recreate' | 'migrate', force: flags.force,
        recreatePods: flags['recreate-pods'], evictBare: flags['evict-bare'], dryRun: flags['dry-run'], resume: flags.resume, rollback: flags.rollback,
        backupDir: flags['backup-dir'] ?? defaultBackupDir(), timeoutMs, timeoutText: flags.timeout, readyTimeoutMs,
        showPlan: (plan) => {
          if (json) return
          this.log(renderPoolFixPlan(plan, theme))
          planShown = true
        },
        confirm: async (plan) => {
          await confirm({yes: flags.yes, expected: plan.pool, what: `IPPool ${plan.pool}`, target: client.target})
          interrupt.started()
        },
        stopped: interrupt.stopped,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      })
      emit(this, outputOf(this, flags.output), report, {table: () => [...(planShown ? [] : [renderPoolFixPlan(report, theme)]), renderPoolFixOutcome(report, theme)].join('\n')})
      process.exitCode = RESULT_EXIT[report.result]
      return report
    } finally {
      interrupt.finished()
    }
  }
}
