// pods recreate: the pods doctor's workloads.pod-ips names (single-stack, created before dual-stack) or the
// pods of a pool being migrated away from, recreated through their owners one at a time: each owner a step
// of the repair engine (the Lease, access checked up front, Ctrl-C between owners).
import type {ClusterClient} from '../cluster/kube.js'
import {findCalicoNode} from '../cluster/resources.js'
import type {IPPoolObject, PodDetail} from '../cluster/types.js'
import {calicoInstall, whyNotAssigned} from '../calico/install.js'
import {gatherFacts} from '../doctor/facts.js'
import {ApiError, DualstackError, ExitCode, UsageError} from '../errors.js'
import {addressFamily, type Family} from '../net/ip.js'
import {podIpRow, violatesRequireDual} from '../pods/pod-ips.js'
import type {EngineOutcome} from './engine/executor.js'
import {isRefused, RepairEngine, type RepairDefinition} from './engine/run.js'
import {objectKey, StepFailure, type WritingKind} from './engine/steps.js'
import {CRD_POOLS, calicoCrdsMissing, holdersOf, outsidePools} from './ippool/gather.js'
import {controllerOf, groupByOwner, groupsProblem, resolveOwners, type HolderPod, type OwnerGroup} from './pods.js'
import type {Interaction} from './interaction.js'
import {recreateGroups, type GroupOutcome} from './recreate.js'
import {recreateNeeds} from '../cluster/access.js'

export interface PodsRecreateOptions extends Interaction<OwnerGroup[], PodsRecreateReport> {
  /** undefined: all namespaces. */
  namespace?: string
  labelSelector?: string
  singleStack: boolean
  inPool?: string
  /** Pods holding an address no IPPool covers (left behind by a pool recreated with another range). */
  outsidePools?: boolean
  evictBare: boolean
  evictKubeSystemBare: boolean
  dryRun: boolean
  timeoutMs: number
  readyTimeoutMs: number
  stopped: () => string | undefined
}

export type PodsRecreateResult = 'recreated' | 'planned' | 'nothing' | 'incomplete' | 'refused'

export interface PodsRecreateReport {
  context: string
  server: string
  selection: {namespace: string | null; labelSelector: string | null; singleStack: boolean; inPool: string | null; outsidePools: boolean}
  groups: Array<OwnerGroup & {status: GroupOutcome['status'] | 'pending'; message?: string}>
  result: PodsRecreateResult
  message: string
  notes: string[]
}

/** One owner's pods recreated (rolled, or evicted one by one) and waited for: a step of the repair engine. */
export interface RecreateOwnerStep {
  kind: 'recreate-owner'
  group: OwnerGroup
}

const ownerText = (g: OwnerGroup) => (g.owner ? `${g.owner.kind} ${g.namespace}/${g.owner.name}` : `${g.pods.length} bare pod(s) in ${g.namespace}`)

const recreateOwner: WritingKind<RecreateOwnerStep> = {
  kind: 'recreate-owner', writes: true,
  describe: (s) => `${s.group.action === 'rollout-restart' ? 'restart' : 'evict the pods of'} ${ownerText(s.group)}, waiting until it is available again`,
  needs: (s) => recreateNeeds([s.group]),
  touches: (s) => s.group.pods.map((pod) => objectKey('pods', pod, s.group.namespace)),
  validate: (s) => groupsProblem([s.group]) ?? (s.group && (s.group as OwnerGroup).action === 'list' ? 'a listed group is not acted on' : undefined),
  undo: {irreversible: 'recreated pods are new pods; the old ones are gone'},
  async apply(step, ctx) {
    const outcome = await recreateGroups(ctx.client, [step.group], {deadline: ctx.deadline, readyTimeoutMs: ctx.readyTimeoutMs, stopped: ctx.stopped, onProgress: ctx.onProgress, restartToken: ctx.runId})
    ctx.left.push(...outcome.notes)
    const told = outcome.outcomes[0]
    if (outcome.error) throw new StepFailure(outcome.error, told)
    return {detail: told, message: told?.message}
  },
}

export const PODS_RECREATE: RepairDefinition = {command: 'pods recreate', kinds: {'recreate-owner': recreateOwner}, resumable: false, validateParams: () => undefined}

/** Running pods on the pod network that lack a family, page by page. */
async function singleStackPods(client: ClusterClient, namespace: string | undefined, labelSelector: string | undefined): Promise<HolderPod[]> {
  const path = namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : '/api/v1/pods'
  const found: HolderPod[] = []
  for await (const page of client.listPages<PodDetail>(path, {labelSelector})) {
    for (const pod of page) {
      const row = podIpRow(pod)
      if (!violatesRequireDual(row)) continue
      found.push({namespace: row.namespace, name: row.name, node: row.node, ips: [...row.ipv4, ...row.ipv6], owner: controllerOf(pod)})
    }
  }
  return resolveOwners(client, found)
}

