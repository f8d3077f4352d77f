// services dual: the Services doctor's services.dual-stack names, converted to dual-stack one at a time, each
// a convert-service step of the repair engine (the Lease, access checked up front, Ctrl-C between Services).
//
// Not resumable, and the commit point is the end of the plan: a failure, timeout or Ctrl-C part-way puts
// back every Service this run converted (newest first), so a run converts the selection or changes nothing.
// A run killed half-way, or whose rollback could not finish, keeps its journal: --rollback finishes undoing,
// --resume converts the rest (each step reads before it writes, and only Services this run marked are put back).
import type {ClusterClient} from '../../cluster/kube.js'
import {findCalicoNode, namespaceMustExist} from '../../cluster/resources.js'
import type {ServiceObject} from '../../cluster/types.js'
import {probeServices} from '../../doctor/facts.js'
import {ApiError, UsageError} from '../../errors.js'
import {parseKubeVersion, usesLegacyIpFamily} from '../../k8s/version.js'
import {addressFamily} from '../../net/ip.js'
import type {EngineOutcome, RunSettings} from '../engine/executor.js'
import type {Journal} from '../engine/journal.js'
import {isRefused, RepairEngine, type RepairDefinition} from '../engine/run.js'
import type {Interaction} from '../interaction.js'
import {planServicesDual, POLICIES, type DualPolicy, type ServiceRow} from './plan.js'
import {convertService, type ConvertServiceStep} from './steps.js'

export interface ServicesDualParams {
  policy: DualPolicy
}

export const SERVICES_DUAL: RepairDefinition = {
  command: 'services dual', kinds: {'convert-service': convertService}, resumable: false,
  validateParams: (value) => {
    const policy = (value as {policy?: unknown} | null)?.policy
    return POLICIES.includes(policy as DualPolicy) ? undefined : `policy ${JSON.stringify(policy ?? null)} is not PreferDualStack or RequireDualStack`
  },
  summarize: (params: ServicesDualParams) => `to ${params.policy}`,
}

export interface ServicesDualOptions extends Interaction<ServiceRow[], ServicesDualReport> {
  names: string[]
  /** undefined: all namespaces. */
  namespace?: string
  labelSelector?: string
  policy: DualPolicy
  includeLoadBalancers: boolean
  force: boolean
  dryRun: boolean
  resume: boolean
  rollback: boolean
  timeoutMs: number
  readyTimeoutMs: number
  stopped: () => string | undefined
}

export type ServicesDualResult = 'converted' | 'planned' | 'nothing' | 'incomplete' | 'refused' | 'rolled-back' | 'failed'

export interface ServicesDualReport {
  context: string
  server: string
  selection: {names: string[]; namespace: string | null; labelSelector: string | null; policy: DualPolicy}
  services: ServiceRow[]
  result: ServicesDualResult
  message: string
  notes: string[]
}

const key = (r: {namespace: string; name: string}) => `${r.namespace}/${r.name}`

/**
 * The most Services one run converts. Its journal, a step per Service (at most 300 bytes: the longest
 * namespace and name), is an annotation of the Lease, and Kubernetes allows an object 256 KiB of annotations
 * in all: 300 steps make at most 88 KiB (90,495 bytes, measured in test/unit/services-dual.test.ts), a third of it,
 * and the Lease is written again after every Service. More would be batches, each its own run: one run's
 * failure would then put back only its own batch, not the selection.
 */
export const MAX_SERVICES_PER_RUN = 300

/** The Services of the selection: by name (in one namespace), or every one of the namespace(s) and label selector. */
async function readSelection(client: ClusterClient, options: ServicesDualOptions): Promise<{services: ServiceObject[]; missing: string[]}> {
  const base = options.namespace ? `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/services` : '/api/v1/services'
  if (options.names.length === 0) return {services: await client.listAll<ServiceObject>(base, {labelSelector: options.labelSelector}), missing: []}
  const services: ServiceObject[] = []
  const missing: string[] = []
  for (const name of [...new Set(options.names)]) {
    const svc = await client.getIfExists<ServiceObject>(`${base}/${encodeURIComponent(name)}`)
    if (svc) services.push(svc)
    else missing.push(name)
  }
  return {services, missing}
}

