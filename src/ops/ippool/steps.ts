// The step kinds of ippool fix. Each re-reads the pool before it writes, fails with what it found when the
// pool is not as the plan expects, and undoes only what this run did: a pool this run creates carries the
// run's id in an annotation, and an undo never deletes a pool without it, nor one that pods hold addresses of.
import type {AccessNeed} from '../../cluster/access.js'
import type {IPPoolObject, IPPoolSpec} from '../../cluster/types.js'
import {effectiveSpec, explicitPoolSpec, poolDifferences} from '../../calico/pools.js'
import {ApiError} from '../../errors.js'
import {parseCidr} from '../../net/ip.js'
import {restorable, writeBackup} from '../backup.js'
import {objectKey, StepFailure, type KindRegistry, type StepContext, type StepKind, type WritingKind} from '../engine/steps.js'
import {recreateNeeds} from '../../cluster/access.js'
import {recreateGroups} from '../recreate.js'
import {groupsProblem, type OwnerGroup} from '../pods.js'
import {CRD_POOLS, holdersOf, readImpact, V3_POOLS, type PoolApiVersion} from './gather.js'

/** The collection each pool API writes through (gather.ts's, where the API is chosen). */
const POOL_COLLECTIONS: Record<PoolApiVersion, string> = {'crd.projectcalico.org/v1': CRD_POOLS, 'projectcalico.org/v3': V3_POOLS}
export {RUN_ANNOTATION} from './plan.js'
import {MIGRATED_FROM_ANNOTATION, RUN_ANNOTATION} from './plan.js'

interface PoolRef {
  api: PoolApiVersion
  pool: string
}
export type BackupStep = PoolRef & {kind: 'backup'; expect: IPPoolSpec}
export type CreatePoolStep = PoolRef & {kind: 'create-pool'; spec: IPPoolSpec; migratedFrom?: string}
export type UpdatePoolStep = PoolRef & {kind: 'update-pool'; spec: IPPoolSpec}
export type DeletePoolStep = PoolRef & {kind: 'delete-pool'}
export type VerifyPoolStep = PoolRef & {kind: 'verify-pool'; spec: IPPoolSpec}
export type RecreatePodsStep = PoolRef & {kind: 'recreate-pods'; groups: OwnerGroup[]}
export type DeleteIfUnusedStep = PoolRef & {kind: 'delete-pool-if-unused'; cidr: string}
export type PoolStep = BackupStep | CreatePoolStep | UpdatePoolStep | DeletePoolStep | VerifyPoolStep | RecreatePodsStep | DeleteIfUnusedStep

const collection = (step: PoolRef) => POOL_COLLECTIONS[step.api]
const poolPath = (step: PoolRef, name = step.pool) => `${collection(step)}/${encodeURIComponent(name)}`
export const poolKey = (name: string) => objectKey('ippools', name)
const groupOf = (api: PoolApiVersion) => api.split('/')[0]!
const need = (step: PoolRef, ...verbs: string[]): AccessNeed[] => verbs.map((verb) => ({verb, group: groupOf(step.api), resource: 'ippools'}))

const getPool = (ctx: StepContext, step: PoolRef) => ctx.client.getIfExists<IPPoolObject>(poolPath(step))

function specText(s: IPPoolSpec): string {
  return `${s.cidr}, blockSize ${s.blockSize}, natOutgoing ${s.natOutgoing}, ipipMode ${s.ipipMode}, vxlanMode ${s.vxlanMode}, nodeSelector ${s.nodeSelector}`
}