/**
 * Whether recreated pods would get the families the selected pods lack: refused with why and what to do first
 * when they would not (recreating them would only restart workloads for nothing); a note when it cannot be read.
 */
async function familiesBlocked(client: ClusterClient, pods: readonly HolderPod[]): Promise<{refused?: {message: string; fix: string}; note?: string}> {
  const lacking = (['ipv4', 'ipv6'] as Family[]).map((family) => ({family, count: pods.filter((p) => !p.ips.some((ip) => addressFamily(ip) === family)).length})).filter((l) => l.count > 0)
  if (lacking.length === 0) return {}
  const facts = await gatherFacts(client, {needed: new Set(['daemonSets', 'configMaps', 'ipPools', 'installation']), concurrency: 1, execTimeoutMs: 0})
  const unread = [facts.daemonSets, facts.configMaps, facts.ipPools, facts.installation].find((f) => !f.ok)
  if (unread && !unread.ok) return {note: `could not tell whether recreated pods get ${lacking.map((l) => (l.family === 'ipv4' ? 'IPv4' : 'IPv6')).join(' and ')}: ${unread.error}`}
  if (!facts.daemonSets.ok || !facts.configMaps.ok || !facts.ipPools.ok || !facts.installation.ok) return {}
  const install = calicoInstall(facts.daemonSets.value, facts.installation.value)
  for (const {family, count} of lacking) {
    const blocked = whyNotAssigned(family, install, facts.installation.value, facts.configMaps.value, facts.ipPools.value)
    const name = family === 'ipv4' ? 'IPv4' : 'IPv6'
    if (blocked) return {refused: {message: `${count} pod(s) lack ${name}, and recreated pods would not get it either: ${blocked.why}`, fix: blocked.fix}}
  }
  return {}
}

