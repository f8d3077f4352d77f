// ippool fix, as data: from what the cluster shows, what is wrong with a family's pool, which strategy fixes
// it, what that touches, and each action in order. Pure: no cluster access, so every rule is unit-testable.
import type {CalicoInstall, InstallationObject} from '../../calico/install.js'
import {installationPoolOf} from '../../calico/install.js'
import {managedPoolFix, poolManager} from '../../calico/managers.js'
import {effectiveSpec, poolDifferences, poolFromEnv, poolFromInstallation, poolProblems, type DesiredPool, type PoolField} from '../../calico/pools.js'
import type {IPPoolObject, IPPoolSpec} from '../../cluster/types.js'
import {cidrsOverlap, parseCidr, type Family} from '../../net/ip.js'
import {groupByOwner, type Impact, type OwnerGroup} from '../pods.js'
import type {PoolApiVersion} from './gather.js'
import type {PoolStep} from './steps.js'

export type StrategyFlag = 'auto' | 'recreate' | 'migrate'
export type Strategy = 'none' | 'create' | 'patch' | 'recreate' | 'migrate'

/** A step of the plan, as the repair engine runs it (the kinds are in ./steps.ts). */
export type Action = PoolStep

export interface Difference {
  field: PoolField
  from: unknown
  to: unknown
  source?: string
}

export interface PoolFixPlan {
  /** The pool being fixed (its current name). */
  pool: string
  family: Family
  /** The API the writes go through. */
  apiVersion: PoolApiVersion
  from: IPPoolSpec | null
  to: {name: string; spec: IPPoolSpec}
  wrong: Difference[]
  strategy: Strategy
  impact: Impact
  actions: Action[]
  /**
   * Actions before this index are undone when a later one fails (the run ends in the original state); once
   * it is reached the desired pools are in place, and a failure leaves them and says how to finish.
   */
  commitAt: number
  notes: string[]
}

export interface Refusal {
  refused: string
  hint?: string
  /** The pool the refusal is about, when it is about one (shown with it). */
  pool?: string
  /** What is wrong all the same (when the pool is refused for who manages it: to change where it is managed). */
  from?: IPPoolSpec | null
  to?: {name: string; spec: IPPoolSpec}
  wrong?: Difference[]
}

export {poolManager} from '../../calico/managers.js'

export interface PlanInput {
  family: Family
  cidr?: string
  strategy: StrategyFlag
  force: boolean
  recreatePods: boolean
  evictBare: boolean
  install: CalicoInstall
  installation?: InstallationObject
  env?: ReadonlyMap<string, {value?: string}>
  pools: readonly IPPoolObject[]
  /** The pool to fix (see pickPool), undefined when the family has none. */
  target?: IPPoolObject
  impact: Impact
  apiVersion: PoolApiVersion
}

const familyName = (family: Family) => (family === 'ipv4' ? 'IPv4' : 'IPv6')

/** Marks a pool a run of ippool fix created (a migration's new pool), so that an undo deletes it and nothing else. */
export const RUN_ANNOTATION = 'dualstack.kubectl.io/created-by-run'
/** On a migration's new pool: the pool it replaces, so that a later run finds the old one whatever its name. */
export const MIGRATED_FROM_ANNOTATION = 'dualstack.kubectl.io/migrated-from'

/**
 * The pool of the family to fix: calico-node's default-ipvN-ippool, else the only one, else (a migration of a
 * pool of another name) the disabled one beside the pool a run of ippool fix made for it.
 */
export function pickPool(pools: readonly IPPoolObject[], family: Family): IPPoolObject | undefined | Refusal {
  const ofFamily = pools.filter((p) => parseCidr(p.spec?.cidr ?? '')?.family === family)
  const byName = ofFamily.find((p) => p.metadata?.name === `default-${family}-ippool`)
  if (byName) return byName
  if (ofFamily.length <= 1) return ofFamily[0]
  // The disabled pool an enabled one made by a migration names as the one it replaces.
  const replaced = ofFamily.flatMap((p) => (p.spec?.disabled ? [] : [p.metadata?.annotations?.[MIGRATED_FROM_ANNOTATION]]))
  const old = ofFamily.filter((p) => p.spec?.disabled && replaced.includes(p.metadata?.name))
  if (old.length === 1) return old[0]
  return {refused: `there are ${ofFamily.length} ${familyName(family)} pools (${ofFamily.map((p) => p.metadata?.name).join(', ')}) and none is default-${family}-ippool`,
    hint: 'ippool fix repairs the pool calico-node creates; edit the others with kubectl'}
}

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'refused' in value
}