function manifest(step: PoolRef, spec: IPPoolSpec, base?: IPPoolObject): IPPoolObject {
  return {...(base ?? {}), apiVersion: step.api, kind: 'IPPool', metadata: {...(base?.metadata ?? {}), name: step.pool}, spec}
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/
const ENCAP = ['Never', 'Always', 'CrossSubnet']

/** A pool spec read from a journal: only IPPool fields, each of its type, and a CIDR that is one. */
export function specProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the pool spec is not an object'
  const spec = value as Record<string, unknown>
  // Fields of later Calico versions (assignmentMode, ...) are kept as the pool has them: plain values only.
  const odd = Object.entries(spec).find(([field, v]) => !/^[a-zA-Z]{1,40}$/.test(field) || !(['string', 'number', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((x) => typeof x === 'string'))))
  if (odd) return `the pool spec's field ${JSON.stringify(odd[0])} is not one an IPPool has`
  if (typeof spec.cidr !== 'string' || !parseCidr(spec.cidr)) return 'the pool spec has no valid cidr'
  if (spec.blockSize !== undefined && !Number.isInteger(spec.blockSize)) return 'the pool spec\'s blockSize is not a number'
  for (const field of ['natOutgoing', 'disabled', 'disableBGPExport']) if (spec[field] !== undefined && typeof spec[field] !== 'boolean') return `the pool spec's ${field} is not true or false`
  for (const field of ['ipipMode', 'vxlanMode']) if (spec[field] !== undefined && !ENCAP.includes(spec[field] as string)) return `the pool spec's ${field} is not one of ${ENCAP.join(', ')}`
  if (spec.nodeSelector !== undefined && typeof spec.nodeSelector !== 'string') return 'the pool spec\'s nodeSelector is not text'
  if (spec.allowedUses !== undefined && !(Array.isArray(spec.allowedUses) && spec.allowedUses.every((u) => ['Workload', 'Tunnel', 'LoadBalancer'].includes(u as string)))) return 'the pool spec\'s allowedUses are not Calico\'s'
  return undefined
}

function refProblem(step: Record<string, unknown>): string | undefined {
  if (!Object.keys(POOL_COLLECTIONS).includes(step.api as string)) return `the pool API ${JSON.stringify(step.api)} is not Calico's`
  if (typeof step.pool !== 'string' || !NAME.test(step.pool)) return `${JSON.stringify(step.pool)} is not a pool name`
  return undefined
}

const validateWith = (...fields: Array<'spec' | 'expect'>) => (step: Record<string, unknown>) =>
  refProblem(step) ?? fields.map((f) => specProblem(step[f])).find(Boolean)

const touchesPool = (step: PoolRef) => [poolKey(step.pool)]

/** The original of a pool (recorded by its backup step), or why there is none. */
function originalOf(ctx: StepContext, name: string): IPPoolObject | undefined {
  return ctx.originals[poolKey(name)] as IPPoolObject | undefined
}

/** Writes, retrying while only metadata moved under it (another writer's label): a changed spec is an error. */
async function putSpec(ctx: StepContext, step: PoolRef, spec: IPPoolSpec, unchangedFrom: IPPoolSpec | undefined): Promise<'written' | 'already'> {
  for (let attempt = 1; ; attempt++) {
    const current = await getPool(ctx, step)
    if (!current) throw new StepFailure(`IPPool ${step.pool} no longer exists`)
    if (poolDifferences(current.spec, spec).length === 0) return 'already'
    if (unchangedFrom && poolDifferences(current.spec, unchangedFrom).length > 0) {
      throw new StepFailure(`IPPool ${step.pool} was changed by someone else since the plan was made (now ${specText(effectiveSpec(current.spec) as IPPoolSpec)})`)
    }
    try {
      // The resourceVersion it was read at makes a concurrent change a 409, not a silent overwrite.
      await ctx.client.request('PUT', poolPath(step), {body: manifest(step, spec, current)})
      return 'written'
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 409) || attempt >= 5) throw error
    }
  }
}

/** Puts a pool back as its original was: created if missing (a rollback), its spec restored if it differs. */
async function restoreOriginal(ctx: StepContext, step: PoolRef): Promise<string | undefined> {
  const original = originalOf(ctx, step.pool)
  if (!original) return undefined
  const current = await getPool(ctx, step)
  if (!current) {
    // Built here from the validated original (its name is the step's), never sent as the journal holds it.
    const meta = original.metadata ?? {}
    await ctx.client.request('POST', collection(step), {body: {...manifest(step, original.spec ?? {}),
      metadata: {name: step.pool, ...(meta.labels ? {labels: meta.labels} : {}), ...(meta.annotations ? {annotations: meta.annotations} : {})}}})
    return `created again as it was (${original.spec?.cidr})`
  }
  const off = poolDifferences(current.spec, original.spec ?? {})
  if (off.length === 0) return undefined
  if (off.includes('cidr') || off.includes('blockSize')) {
    throw new StepFailure(`IPPool ${step.pool} is now ${current.spec?.cidr} (blockSize ${current.spec?.blockSize}) and was not made by this run: it is not replaced; restore it from the backup by hand`)
  }
  await putSpec(ctx, step, original.spec ?? {}, undefined)
  return `put back as it was (${off.map((f) => `${f} ${String(effectiveSpec(original.spec)[f])}`).join(', ')})`
}

