// pods recreate: the pods doctor's workloads.pod-ips names (single-stack, created before dual-stack) or the
// pods of a pool being migrated away from, recreated through their owners one at a time.
import {accessDenied, describeNeed, missingAccess, recreateNeeds} from '../cluster/access.js'
import type {ClusterClient} from '../cluster/kube.js'
import type {IPPoolObject, PodDetail} from '../cluster/types.js'
import {UsageError} from '../errors.js'
import {podIpRow, violatesRequireDual} from '../pods/pod-ips.js'
import {CRD_POOLS, calicoCrdsMissing, holdersOf} from './ippool/gather.js'
import {controllerOf, groupByOwner, resolveOwners, type HolderPod, type OwnerGroup} from './pods.js'
import type {Interaction} from './interaction.js'
import {recreateGroups, type GroupOutcome} from './recreate.js'

export interface PodsRecreateOptions extends Interaction<OwnerGroup[], PodsRecreateReport> {
  /** undefined: all namespaces. */
  namespace?: string
  labelSelector?: string
  singleStack: boolean
  inPool?: string
  evictBare: boolean
  dryRun: boolean
  timeoutMs: number
  readyTimeoutMs: number
  stopped: () => string | undefined
}

export type PodsRecreateResult = 'recreated' | 'planned' | 'nothing' | 'incomplete'

export interface PodsRecreateReport {
  context: string
  server: string
  selection: {namespace: string | null; labelSelector: string | null; singleStack: boolean; inPool: string | null}
  groups: Array<OwnerGroup & {status: GroupOutcome['status'] | 'pending'; message?: string}>
  result: PodsRecreateResult
  message: string
  notes: string[]
}

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

export async function runPodsRecreate(client: ClusterClient, options: PodsRecreateOptions): Promise<PodsRecreateReport> {
  let pods: HolderPod[]
  if (options.inPool) {
    const pool = await client.getIfExists<IPPoolObject>(`${CRD_POOLS}/${encodeURIComponent(options.inPool)}`)
    if (!pool && !(await client.getIfExists('/apis/crd.projectcalico.org/v1'))) throw calicoCrdsMissing()
    if (!pool?.spec?.cidr) throw new UsageError(`IPPool ${options.inPool} not found`, 'see: kubectl get ippools.crd.projectcalico.org')
    pods = await holdersOf(client, pool.spec.cidr, {namespace: options.namespace, labelSelector: options.labelSelector})
  } else {
    pods = await singleStackPods(client, options.namespace, options.labelSelector)
  }
  const groups = groupByOwner(pods, options.evictBare)
  const report: PodsRecreateReport = {
    context: client.target.context, server: client.target.server,
    selection: {namespace: options.namespace ?? null, labelSelector: options.labelSelector ?? null, singleStack: options.singleStack, inPool: options.inPool ?? null},
    groups: groups.map((g) => ({...g, status: 'pending' as const})), result: 'planned', message: '', notes: [],
  }
  const what = options.inPool ? `holding addresses of IPPool ${options.inPool}` : 'with one family'
  if (groups.length === 0) return {...report, result: 'nothing', message: `no Running pod ${what} in the selection`}
  const acting = groups.filter((g) => g.action !== 'list')
  const missing = await missingAccess(client, recreateNeeds(acting))
  if (missing.length > 0 && !options.dryRun) throw accessDenied(client.target.user, 'pods recreate', missing)
  if (missing.length > 0) report.notes.push(`user "${client.target.user}" could not recreate these: missing ${missing.map(describeNeed).join(', ')}`)
  if (options.dryRun) return {...report, message: `dry run: ${acting.length} owner(s) would be recreated, ${groups.length - acting.length} only listed; nothing was changed`}
  if (acting.length === 0) {
    return {...report, result: 'incomplete', message: `${pods.length} pod(s) ${what}, none with an owner that recreates them`,
      notes: groups.map((g) => `${g.namespace}: ${g.pods.join(', ')} (${g.why})`)}
  }
  options.showPlan(report)
  await options.confirm(groups)
  const outcome = await recreateGroups(client, groups, {deadline: Date.now() + options.timeoutMs, readyTimeoutMs: options.readyTimeoutMs, stopped: options.stopped, onProgress: options.onProgress})
  report.groups = groups.map((g, i) => ({...g, status: outcome.outcomes[i]?.status ?? 'skipped', message: outcome.outcomes[i]?.message}))
  const complete = outcome.outcomes.every((o) => o.status === 'restarted' || o.status === 'evicted')
  return {...report, result: complete ? 'recreated' : 'incomplete', notes: outcome.notes,
    message: outcome.error ? `stopped: ${outcome.error}` : complete ? `${acting.length} owner(s) recreated` : `${outcome.outcomes.filter((o) => o.status === 'restarted' || o.status === 'evicted').length} of ${groups.length} owner(s) recreated; see the notes`}
}