/** A range a pod pool must not overlap (a Service range, a node's address), and what it is, for messages. */
export interface ReservedRange {
  cidr: string
  what: string
}

/** What of `reserved` the CIDR overlaps, each said once (several sources may name one Service range). */
export function reservedOverlaps(cidr: string, reserved: readonly ReservedRange[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const r of reserved) {
    const range = parseCidr(r.cidr)
    if (!range || range.family !== parseCidr(cidr)?.family || !cidrsOverlap(cidr, range.text) || seen.has(range.text)) continue
    seen.add(range.text)
    out.push(r.what)
  }
  return out
}

/**
 * A name for a migration's new pool that says what it is (default-ipv6-ippool-fd00-10-244---56), and is
 * free: a pool of that name made by someone else gets -2, -3, ... rather than being taken over.
 */
export function migratedPoolName(family: Family, cidr: string, pools: readonly IPPoolObject[] = []): string {
  const base = `default-${family}-ippool-${cidr.replace(/[.:/]/g, '-')}`.toLowerCase()
  const taken = new Set(pools.map((p) => p.metadata?.name))
  if (!taken.has(base)) return base
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`
}

const PATCHABLE: ReadonlySet<PoolField> = new Set(['natOutgoing', 'nodeSelector', 'ipipMode', 'vxlanMode', 'disabled'])

const OPERATOR_STATUS = 'the operator reconciles its pools while the Calico API server runs: kubectl get tigerastatus ippools says why it has not'

/** The Installation's field a pool field comes from. */
const INSTALLATION_FIELD: Record<PoolField, string> = {cidr: 'cidr', blockSize: 'blockSize', ipipMode: 'encapsulation', vxlanMode: 'encapsulation', natOutgoing: 'natOutgoing', nodeSelector: 'nodeSelector', disabled: 'disableNewAllocations'}

function differences(current: IPPoolSpec | undefined, desired: DesiredPool): Difference[] {
  const from = effectiveSpec(current)
  const to = effectiveSpec(desired.spec)
  return poolDifferences(current, desired.spec).map((field) => ({field, from: from[field], to: to[field], source: desired.sources[field]}))
}

/**
 * An operator install: the Installation "default" is the source of its pools (spec.calicoNetwork.ipPools), and
 * the operator reconciles the pools it manages to it, so a change made only to the IPPool is reverted. The pool
 * is judged against the Installation (whatever --cidr says: one answer per pool), and ippool fix writes none of
 * the operator's pools: it says which Installation field to change instead.
 */
function planOperatorPool(input: PlanInput, base: Pick<PoolFixPlan, 'family' | 'apiVersion' | 'impact'>): PoolFixPlan | Refusal {
  const {family} = input
  const name = familyName(family)
  const entry = installationPoolOf(input.installation, family)
  if (!entry) {
    return {refused: `the Installation "default" has no ${name} pool in spec.calicoNetwork.ipPools: on a Tigera operator install the pools come from there (the operator creates them, and its CNI config assigns ${name} only with one)`,
      hint: `add one with kubectl edit installation default, e.g. spec.calicoNetwork.ipPools: - {cidr: ${family === 'ipv6' ? 'fd00:10:244::/56' : '10.244.0.0/16'}, encapsulation: None, natOutgoing: Enabled}; the operator then creates the IPPool`}
  }
  const desired = poolFromInstallation(entry.pool, entry.field)
  if ('problem' in desired) return {refused: desired.problem, hint: 'correct it with kubectl edit installation default'}
  const {field} = entry
  const cidrNote = input.cidr && input.cidr !== desired.spec.cidr ? `; --cidr ${input.cidr} is not its CIDR there (${field}.cidr is ${entry.pool.cidr})` : ''
  const edit = (fields: string[]) => `to change the pool, change ${fields.map((f) => `${field}.${f}`).join(', ')} with kubectl edit installation default: the operator then updates the IPPool (see docs.tigera.io "Migrate from one IP pool to another" for a new CIDR)`
  const pool = input.pools.find((p) => parseCidr(p.spec?.cidr ?? '')?.text === desired.spec.cidr) ?? input.target
  if (!pool || parseCidr(pool.spec?.cidr ?? '')?.text !== desired.spec.cidr) {
    const other = pool ? `; IPPool ${pool.metadata?.name} (${pool.spec?.cidr}) is not in the Installation` : ''
    return {refused: `the Installation "default" asks for the ${name} pool ${desired.name} (${desired.spec.cidr}, ${field}) and there is none: the Tigera operator creates it, not ippool fix${other}${cidrNote}`,
      hint: `${OPERATOR_STATUS}; ${edit(['cidr'])}`, pool: pool?.metadata?.name, from: pool?.spec ?? null, to: {name: desired.name, spec: desired.spec}, wrong: differences(pool?.spec, desired)}
  }
  const poolName = pool.metadata?.name ?? ''
  const wrong = differences(pool.spec, desired)
  const managed = `IPPool ${poolName} is managed by the Tigera operator from the Installation "default" (${field})`
  if (wrong.length === 0 && !cidrNote) {
    return {...base, pool: poolName, from: pool.spec ?? null, to: {name: poolName, spec: desired.spec}, wrong: [], strategy: 'none', actions: [], commitAt: 0,
      notes: [`${managed}, and is what it asks`]}
  }
  const fields = [...new Set([...wrong.map((d) => INSTALLATION_FIELD[d.field]), ...(cidrNote ? ['cidr'] : [])])]
  const what = wrong.map((d) => `${d.field} ${String(d.from)} (${d.source})`).join(', ')
  return {refused: `${managed}: it is not changed behind the operator's back${what ? `; it differs from the Installation in ${what}` : ''}${cidrNote}; the operator reconciles the pools it manages to the Installation, so a change made only to the IPPool is reverted`,
    hint: `${wrong.length > 0 ? `the Installation already asks for ${wrong.map((d) => `${d.field} ${String(d.to)}`).join(', ')}: ${OPERATOR_STATUS}; ` : ''}${edit(fields)}`,
    pool: poolName, from: pool.spec ?? null, to: {name: poolName, spec: desired.spec}, wrong}
}