async function deleteIfThere(ctx: StepContext, step: PoolRef, uid?: string): Promise<void> {
  try {
    await ctx.client.request('DELETE', poolPath(step), uid ? {body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid}}} : {})
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 404)) throw error
  }
}

const backup: StepKind<BackupStep> = {
  kind: 'backup', writes: false,
  describe: (s) => `back up IPPool ${s.pool} to a YAML file`,
  needs: (s) => need(s, 'get'),
  touches: touchesPool,
  validate: validateWith('expect'),
  async apply(step, ctx) {
    const current = await getPool(ctx, step)
    if (!current) throw new StepFailure(`IPPool ${step.pool} no longer exists: the cluster changed since the plan was made; run again`)
    if (poolDifferences(current.spec, step.expect).length > 0) throw new StepFailure(`IPPool ${step.pool} changed since the plan was made (now ${current.spec?.cidr}); run again`)
    // Every field written out: kubectl apply's three-way merge keeps a field the file leaves out (disabled: true).
    ctx.originals[poolKey(step.pool)] ??= restorable(current)
    const file = await writeBackup(ctx.backupDir, {...current, spec: explicitPoolSpec(current.spec)}, ctx.target)
    ctx.backups.push(file)
    ctx.onProgress?.(`backup written: ${file}`)
    return {message: file}
  },
}

const createPool: WritingKind<CreatePoolStep> = {
  kind: 'create-pool', writes: true,
  describe: (s) => `create IPPool ${s.pool} (${specText(s.spec)})`,
  needs: (s) => need(s, 'create', 'get', 'update', 'delete'),
  touches: touchesPool,
  validate: (s) => validateWith('spec')(s) ?? (s.migratedFrom === undefined || (typeof s.migratedFrom === 'string' && NAME.test(s.migratedFrom)) ? undefined : `${JSON.stringify(s.migratedFrom)} is not a pool name`),
  // A pool of that name this run did not make (taken since the plan): not ours to take, nor to delete on undo.
  async expects(step, ctx) {
    const existing = await getPool(ctx, step)
    if (existing && existing.metadata?.annotations?.[RUN_ANNOTATION] !== ctx.runId) return `IPPool ${step.pool} already exists (${existing.spec?.cidr}) and this run did not create it: it is left alone`
    return undefined
  },
  async apply(step, ctx) {
    // Ours from an earlier attempt of this step (a resumed run): done.
    if (await getPool(ctx, step)) return {message: 'already created by this run'}
    await ctx.client.request('POST', collection(step), {body: {...manifest(step, step.spec), metadata: {name: step.pool,
      annotations: {[RUN_ANNOTATION]: ctx.runId, ...(step.migratedFrom ? {[MIGRATED_FROM_ANNOTATION]: step.migratedFrom} : {})}}}})
    return undefined
  },
  async undo(step, ctx) {
    const current = await getPool(ctx, step)
    if (!current) return
    if (current.metadata?.annotations?.[RUN_ANNOTATION] !== ctx.runId) return {message: `IPPool ${step.pool} was not created by this run: left as it is`}
    // Never take a pool away from under running workloads: disable it instead and say what to move.
    const holders = await holdersOf(ctx.client, current.spec?.cidr ?? step.spec.cidr ?? '')
    if (holders.length > 0 && !ctx.force) {
      if (originalOf(ctx, step.pool)) {
        throw new StepFailure(`${holders.length} pod(s) hold addresses of the new IPPool ${step.pool}, so it cannot be replaced by the original; move them (kubectl dualstack pods recreate --in-pool ${step.pool} -A) and run --rollback again, or pass --force`)
      }
      await putSpec(ctx, step, {...current.spec, disabled: true}, undefined)
      const names = holders.slice(0, 10).map((p) => `${p.namespace}/${p.name}`).join(', ')
      ctx.left.push(`IPPool ${step.pool} (${current.spec?.cidr}) is left disabled, not deleted: ${holders.length} pod(s) hold its addresses (${names}${holders.length > 10 ? ', ...' : ''}); move them with kubectl dualstack pods recreate --in-pool ${step.pool} -A, then delete it (kubectl delete ippools.crd.projectcalico.org ${step.pool}), or roll back with --force`)
      return {message: `disabled, not deleted: ${holders.length} pod(s) hold its addresses`}
    }
    await deleteIfThere(ctx, step, current.metadata?.uid)
    return holders.length > 0 ? {message: `deleted (--force) although ${holders.length} pod(s) hold its addresses`} : undefined
  },
}