/** Why the cluster cannot give Services both families (a dry-run RequireDualStack Service, as doctor probes), or undefined. */
async function notDualStack(client: ClusterClient, services: readonly ServiceObject[]): Promise<{message: string; fix: string} | undefined> {
  const info = await client.request<{gitVersion: string}>('GET', '/version')
  const version = parseKubeVersion(info.gitVersion) ?? {major: 0, minor: 0, gitVersion: info.gitVersion}
  if (usesLegacyIpFamily(version)) return {message: `${info.gitVersion} gives a Service one family (the alpha ipFamily field): there is no policy to change`, fix: 'create a second Service per family, or upgrade to 1.21 or later'}
  try {
    const probe = await probeServices(client, version)
    if (probe.allocated.ipv4 && probe.allocated.ipv6) return undefined
    return {message: `the cluster does not give Services both families: a RequireDualStack Service (dry run) was refused${probe.refusals[0] ? ` (${probe.refusals[0]})` : ''}`,
      fix: 'give kube-apiserver --service-cluster-ip-range of both families first (kubectl dualstack doctor --only apiserver.service-cidr)'}
  } catch (error) {
    if (!(error instanceof ApiError && (error.code === 403 || error.code === 404))) throw error
    // May not create Services even in dry run (or no such namespace): a Service that has both already proves it.
    const all = await client.listAll<ServiceObject>('/api/v1/services').catch(() => services)
    if ([...services, ...all].some((svc) => new Set((svc.spec?.clusterIPs ?? []).map((ip) => addressFamily(ip))).size === 2)) return undefined
    return {message: `could not tell whether the cluster gives Services both families: the dry-run probe was refused (${error.message})`, fix: 'run it in a namespace you may create Services in (-n), or ask an admin'}
  }
}

function baseReport(client: ClusterClient, options: ServicesDualOptions, policy: DualPolicy): ServicesDualReport {
  return {context: client.target.context, server: client.target.server,
    selection: {names: options.names, namespace: options.namespace ?? null, labelSelector: options.labelSelector ?? null, policy}, services: [], result: 'planned', message: '', notes: []}
}

function settingsOf(options: ServicesDualOptions): RunSettings {
  return {deadline: Date.now() + options.timeoutMs, timeoutText: `${options.timeoutMs / 1000}s`, backupDir: '', readyTimeoutMs: options.readyTimeoutMs, force: false,
    stopped: options.stopped, onProgress: options.onProgress}
}

async function leaseNamespace(client: ClusterClient): Promise<string> {
  // Repairs exclude each other: the Lease lives in Calico's namespace (kube-system when Calico is not found).
  return (await findCalicoNode(client))?.namespace ?? 'kube-system'
}

export async function runServicesDual(client: ClusterClient, options: ServicesDualOptions): Promise<ServicesDualReport> {
  if (options.names.length > 0 && !options.namespace) throw new UsageError('Service names are looked up in one namespace: names and -A do not go together', 'name the namespace with -n, or drop the names to convert every SingleStack Service of -A')
  if (options.names.length > 0 && options.labelSelector) throw new UsageError('names and -l do not go together', 'give Service names or a label selector, not both')
  if (options.resume || options.rollback) return continueServicesDual(client, options)
  // A typo in -n would read as "nothing to convert".
  if (options.namespace) await namespaceMustExist(client, options.namespace)
  const report = baseReport(client, options, options.policy)
  const {services, missing} = await readSelection(client, options)
  const rows = planServicesDual({services, missing, namespace: options.namespace, policy: options.policy, includeLoadBalancers: options.includeLoadBalancers, force: options.force, named: options.names.length > 0})
  report.services = rows
  const planned = rows.filter((r) => r.status === 'planned')
  const refused = rows.filter((r) => r.status === 'refused')
  // Before any write, the dry-run probe too; a dry run as well: it would show a plan no run can apply.
  if (planned.length > MAX_SERVICES_PER_RUN) {
    throw new UsageError(`${planned.length} Services selected to convert, more than the ${MAX_SERVICES_PER_RUN} one run converts (its journal is kept in the Lease, whose annotations are limited to 256 KiB)`,
      'narrow the selection with -n, -l or Service names, and run again for the rest')
  }
  if (planned.length === 0) {
    if (refused.length > 0) return {...report, result: 'refused', message: `${refused.length} Service(s) not converted; see why beside each`}
    return {...report, result: 'nothing', message: 'no SingleStack Service in the selection (default/kubernetes and ExternalName Services are never converted)'}
  }
  const blocked = await notDualStack(client, services)
  if (blocked) return {...report, result: 'refused', message: blocked.message, notes: [blocked.fix]}
  const engine = new RepairEngine(client, SERVICES_DUAL, await leaseNamespace(client))
  const busy = await engine.check(options.dryRun)
  if (busy) return {...report, result: 'refused', message: busy.refused, notes: busy.hint ? [busy.hint] : []}
  const byKey = new Map(services.map((svc) => [key({namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? ''}), svc]))
  const steps = planned.map((r): ConvertServiceStep => {
    const svc = byKey.get(key(r))!
    return {kind: 'convert-service', namespace: r.namespace, name: r.name, uid: svc.metadata?.uid ?? '', policy: options.policy, family: r.families.to[0] as ConvertServiceStep['family'],
      headless: r.headless, selector: Object.keys(svc.spec?.selector ?? {}).length > 0}
  })
  const plan = {steps, commitAt: steps.length}
  const outcome = await engine.apply({plan, params: {policy: options.policy} satisfies ServicesDualParams}, {
    dryRun: options.dryRun, what: 'services dual', notes: (notes) => report.notes.push(...notes),
    show: () => options.showPlan(report), confirm: () => options.confirm(planned), settings: () => settingsOf(options),
  })
  if (outcome === 'dry-run') {
    return {...report, result: refused.length > 0 ? 'incomplete' : 'planned',
      message: `dry run: ${planned.length} Service(s) would be converted to ${options.policy}${refused.length > 0 ? `, ${refused.length} refused` : ''}; nothing was changed`}
  }
  if (isRefused(outcome)) return {...report, result: 'refused', message: outcome.refused, notes: [...report.notes, ...(outcome.hint ? [outcome.hint] : [])]}
  return ended(report, steps, outcome, refused.length)
}