export function planPoolFix(input: PlanInput): PoolFixPlan | Refusal {
  const {family, target, impact} = input
  const api = input.apiVersion
  if (input.install.operator) return planOperatorPool(input, {family, apiVersion: api, impact})
  if (!input.env && !input.cidr) {
    return {refused: `there is no calico-node DaemonSet to read ${family === 'ipv4' ? 'CALICO_IPV4POOL_CIDR' : 'CALICO_IPV6POOL_CIDR'} from`, hint: 'pass --cidr CIDR'}
  }
  const desired = poolFromEnv(input.env ?? new Map(), family, input.cidr)
  if ('problem' in desired) return {refused: desired.problem}
  // What calico-node does not derive from its env stays as the current pool has it.
  if (target?.spec?.allowedUses) desired.spec.allowedUses = target.spec.allowedUses
  const base = {family, apiVersion: input.apiVersion, impact, notes: [] as string[]}
  const viaApiServer = input.apiVersion === 'projectcalico.org/v3'
  base.notes.push(viaApiServer
    ? 'writes go through projectcalico.org/v3: the Calico API server validates them'
    : 'writes go through crd.projectcalico.org/v1, which skips Calico\'s validation: the new pool was checked here as Calico\'s API server would')

  // Already fixed: an enabled pool of the family does what calico-node would create.
  const matching = input.pools.find((p) => parseCidr(p.spec?.cidr ?? '')?.family === family && !p.spec?.disabled && poolDifferences(p.spec, desired.spec).length === 0)
  if (matching) {
    const stale = target && target !== matching && target.spec?.disabled ? target : undefined
    if (stale) {
      const staleName = stale.metadata?.name ?? ''
      const newName = matching.metadata?.name ?? ''
      // A migration's last step: the old pool, disabled, once nothing holds an address of it. Not behind the
      // back of whoever manages it (the operator, GitOps, Helm would put it back): they are told, as for any change.
      const manager = poolManager(stale, input.install, input.installation)
      if (manager?.operator) return {refused: `IPPool ${staleName} is disabled and empty but managed by ${manager.text}: it is not deleted behind the operator's back`, hint: manager.fix}
      if (manager && !input.force) return {refused: `IPPool ${staleName} is disabled and empty but managed by ${manager.text}, which would put it back`, hint: `${manager.fix}; or pass --force`}
      if (impact.ipamError && impact.pods.length === 0 && impact.tunnels.length === 0) {
        // Leaked allocations cannot be counted: an empty-looking pool is not deleted on a guess.
        base.notes.push(`${staleName} (${stale.spec?.cidr}) is disabled and no pod or node tunnel address holds its addresses, but its IPAM allocations could not be read (${impact.ipamError}): it is left disabled; run ippool fix again once they can be read to delete it`)
      } else if (impact.pods.length === 0 && impact.tunnels.length === 0 && impact.leaked.length === 0) {
        return {...base, pool: staleName, from: stale.spec ?? null, to: {name: newName, spec: desired.spec}, wrong: [], strategy: 'migrate',
          ...finishMigrationSteps({api, pool: staleName, from: stale.spec ?? null, to: {name: newName, spec: desired.spec}}),
          notes: [...base.notes, `the migration to ${newName} (${matching.spec?.cidr}) is finished but for its last step: ${staleName} (${stale.spec?.cidr}) is disabled and nothing holds its addresses (no pod, no node tunnel address, no IPAM allocation), so it is deleted, with a backup${impact.blocks ? `; its ${impact.blocks} empty IPAM block(s) go with Calico's IPAM garbage collection` : ''}`]}
      }
      const holders = [impact.pods.length > 0 ? `${impact.pods.length} pod(s)` : '', impact.tunnels.length > 0 ? `${impact.tunnels.length} node tunnel address(es)` : '',
        impact.leaked.length > 0 ? `${impact.leaked.length} IPAM allocation(s) of pods that are gone (leaked)` : ''].filter(Boolean).join(', ')
      if (holders) base.notes.push(`${staleName} (${stale.spec?.cidr}) is disabled and still ${holders} hold addresses from it: kubectl dualstack pods recreate --in-pool ${staleName} -A, then run ippool fix again to delete it`)
    }
    return {...base, notes: base.notes.slice(1), pool: matching.metadata?.name ?? '', from: matching.spec ?? null, to: {name: matching.metadata?.name ?? '', spec: desired.spec}, wrong: [], strategy: 'none', actions: [], commitAt: 0}
  }

  const others = input.pools.filter((p) => p.metadata?.name !== target?.metadata?.name)
  const current = target ? effectiveSpec(target.spec) : undefined
  const want = effectiveSpec(desired.spec)
  const wrong: Difference[] = target
    ? poolDifferences(target.spec, desired.spec).map((field) => ({field, from: current![field], to: want[field], source: desired.sources[field] ?? (field === 'disabled' ? 'calico-node creates pools enabled' : undefined)}))
    : [{field: 'cidr', from: null, to: want.cidr, source: desired.sources.cidr}]

  if (target) {
    const manager = poolManager(target, input.install, input.installation)
    // Refused, but what is wrong is said all the same: it is what to change where the pool is managed.
    const what = {from: target.spec ?? null, to: {name: target.metadata?.name ?? '', spec: desired.spec}, wrong}
    if (manager?.operator) return {refused: `IPPool ${target.metadata?.name} is managed by ${manager.text}: it is not changed behind the operator's back`, hint: manager.fix, ...what}
    if (manager && !input.force) return {refused: `IPPool ${target.metadata?.name} is managed by ${manager.text}, which would put it back`, hint: `${managedPoolFix(manager, wrong)}; or pass --force`, ...what}
  }

  if (!target) {
    const problems = poolProblems(desired.name, desired.spec, others)
    if (problems.length > 0) return {refused: `the ${familyName(family)} pool calico-node would create is not valid: ${problems.join('; ')}`}
    return {...base, pool: desired.name, from: null, to: {name: desired.name, spec: desired.spec}, wrong, strategy: 'create',
      ...createSteps({api, pool: desired.name, from: null, to: {name: desired.name, spec: desired.spec}}),
      notes: [...base.notes, `there is no ${familyName(family)} pool: it is created exactly as calico-node creates it at start-up, so no calico-node restart is needed`]}
  }

  const name = target.metadata?.name ?? ''
  const holders = impact.pods.length
  const patchable = wrong.every((d) => PATCHABLE.has(d.field) || (d.field === 'blockSize' && holders === 0 && impact.tunnels.length === 0 && !viaApiServer))
  const from = target.spec ?? null
  if (patchable) {
    const spec = {...target.spec, ...desired.spec, cidr: target.spec?.cidr ?? desired.spec.cidr, disabled: false}
    const problems = poolProblems(name, spec, others)
    if (problems.length > 0) return {refused: `the fixed pool would not be valid: ${problems.join('; ')}`}
    return {...base, pool: name, from, to: {name, spec}, wrong, strategy: 'patch',
      ...patchSteps({api, pool: name, from, to: {name, spec}}),
      notes: [...base.notes, `only ${wrong.map((d) => d.field).join(', ')} differ: the pool is updated in place, nothing is deleted and no pod loses its address`]}
  }

  let strategy: 'recreate' | 'migrate' = input.strategy === 'auto' ? (holders > 0 ? 'migrate' : 'recreate') : input.strategy
  const holderText = `${holders} pod(s) hold addresses from ${name} (${target.spec?.cidr})`
  if (strategy === 'recreate' && holders > 0 && !input.force) {
    return {refused: `${holderText}: recreating the pool under them leaves their addresses outside every pool`,
      hint: 'use --strategy migrate (Calico\'s documented migration; --recreate-pods moves them), or --force'}
  }
  if (strategy === 'migrate' && cidrsOverlap(desired.spec.cidr, target.spec?.cidr ?? '')) {
    const blockOnly = wrong.every((d) => d.field !== 'cidr')
    if (input.strategy === 'migrate' || !input.force) {
      return {refused: blockOnly
        ? `the block size of ${name} cannot change while ${holders} pod(s) use it, and a migration needs a new range`
        : `a migration needs a new range that does not overlap ${name} (${target.spec?.cidr}); ${desired.spec.cidr} does`,
      hint: 'pass --cidr with a range that does not overlap the current pool'}
    }
    strategy = 'recreate'
  }

  if (strategy === 'recreate') {
    const problems = poolProblems(name, desired.spec, others)
    if (problems.length > 0) return {refused: `the new pool would not be valid: ${problems.join('; ')}`}
    const notes = [...base.notes,
      `${name} is deleted and written again exactly as calico-node writes it at start-up (${desired.spec.cidr}): no calico-node restart is needed and no node loses networking`]
    if (holders > 0) notes.push(`--force: ${holderText}; they keep them, outside every pool, until recreated: kubectl dualstack pods recreate --outside-pools -A`)
    if (impact.tunnels.length > 0) notes.push(`${impact.tunnels.length} node tunnel address(es) lie in the old range: calico-node gives the nodes new ones from the new pool`)
    if (impact.blocks) notes.push(`${impact.blocks} IPAM block(s) of the old range stay affine to their nodes until Calico's IPAM garbage collection releases them`)
    return {...base, pool: name, from, to: {name, spec: desired.spec}, wrong, strategy: 'recreate',
      ...recreateSteps({api, pool: name, from, to: {name, spec: desired.spec}}), notes}
  }

  const newName = migratedPoolName(family, desired.spec.cidr, input.pools)
  const problems = poolProblems(newName, desired.spec, input.pools)
  if (problems.length > 0) return {refused: `the new pool would not be valid: ${problems.join('; ')}`}
  const groups = groupByOwner(impact.pods, input.evictBare)
  const {actions, commitAt} = migrateSteps({api, pool: name, from, to: {name: newName, spec: desired.spec}}, input.recreatePods && groups.length > 0 ? groups : undefined)
  const notes = [...base.notes,
    `Calico's migration: ${newName} (${desired.spec.cidr}) is created, ${name} is disabled so no new address comes from it; pods keep their addresses until recreated`,
    input.recreatePods
      ? `then the pods move, one owner at a time: ${groups.map((g) => `${g.owner ? `${g.owner.kind} ${g.namespace}/${g.owner.name}` : `bare pod(s) ${g.pods.map((p) => `${g.namespace}/${p}`).join(', ')}`} (${g.action === 'list' ? `listed only: ${g.why}` : g.action})`).join('; ')}`
      : `the pods to move (pass --recreate-pods to move them now): ${groups.map((g) => `${g.owner ? `${g.owner.kind} ${g.namespace}/${g.owner.name}` : `bare pod(s) in ${g.namespace}`}: ${g.pods.join(', ')}`).join('; ')}`,
    `${name} is deleted once nothing holds its addresses; until then it stays disabled`,
  ]
  return {...base, pool: name, from, to: {name: newName, spec: desired.spec}, wrong, strategy: 'migrate', actions, commitAt, notes}
}

/** What a plan's steps are built from: all of it is in the journal's parameters, so a journal read back can be checked against it. */
export interface StepsInput {
  api: PoolApiVersion
  /** The pool being fixed (its current name). */
  pool: string
  from: IPPoolSpec | null
  to: {name: string; spec: IPPoolSpec}
}

type Steps = Pick<PoolFixPlan, 'actions' | 'commitAt'>

export function createSteps({api, to}: StepsInput): Steps {
  return {actions: [{kind: 'create-pool', api, pool: to.name, spec: to.spec}, {kind: 'verify-pool', api, pool: to.name, spec: to.spec}], commitAt: 2}
}

export function patchSteps({api, pool, from, to}: StepsInput): Steps {
  return {actions: [{kind: 'backup', api, pool, expect: from ?? {}}, {kind: 'update-pool', api, pool, spec: to.spec}, {kind: 'verify-pool', api, pool, spec: to.spec}], commitAt: 3}
}

export function recreateSteps({api, pool, from, to}: StepsInput): Steps {
  return {actions: [{kind: 'backup', api, pool, expect: from ?? {}}, {kind: 'delete-pool', api, pool}, {kind: 'create-pool', api, pool, spec: to.spec}, {kind: 'verify-pool', api, pool, spec: to.spec}], commitAt: 4}
}

/** Calico's migration: the new pool, the old one disabled, (the pods moved,) the old one deleted once empty. */
export function migrateSteps({api, pool, from, to}: StepsInput, groups?: OwnerGroup[]): Steps {
  const actions: Action[] = [
    {kind: 'backup', api, pool, expect: from ?? {}},
    {kind: 'create-pool', api, pool: to.name, spec: to.spec, migratedFrom: pool},
    {kind: 'update-pool', api, pool, spec: {...from, cidr: from?.cidr ?? '', disabled: true}},
    {kind: 'verify-pool', api, pool: to.name, spec: to.spec},
  ]
  const commitAt = actions.length
  if (groups) actions.push({kind: 'recreate-pods', api, pool, groups})
  actions.push({kind: 'delete-pool-if-unused', api, pool, cidr: from?.cidr ?? ''})
  return {actions, commitAt}
}

/** A migration's last step, run later: the disabled old pool deleted once nothing holds its addresses. */
export function finishMigrationSteps({api, pool, from}: StepsInput): Steps {
  return {actions: [{kind: 'backup', api, pool, expect: from ?? {}}, {kind: 'delete-pool-if-unused', api, pool, cidr: from?.cidr ?? ''}], commitAt: 1}
}

/** The plans ippool fix makes for a strategy from these inputs (a migration: with or without moving pods, or only its last step). */
export function plansFor(strategy: Exclude<Strategy, 'none'>, input: StepsInput): Steps[] {
  switch (strategy) {
    case 'create': return [createSteps(input)]
    case 'patch': return [patchSteps(input)]
    case 'recreate': return [recreateSteps(input)]
    case 'migrate': return [migrateSteps(input), migrateSteps(input, []), finishMigrationSteps(input)]
  }
}