const updatePool: WritingKind<UpdatePoolStep> = {
  kind: 'update-pool', writes: true,
  describe: (s) => (s.spec.disabled ? `disable IPPool ${s.pool} (no new addresses come from it)` : `update IPPool ${s.pool} (${specText(s.spec)})`),
  needs: (s) => need(s, 'get', 'update'),
  touches: touchesPool,
  validate: validateWith('spec'),
  async apply(step, ctx) {
    const outcome = await putSpec(ctx, step, step.spec, originalOf(ctx, step.pool)?.spec)
    return outcome === 'already' ? {message: 'already so'} : undefined
  },
  async undo(step, ctx) {
    // Only this run's write is taken back: a pool someone else changed since (the reason to roll back,
    // often) is left as they made it.
    const current = await getPool(ctx, step)
    if (current && poolDifferences(current.spec, step.spec).length > 0) {
      const off = poolDifferences(current.spec, originalOf(ctx, step.pool)?.spec ?? {})
      if (off.length === 0) return undefined
      ctx.left.push(`IPPool ${step.pool} was changed by someone else during the run and is left as they made it (${off.map((f) => `${f} ${String(effectiveSpec(current.spec)[f])}`).join(', ')}); the backup has it as it was`)
      return {message: 'changed by someone else since: left as it is'}
    }
    const message = await restoreOriginal(ctx, step)
    return message ? {message} : undefined
  },
}

const deletePool: WritingKind<DeletePoolStep> = {
  kind: 'delete-pool', writes: true,
  describe: (s) => `delete IPPool ${s.pool}`,
  needs: (s) => need(s, 'get', 'delete', 'create'),
  touches: touchesPool,
  validate: validateWith(),
  // The pool as it was backed up: one changed since is someone else's change, not deleted over.
  async expects(step, ctx) {
    const current = await getPool(ctx, step)
    const original = originalOf(ctx, step.pool)
    return current && original && poolDifferences(current.spec, original.spec ?? {}).length > 0 ? `IPPool ${step.pool} was changed by someone else since it was backed up` : undefined
  },
  async apply(step, ctx) {
    const current = await getPool(ctx, step)
    if (!current) return {message: 'already gone'}
    // The uid precondition: a pool someone re-created under the same name in between is not deleted.
    await deleteIfThere(ctx, step, current.metadata?.uid)
    return undefined
  },
  async undo(step, ctx) {
    const message = await restoreOriginal(ctx, step)
    return message ? {message} : undefined
  },
}

const verifyPool: StepKind<VerifyPoolStep> = {
  kind: 'verify-pool', writes: false,
  describe: (s) => `verify IPPool ${s.pool} reads back as planned`,
  needs: (s) => need(s, 'get'),
  touches: touchesPool,
  validate: validateWith('spec'),
  async apply(step, ctx) {
    const now = await getPool(ctx, step)
    if (!now) throw new StepFailure(`IPPool ${step.pool} is not there`)
    const off = poolDifferences(now.spec, step.spec)
    if (off.length > 0) throw new StepFailure(`IPPool ${step.pool} reads back with ${off.map((f) => `${f} ${String(effectiveSpec(now.spec)[f])}`).join(', ')}`)
  },
}

const recreatePods: WritingKind<RecreatePodsStep> = {
  kind: 'recreate-pods', writes: true,
  describe: (s) => `recreate the pods holding addresses of ${s.pool}, one owner at a time (${s.groups.map((g) => (g.owner ? `${g.owner.kind} ${g.namespace}/${g.owner.name}` : `${g.pods.length} bare pod(s) in ${g.namespace}`)).join(', ')})`,
  needs: (s) => recreateNeeds(s.groups),
  touches: () => [],
  validate: (s) => refProblem(s) ?? groupsProblem(s.groups),
  undo: {irreversible: 'recreated pods keep their new addresses'},
  async apply(step, ctx) {
    const outcome = await recreateGroups(ctx.client, step.groups, {deadline: ctx.deadline, readyTimeoutMs: ctx.readyTimeoutMs, stopped: ctx.stopped, onProgress: ctx.onProgress, restartToken: ctx.runId})
    ctx.left.push(...outcome.notes)
    if (outcome.error) throw new StepFailure(outcome.error)
    const blocked = outcome.outcomes.filter((o) => o.status === 'blocked' || o.status === 'refused')
    if (blocked.length > 0) throw new StepFailure(`${blocked.length} owner(s) not recreated: ${blocked.map((o) => `${o.owner}: ${o.message}`).join('; ')}`)
    const skipped = outcome.outcomes.filter((o) => o.status === 'skipped')
    if (skipped.length > 0) throw new StepFailure(`${skipped.length} owner(s) not recreated: ${skipped[0]!.message}`)
  },
}