export async function runPodsRecreate(client: ClusterClient, options: PodsRecreateOptions): Promise<PodsRecreateReport> {
  let pods: HolderPod[]
  if (options.inPool) {
    const pool = await client.getIfExists<IPPoolObject>(`${CRD_POOLS}/${encodeURIComponent(options.inPool)}`)
    if (!pool && !(await client.getIfExists('/apis/crd.projectcalico.org/v1'))) throw calicoCrdsMissing()
    if (!pool?.spec?.cidr) throw new UsageError(`IPPool ${options.inPool} not found`, 'see: kubectl get ippools.crd.projectcalico.org')
    pods = await holdersOf(client, pool.spec.cidr, {namespace: options.namespace, labelSelector: options.labelSelector})
  } else if (options.outsidePools) {
    const pools = await client.listAll<IPPoolObject>(CRD_POOLS).catch((error: unknown) => {
      if (error instanceof ApiError && error.code === 404) throw calicoCrdsMissing()
      throw error
    })
    pods = await outsidePools(client, pools.map((p) => p.spec?.cidr ?? '').filter(Boolean), {namespace: options.namespace, labelSelector: options.labelSelector})
    // Recreated pods get addresses of the enabled pools: a family with none gives them nothing of it either.
    const enabled = new Set(pools.filter((p) => !p.spec?.disabled).map((p) => addressFamily((p.spec?.cidr ?? '').split('/')[0] ?? '')))
    for (const family of ['ipv4', 'ipv6'] as Family[]) {
      const held = pods.filter((p) => p.ips.some((ip) => addressFamily(ip) === family))
      if (held.length === 0 || enabled.has(family)) continue
      const name = family === 'ipv4' ? 'IPv4' : 'IPv6'
      throw new DualstackError(`${held.length} pod(s) hold ${name} addresses no IPPool covers, and there is no enabled ${name} pool: recreated pods would get no ${name} address either`,
        ExitCode.ProblemsFound, `create the ${name} pool first (kubectl dualstack ippool fix --family ${family}), then run this again`)
    }
  } else {
    pods = await singleStackPods(client, options.namespace, options.labelSelector)
  }
  const groups = groupByOwner(pods, options.evictBare, {evictKubeSystemBare: options.evictKubeSystemBare})
  const report: PodsRecreateReport = {
    context: client.target.context, server: client.target.server,
    selection: {namespace: options.namespace ?? null, labelSelector: options.labelSelector ?? null, singleStack: options.singleStack, inPool: options.inPool ?? null, outsidePools: options.outsidePools === true},
    groups: groups.map((g) => ({...g, status: 'pending' as const})), result: 'planned', message: '', notes: [],
  }
  const what = options.inPool ? `holding addresses of IPPool ${options.inPool}` : options.outsidePools ? 'holding an address no IPPool covers' : 'with one family'
  if (groups.length === 0) return {...report, result: 'nothing', message: `no Running pod ${what} in the selection`}
  if (options.singleStack) {
    const families = await familiesBlocked(client, pods)
    if (families.refused) return {...report, result: 'refused', message: families.refused.message, notes: [families.refused.fix]}
    if (families.note) report.notes.push(families.note)
  }
  const acting = groups.filter((g) => g.action !== 'list')
  const listed = groups.filter((g) => g.action === 'list')
  // What is only listed says why and what to do instead (no write: recreateGroups only words them).
  const listedNotes = (await recreateGroups(client, listed, {deadline: 0, readyTimeoutMs: 0, stopped: () => undefined})).notes
  if (acting.length === 0 && !options.dryRun) {
    return {...report, result: 'incomplete', message: `${pods.length} pod(s) ${what}, none with an owner that recreates them`, notes: listedNotes,
      groups: report.groups.map((g) => ({...g, status: 'listed' as const, message: `not recreated: ${g.why}`}))}
  }
  // Repairs exclude each other: the Lease lives in Calico's namespace (kube-system when Calico is not found).
  const engine = new RepairEngine(client, PODS_RECREATE, (await findCalicoNode(client))?.namespace ?? 'kube-system')
  const blocked = await engine.check(options.dryRun)
  if (blocked) return {...report, result: 'refused', message: blocked.refused, notes: blocked.hint ? [blocked.hint] : []}
  const plan = {steps: acting.map((group): RecreateOwnerStep => ({kind: 'recreate-owner', group})), commitAt: 0}
  const outcome = await engine.apply({plan, params: {}}, {
    dryRun: options.dryRun, what: 'pods recreate', notes: (notes) => report.notes.push(...notes.map((note) => note.replace('could not apply this plan', 'could not recreate these'))),
    show: () => options.showPlan(report), confirm: () => options.confirm(groups),
    settings: () => ({deadline: Date.now() + options.timeoutMs, timeoutText: `${options.timeoutMs / 1000}s`, backupDir: '', readyTimeoutMs: options.readyTimeoutMs, force: false,
      stopped: options.stopped, onProgress: options.onProgress}),
  })
  if (outcome === 'dry-run') return {...report, notes: [...report.notes, ...listedNotes], message: `dry run: ${acting.length} owner(s) would be recreated, ${listed.length} only listed; nothing was changed`}
  if (isRefused(outcome)) return {...report, result: 'refused', message: outcome.refused, notes: outcome.hint ? [outcome.hint] : []}
  return recreateEnded(report, groups, plan.steps, outcome, listedNotes)
}

/** The engine's ending as pods recreate says it: each owner's outcome from its step, listed ones as listed. */
function recreateEnded(report: PodsRecreateReport, groups: readonly OwnerGroup[], steps: readonly RecreateOwnerStep[], outcome: EngineOutcome, listedNotes: string[]): PodsRecreateReport {
  const byGroup = new Map<OwnerGroup, GroupOutcome | undefined>(steps.map((step, i) => [step.group, outcome.steps[i]?.detail as GroupOutcome | undefined]))
  const stopNote = outcome.result === 'stopped' ? [`${outcome.reason}: ${outcome.steps.filter((s) => s.status === 'skipped').length} owner(s) not recreated`] : []
  const reportGroups = groups.map((g) => {
    if (g.action === 'list') return {...g, status: 'listed' as const, message: `not recreated: ${g.why}`}
    const told = byGroup.get(g)
    if (told) return {...g, status: told.status, message: told.message}
    // A step that failed on an API error (an eviction refused) gave no account of its owner: it was started, and failed.
    const step = outcome.steps[steps.findIndex((s) => s.group === g)]
    if (step?.status === 'failed') return {...g, status: 'failed' as const, message: step.message ?? outcome.reason ?? 'failed'}
    return {...g, status: 'skipped' as const, message: outcome.reason ?? 'not started'}
  })
  const notes = [...report.notes, ...listedNotes, ...outcome.left.filter((l) => !l.includes(' before: ')), ...stopNote]
  const recreated = reportGroups.filter((g) => g.status === 'restarted' || g.status === 'evicted').length
  const complete = recreated === groups.length
  const failed = outcome.steps.find((s) => s.status === 'failed')
  const message = failed ? `stopped: ${failed.message}` : complete ? `${recreated} owner(s) recreated` : `${recreated} of ${groups.length} owner(s) recreated; see the notes`
  return {...report, groups: reportGroups, notes, result: complete ? 'recreated' : 'incomplete', message}
}