/** --resume / --rollback of a run that stopped half-way (killed, or its rollback did not finish): shown and confirmed like any run. */
async function continueServicesDual(client: ClusterClient, options: ServicesDualOptions): Promise<ServicesDualReport> {
  const mode = options.resume ? 'resume' : 'rollback'
  const engine = new RepairEngine(client, SERVICES_DUAL, await leaseNamespace(client))
  const loaded = await engine.load<ServicesDualParams>(mode)
  if (isRefused(loaded)) return {...baseReport(client, options, options.policy), result: 'refused', message: loaded.refused, notes: loaded.hint ? [loaded.hint] : []}
  const journal: Journal<ServicesDualParams> = loaded
  const steps = journal.steps as ConvertServiceStep[]
  const report = {...baseReport(client, options, journal.params.policy), services: steps.map((s, i): ServiceRow => ({
    namespace: s.namespace, name: s.name, type: '', headless: s.headless, policy: {from: 'SingleStack', to: s.policy}, families: {from: [s.family], to: [s.family, s.family === 'IPv4' ? 'IPv6' : 'IPv4']},
    status: i < journal.done ? 'converted' : 'planned'}))}
  const what = `${mode === 'resume' ? 'resume' : 'roll back'}: ${engine.describe(journal, mode)}`
  const outcome = await engine.apply({journal, mode}, {
    dryRun: options.dryRun, what: `services dual --${mode}`, notes: (notes) => report.notes.push(...notes),
    show: () => options.showPlan({...report, message: what}),
    confirm: async () => {
      await options.confirm(report.services)
      options.onProgress?.(what)
    },
    settings: () => settingsOf(options),
  })
  if (outcome === 'dry-run') return {...report, result: 'planned', message: `dry run: nothing was written; would ${what}`}
  if (isRefused(outcome)) return {...report, result: 'refused', message: outcome.refused, notes: outcome.hint ? [outcome.hint] : []}
  return ended(report, steps, outcome, 0)
}

/** The engine's ending as services dual says it: each Service's status from its step. */
function ended(report: ServicesDualReport, steps: readonly ConvertServiceStep[], outcome: EngineOutcome, refused: number): ServicesDualReport {
  const byKey = new Map(steps.map((s, i) => [key(s), outcome.steps[i]]))
  const services = report.services.map((r): ServiceRow => {
    const step = byKey.get(key(r))
    if (!step) return r
    const status = step.status === 'done' ? 'converted' : step.status === 'pending' ? 'skipped' : step.status
    return {...r, status, ...(step.message ? {message: step.message} : {})}
  })
  const notes = [...report.notes, ...outcome.left]
  const converted = services.filter((r) => r.status === 'converted').length
  switch (outcome.result) {
    case 'done':
      return {...report, services, notes, result: refused > 0 ? 'incomplete' : 'converted',
        message: `${converted} Service(s) converted to ${report.selection.policy}${refused > 0 ? `; ${refused} refused (see why beside each)` : ''}`}
    case 'rolled-back':
      return {...report, services, notes, result: 'rolled-back', message: `${outcome.reason}; every Service this run converted was put back to SingleStack`}
    default:
      return {...report, services, notes, result: 'failed', message: outcome.message ?? outcome.reason ?? 'failed'}
  }
}