const deleteIfUnused: WritingKind<DeleteIfUnusedStep> = {
  kind: 'delete-pool-if-unused', writes: true,
  describe: (s) => `delete IPPool ${s.pool} once no pod holds an address of ${s.cidr}, else leave it disabled`,
  needs: (s) => need(s, 'get', 'delete', 'create'),
  touches: touchesPool,
  validate: (s) => refProblem(s) ?? (typeof s.cidr === 'string' && parseCidr(s.cidr) ? undefined : 'the pool\'s cidr is not a CIDR'),
  async apply(step, ctx) {
    const current = await getPool(ctx, step)
    if (!current) return {message: 'already gone'}
    // Only the pool this run disabled (or found disabled): same range, still disabled.
    if (parseCidr(current.spec?.cidr ?? '')?.text !== parseCidr(step.cidr)?.text || current.spec?.disabled !== true) {
      throw new StepFailure(`IPPool ${step.pool} is now ${current.spec?.cidr}${current.spec?.disabled ? '' : ', enabled'}: it was changed since the plan and is not deleted`)
    }
    // Nothing may hold an address of it: pods, node tunnel addresses, IPAM allocations of pods that are gone.
    const impact = await readImpact(ctx.client, step.cidr)
    const holders = impact.pods.length + impact.tunnels.length + impact.leaked.length
    if (holders === 0 && impact.ipamError) {
      // Leaked allocations cannot be counted: an empty-looking pool is not deleted on a guess.
      ctx.left.push(`IPPool ${step.pool} (${step.cidr}) stays disabled: no pod or node tunnel address holds its addresses, but its IPAM allocations could not be read (${impact.ipamError}); run kubectl dualstack ippool fix again once they can be read`)
      return {message: 'IPAM allocations unreadable: left disabled'}
    }
    if (holders === 0) {
      await deleteIfThere(ctx, step, current.metadata?.uid)
      return {message: `nothing held addresses of ${step.cidr}: deleted`}
    }
    const pods = impact.pods
    const what = [pods.length > 0 ? `${pods.length} pod(s)` : '', impact.tunnels.length > 0 ? `${impact.tunnels.length} node tunnel address(es)` : '',
      impact.leaked.length > 0 ? `${impact.leaked.length} IPAM allocation(s) of pods that are gone` : ''].filter(Boolean).join(', ')
    const names = pods.length > 0 ? ` (${pods.slice(0, 10).map((p) => `${p.namespace}/${p.name}`).join(', ')}${pods.length > 10 ? ', ...' : ''})` : ''
    ctx.left.push(`IPPool ${step.pool} (${step.cidr}) stays disabled: ${what} still hold its addresses${names}; move them with kubectl dualstack pods recreate --in-pool ${step.pool} -A, then run kubectl dualstack ippool fix again`)
    return {message: `${holders} address(es) still held: left disabled`}
  },
  async undo(step, ctx) {
    const message = await restoreOriginal(ctx, step)
    return message ? {message} : undefined
  },
}

/** An original read back from a journal: an IPPool of the key's name with a valid spec and plain labels and annotations. */
export function originalProblem(key: string, value: Record<string, unknown>): string | undefined {
  const meta = (value.metadata ?? {}) as Record<string, unknown>
  if (key !== poolKey(String(meta.name))) return `its original of ${key} is named ${JSON.stringify(meta.name)}`
  const stringMap = (m: unknown) => m === undefined || (typeof m === 'object' && m !== null && !Array.isArray(m) && Object.values(m).every((v) => typeof v === 'string'))
  if (!stringMap(meta.labels) || !stringMap(meta.annotations)) return `its original of ${key} has labels or annotations that are not text`
  const problem = specProblem(value.spec)
  return problem ? `its original of ${key}: ${problem}` : undefined
}

export const POOL_KINDS: KindRegistry = {
  backup, 'create-pool': createPool, 'update-pool': updatePool, 'delete-pool': deletePool, 'verify-pool': verifyPool,
  'recreate-pods': recreatePods, 'delete-pool-if-unused': deleteIfUnused,
}
