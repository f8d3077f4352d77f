import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {KubeCommand, allNamespacesFlag, kubeFlags} from '../../base-command.js'
import {waitDuration} from '../../cluster/duration.js'
import {ExitCode} from '../../errors.js'
import {repairInterrupt} from '../../interrupt.js'
import {confirm} from '../../ops/confirm.js'
import type {DualPolicy} from '../../ops/services/plan.js'
import {MAX_SERVICES_PER_RUN, runServicesDual, type ServicesDualReport} from '../../ops/services/run.js'
import {emit, outputOf} from '../../render/emit.js'
import {renderServicesDual} from '../../render/services-dual.js'

export default class ServicesDual extends KubeCommand {
  static override summary = 'Convert SingleStack Services to dual-stack (PreferDualStack or RequireDualStack), one at a time, verified, rolled back on failure'
  static override description = `The fix doctor's services.dual-stack gives: Services made before the cluster went dual-stack keep one family until their ipFamilyPolicy changes.
Each Service keeps its ClusterIP and gains one of the other family; the step waits until it has both and, for a Service with a selector, until EndpointSlices of both families exist. A failure, timeout or Ctrl-C puts every Service this run converted back to SingleStack (its original family), so a run converts the selection or changes nothing. Refused: when the cluster does not give Services both families; Services managed by Helm, Argo CD or Flux (the change belongs in Git; --force patches them anyway); LoadBalancer Services unless --include-load-balancers (the cloud's load balancer may not serve IPv6). default/kubernetes and ExternalName Services are never converted. Takes the repairs' Lease, like ippool fix, and keeps its journal there: a run killed half-way is finished with --resume or put back with --rollback. At most ${MAX_SERVICES_PER_RUN} Services a run (the journal must fit in the Lease's annotations): narrow a larger selection with -n, -l or names.
Exit 0 when every selected Service was converted (or --dry-run with nothing refused), 1 when one was refused, failed or rolled back (or another repair holds the Lease), 2 on bad usage (more than ${MAX_SERVICES_PER_RUN} Services to convert too).`

  static override examples = [
    '<%= config.bin %> services dual -A --dry-run',
    '<%= config.bin %> services dual web api -n shop --yes',
    '<%= config.bin %> services dual -n shop -l tier=frontend --policy RequireDualStack',
  ]

  static override strict = false
  static override args = {names: Args.string({description: 'Service names (in the namespace of -n); none: every SingleStack Service of the selection'})}
  static override enableJsonFlag = true
  static override flags = {
    ...kubeFlags,
    'all-namespaces': allNamespacesFlag('Select in all namespaces'),
    selector: Flags.string({char: 'l', description: 'Label selector'}),
    policy: Flags.string({description: 'The ipFamilyPolicy to set', options: ['PreferDualStack', 'RequireDualStack'], default: 'PreferDualStack'}),
    'include-load-balancers': Flags.boolean({description: 'Also convert LoadBalancer Services (check first that the cloud\'s load balancer serves IPv6)'}),
    force: Flags.boolean({description: 'Also convert Services that Helm, Argo CD or Flux manage (they put the change back unless it is made in Git too)'}),
    'dry-run': Flags.boolean({description: 'Show the plan and stop: nothing is written'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask (required when standard input is not a terminal)'}),
    timeout: Flags.string({description: 'Give up (and put back what was converted) when the run has not finished within this time', default: '10m'}),
    'ready-timeout': Flags.string({description: 'How long each Service may take to have EndpointSlices of both families', default: '1m'}),
    resume: Flags.boolean({description: 'Convert the rest of a run that stopped half-way (killed, or its rollback did not finish); its journal is in the Lease', exclusive: ['rollback']}),
    rollback: Flags.boolean({description: 'Put back every Service a run that stopped half-way converted', exclusive: ['resume']}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json'], default: 'table'}),
  }

  async run(): Promise<ServicesDualReport> {
    const {argv, flags} = await this.parse(ServicesDual)
    const timeoutMs = waitDuration(flags.timeout, '--timeout')
    const readyTimeoutMs = waitDuration(flags['ready-timeout'], '--ready-timeout')
    const json = this.jsonEnabled() || flags.output === 'json'
    const theme = this.theme(flags['no-color'])
    const client = await this.connect(flags)
    // Ctrl-C: no new Service is started; the run puts back what it converted, then exits.
    const interrupt = repairInterrupt(30_000)
    try {
      const report = await runServicesDual(client, {
        names: argv as string[], namespace: flags['all-namespaces'] ? undefined : client.target.namespace, labelSelector: flags.selector,
        policy: flags.policy as DualPolicy, includeLoadBalancers: flags['include-load-balancers'], force: flags.force, dryRun: flags['dry-run'],
        resume: flags.resume, rollback: flags.rollback, timeoutMs, readyTimeoutMs,
        showPlan: (plan) => {
          if (!json) this.log(renderServicesDual(plan, theme))
        },
        confirm: async (rows) => {
          await confirm({yes: flags.yes, expected: client.target.context, what: `${rows.filter((r) => r.status === 'planned').length} Service(s)`, target: client.target})
          interrupt.started()
        },
        stopped: interrupt.stopped,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      })
      emit(this, outputOf(this, flags.output), report, {table: () => renderServicesDual(report, theme)})
      if (!['converted', 'planned', 'nothing'].includes(report.result)) process.exitCode = ExitCode.ProblemsFound
      return report
    } finally {
      interrupt.finished()
    }
  }
}
