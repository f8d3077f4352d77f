// The repair engine and ippool fix's step kinds, in process against a fake cluster: every write failing
// (refused, or applied with the answer lost), every interruption point, the journal forged, other writers
// racing the run. In milliseconds; the binary tests keep the paths end to end.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {parse} from 'yaml'

import {calicoInstall} from '../../src/calico/install.js'
import {poolDifferences} from '../../src/calico/pools.js'
import type {IPPoolObject} from '../../src/cluster/types.js'
import {DualstackError} from '../../src/errors.js'
import type {EngineOutcome} from '../../src/ops/engine/executor.js'
import {isUnfinished, type Journal} from '../../src/ops/engine/journal.js'
import {isRefused, RepairEngine, type Refused, type RunSettings} from '../../src/ops/engine/run.js'
import {planProblems, type WritingKind} from '../../src/ops/engine/steps.js'
import {isRefusal, planPoolFix, type PlanInput, type PoolFixPlan} from '../../src/ops/ippool/plan.js'
import {POOL_FIX, type PoolFixParams} from '../../src/ops/ippool/run.js'
import {POOL_KINDS, RUN_ANNOTATION} from '../../src/ops/ippool/steps.js'
import {FakeCluster, type Fault} from './fake-cluster.js'

const POOLS = '/apis/crd.projectcalico.org/v1/ippools'
const LEASE = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kubectl-dualstack'
const env = (vars: Record<string, string>) => new Map(Object.entries(vars).map(([k, v]) => [k, {value: v}]))
const install = calicoInstall([{metadata: {name: 'calico-node', namespace: 'kube-system'}}], undefined)!
const OLD = {cidr: 'fd00:1::/64', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()'}
const oldPool = (): IPPoolObject => ({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool'}, spec: {...OLD}})
const holder = (name: string, ip: string) => ({metadata: {name, namespace: 'default'}, spec: {nodeName: 'n1'}, status: {phase: 'Running', podIPs: [{ip: '10.0.0.9'}, {ip}]}})

let backupDir: string
beforeEach(() => (backupDir = mkdtempSync(path.join(tmpdir(), 'engine-'))))
afterEach(() => rmSync(backupDir, {recursive: true, force: true}))

type Strategy = 'patch' | 'recreate' | 'migrate' | 'create'

/** A cluster and the plan ippool fix makes for it, for one strategy. */
function scenario(strategy: Strategy): {fake: FakeCluster; plan: PoolFixPlan} {
  const fake = new FakeCluster()
  const pools = strategy === 'create' ? [] : [fake.put(`${POOLS}/default-ipv6-ippool`, oldPool() as never) as IPPoolObject]
  const pods = strategy === 'migrate' ? [holder('web-1', 'fd00:1::5')] : []
  for (const pod of pods) fake.put(`/api/v1/namespaces/default/pods/${pod.metadata.name}`, pod)
  const cidr = strategy === 'patch' ? 'fd00:1::/64' : 'fd00:2::/64'
  fake.calicoEnv({CALICO_IPV6POOL_CIDR: cidr, CALICO_IPV6POOL_NAT_OUTGOING: 'true'})
  const input: PlanInput = {family: 'ipv6', strategy: 'auto', force: false, recreatePods: false, evictBare: false, install,
    env: env({CALICO_IPV6POOL_CIDR: cidr, CALICO_IPV6POOL_NAT_OUTGOING: 'true'}), pools, target: pools[0],
    impact: {cidr: OLD.cidr, pods: pods.map((p) => ({namespace: 'default', name: p.metadata.name, ips: [p.status.podIPs[1]!.ip]})), tunnels: [], leaked: []},
    apiVersion: 'crd.projectcalico.org/v1'}
  const plan = planPoolFix(input)
  if (isRefusal(plan)) throw new Error(plan.refused)
  expect(plan.strategy).toBe(strategy)
  return {fake, plan}
}

const paramsOf = (plan: PoolFixPlan): PoolFixParams => ({family: plan.family, pool: plan.pool, strategy: plan.strategy as PoolFixParams['strategy'], from: plan.from, to: plan.to, wrong: plan.wrong, notes: plan.notes})

function settings(over: Partial<RunSettings> = {}): RunSettings {
  return {deadline: Date.now() + 60_000, timeoutText: '1m', backupDir, readyTimeoutMs: 1000, force: false, stopped: () => undefined, patienceMs: 0, ...over}
}

async function start(fake: FakeCluster, plan: PoolFixPlan, over: Partial<RunSettings> = {}): Promise<EngineOutcome | Refused | Error> {
  try {
    return await new RepairEngine(fake.client(), POOL_FIX, 'kube-system').start({steps: plan.actions, commitAt: plan.commitAt}, paramsOf(plan), settings(over))
  } catch (error) {
    return error as Error
  }
}

const poolsOf = (fake: FakeCluster) => [...fake.objects.entries()].filter(([k]) => k.startsWith(`${POOLS}/`)).map(([, v]) => v as IPPoolObject)
const journalOf = (fake: FakeCluster) => JSON.parse((fake.get(LEASE)?.metadata?.annotations ?? {})['dualstack.kubectl.io/journal'] ?? 'null') as Journal<PoolFixParams> | null

/** The family's pools are as they were (no pool more, none less, each spec as it was). */
function isOriginal(fake: FakeCluster, strategy: Strategy): boolean {
  const pools = poolsOf(fake)
  if (strategy === 'create') return pools.length === 0
  return pools.length === 1 && pools[0]!.metadata?.name === 'default-ipv6-ippool' && poolDifferences(pools[0]!.spec, OLD).length === 0
}

/** What was wanted is in place: an enabled pool as planned (a migration's old pool disabled or gone). */
function isDesired(fake: FakeCluster, plan: PoolFixPlan): boolean {
  const wanted = poolsOf(fake).find((p) => p.metadata?.name === plan.to.name)
  if (!wanted || poolDifferences(wanted.spec, plan.to.spec).length > 0) return false
  const others = poolsOf(fake).filter((p) => p !== wanted)
  return others.every((p) => p.spec?.disabled === true)
}

describe('the repair engine running ippool fix, every write failing', () => {
  it.each<Strategy>(['patch', 'recreate', 'migrate', 'create'])('%s: at each write, refused or with its answer lost, the pools end as they were or as wanted, and a journal says how to finish', async (strategy) => {
    const clean = scenario(strategy)
    const cleanRun = await start(clean.fake, clean.plan)
    expect(cleanRun).toMatchObject({result: 'done'})
    expect(isDesired(clean.fake, clean.plan)).toBe(true)
    expect(clean.fake.get(LEASE)).toBeUndefined()
    const writes = clean.fake.writes().length
    expect(writes).toBeGreaterThan(3)

    const endings = new Map<string, number>()
    const problems: string[] = []
    for (let k = 0; k < writes; k++) {
      for (const when of ['before', 'after'] as const) {
        const {fake, plan} = scenario(strategy)
        fake.faults = [{method: '*', path: /./, when, skip: k} satisfies Fault]
        const outcome = await start(fake, plan)
        const ending = outcome instanceof Error ? 'error' : isRefused(outcome) ? 'refused' : outcome.result
        endings.set(ending, (endings.get(ending) ?? 0) + 1)
        const where = `${strategy}, write ${k + 1} of ${writes} failing ${when}: ${ending} ${outcome instanceof Error ? outcome.message : JSON.stringify(outcome)}`
        const original = isOriginal(fake, strategy)
        const desired = isDesired(fake, plan)
        if (ending === 'rolled-back' && !original) problems.push(`${where}: rolled back, but the pools are not as they were`)
        if (ending === 'done' && !desired) problems.push(`${where}: done, but the pools are not as wanted`)
        // Nothing this run did not create is ever deleted.
        if (strategy !== 'recreate' && strategy !== 'create' && fake.writes().some((w) => w.method === 'DELETE' && w.path === `${POOLS}/default-ipv6-ippool`)) problems.push(`${where}: deleted the pool it was fixing`)
        if (original || desired) continue
        // Only a journal that says how to finish may leave the pools in between; finishing it must land.
        if (!isUnfinished(journalOf(fake))) {
          problems.push(`${where}: the pools are neither as they were nor as wanted, and no journal says how to finish`)
          continue
        }
        fake.faults = []
        const engine = new RepairEngine(fake.client(), POOL_FIX, 'kube-system')
        const loaded = await engine.load<PoolFixParams>('rollback')
        if (!isRefused(loaded)) await engine.continue(loaded as Journal, 'rollback', settings())
        if (!isOriginal(fake, strategy)) problems.push(`${where}: --rollback did not put the pools back`)
      }
    }
    expect(problems).toEqual([])
    expect(endings.get('rolled-back') ?? 0).toBeGreaterThan(0)
  })
})

describe('the repair engine, stopped (Ctrl-C, --timeout) before each step', () => {
  it.each<Strategy>(['patch', 'recreate', 'migrate', 'create'])('%s: before the commit point everything is undone; from it on what was wanted stays', async (strategy) => {
    const steps = scenario(strategy).plan.actions.length
    const seen: string[] = []
    const wanted: string[] = []
    for (let k = 0; k <= steps; k++) {
      const {fake, plan} = scenario(strategy)
      let started = 0
      const outcome = await start(fake, plan, {onProgress: (line) => void (line.startsWith('[') && started++), stopped: () => (started >= k ? 'interrupted (Ctrl-C)' : undefined)})
      const result = outcome instanceof Error || isRefused(outcome) ? String(outcome) : outcome.result
      const pools = isOriginal(fake, strategy) ? 'as they were' : isDesired(fake, plan) ? 'as wanted' : 'in between'
      seen.push(`before step ${k + 1}: ${result}, pools ${pools}, Lease ${fake.get(LEASE) ? 'left' : 'gone'}`)
      wanted.push(`before step ${k + 1}: ${k < plan.commitAt ? 'rolled-back' : k === steps ? 'done' : 'stopped'}, pools ${k < plan.commitAt ? 'as they were' : 'as wanted'}, Lease gone`)
    }
    expect(seen).toEqual(wanted)
  })
})

describe('a step undoes only what it did', () => {
  it('a pool of the migration\'s name made by someone else: the plan picks a free name; one made between plan and run is refused and never deleted', async () => {
    const taken = {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool-fd00-2---64'}, spec: {cidr: 'fd00:99::/64', disabled: true}}
    const planned = planPoolFix({family: 'ipv6', strategy: 'migrate', force: false, recreatePods: false, evictBare: false, install, env: env({CALICO_IPV6POOL_CIDR: 'fd00:2::/64'}),
      pools: [oldPool(), taken], target: oldPool(), impact: {cidr: OLD.cidr, pods: [], tunnels: [], leaked: []}, apiVersion: 'crd.projectcalico.org/v1'})
    expect(planned).toMatchObject({to: {name: 'default-ipv6-ippool-fd00-2---64-2'}})

    const {fake, plan} = scenario('migrate')
    fake.put(`${POOLS}/${plan.to.name}`, taken)
    const outcome = await start(fake, plan)
    expect(outcome).toMatchObject({result: 'rolled-back', reason: expect.stringContaining('already exists (fd00:99::/64) and this run did not create it')})
    expect(fake.get(`${POOLS}/${plan.to.name}`)?.spec).toEqual(taken.spec)
    expect(fake.writes().filter((w) => w.method === 'DELETE' && w.path.includes('/ippools/'))).toEqual([])
    expect(isOriginal({objects: new Map([...fake.objects].filter(([k]) => !k.endsWith(plan.to.name)))} as FakeCluster, 'migrate')).toBe(true)
  })

  it.each([false, true])('a rollback never deletes a pool that pods hold addresses of: it disables it and says what to move (--force %s deletes it)', async (force) => {
    const {fake, plan} = scenario('migrate')
    // A pod starts on the new pool as soon as it exists (the scheduler does not wait for the run).
    fake.onRequest = (method, p) => {
      if (method === 'GET' && p === `${POOLS}/${plan.to.name}` && fake.get(p) && !fake.get('/api/v1/namespaces/default/pods/new-1')) fake.put('/api/v1/namespaces/default/pods/new-1', holder('new-1', 'fd00:2::7'))
    }
    let started = 0
    const outcome = await start(fake, plan, {force, onProgress: (line) => void (line.startsWith('[') && started++), stopped: () => (started >= 3 ? 'interrupted (Ctrl-C)' : undefined)}) as EngineOutcome
    expect(outcome).toMatchObject({result: 'rolled-back'})
    const created = fake.get(`${POOLS}/${plan.to.name}`)
    expect(created ? `left ${JSON.stringify(created.spec)}` : 'deleted').toBe(force ? 'deleted' : `left ${JSON.stringify({...plan.to.spec, disabled: true})}`)
    expect(outcome.left.join('\n')).toMatch(force ? /^$/ : /IPPool default-ipv6-ippool-fd00-2---64 \(fd00:2::\/64\) is left disabled, not deleted: 1 pod\(s\) hold its addresses \(default\/new-1\); move them with kubectl dualstack pods recreate --in-pool default-ipv6-ippool-fd00-2---64 -A/)
    expect(poolDifferences(fake.get(`${POOLS}/default-ipv6-ippool`)?.spec, OLD)).toEqual([])
  })

  it('a recreated pool that pods already hold is not replaced by the original without --force: the rollback stops, says what to move, and --rollback --force finishes it', async () => {
    const {fake, plan} = scenario('recreate')
    fake.onRequest = (method, p) => {
      if (method === 'GET' && p === `${POOLS}/default-ipv6-ippool` && fake.get(p)?.spec?.cidr === 'fd00:2::/64' && !fake.get('/api/v1/namespaces/default/pods/new-1')) {
        fake.put('/api/v1/namespaces/default/pods/new-1', holder('new-1', 'fd00:2::7'))
      }
    }
    let started = 0
    const outcome = await start(fake, plan, {onProgress: (line) => void (line.startsWith('[') && started++), stopped: () => (started >= 3 ? 'interrupted (Ctrl-C)' : undefined)}) as EngineOutcome
    expect(outcome.result).toBe('failed')
    expect(outcome.message).toMatch(/1 pod\(s\) hold addresses of the new IPPool default-ipv6-ippool, so it cannot be replaced by the original; move them \(kubectl dualstack pods recreate --in-pool default-ipv6-ippool -A\) and run --rollback again, or pass --force/)
    expect(fake.get(`${POOLS}/default-ipv6-ippool`)?.spec?.cidr).toBe('fd00:2::/64')
    expect(journalOf(fake)).toMatchObject({state: 'rolling-back'})
    fake.onRequest = undefined
    const engine = new RepairEngine(fake.client(), POOL_FIX, 'kube-system')
    const loaded = await engine.load<PoolFixParams>('rollback')
    expect(await engine.continue(loaded as Journal, 'rollback', settings({force: true}))).toMatchObject({result: 'rolled-back'})
    expect(isOriginal(fake, 'recreate')).toBe(true)
  })

  it.each([
    ['a label added to the pool by someone else mid-run is kept and the change re-applied', 'label', 'done', {team: 'net'}, true, 'present'],
    ['a spec changed by someone else mid-run rolls back, leaving their change', 'spec', 'rolled-back', undefined, true, 'gone'],
  ])('%s', async (_what, change, result, labels, natOutgoing, newPool) => {
    const {fake, plan} = scenario('migrate')
    let touched = false
    fake.onRequest = (method, p) => {
      if (method !== 'PUT' || p !== `${POOLS}/default-ipv6-ippool` || touched) return
      touched = true
      const now = fake.get(p)!
      fake.put(p, change === 'label' ? {...now, metadata: {...now.metadata, labels: {team: 'net'}}} : {...now, spec: {...now.spec, natOutgoing: true}})
    }
    const outcome = await start(fake, plan) as EngineOutcome
    const old = fake.get(`${POOLS}/default-ipv6-ippool`)!
    expect(outcome.result).toBe(result)
    expect(old.metadata?.labels).toEqual(labels)
    expect(old.spec?.natOutgoing === true || change === 'label').toBe(natOutgoing)
    expect(fake.get(`${POOLS}/${plan.to.name}`) ? 'present' : 'gone').toBe(newPool)
  })

  it('a finished migration is not undone by a journal that reuses its run id (--rollback finds none of its marks): nothing is deleted or put back', async () => {
    const {fake, plan} = scenario('migrate')
    expect(await start(fake, plan)).toMatchObject({result: 'done'})
    const runId = (fake.get(`${POOLS}/${plan.to.name}`)?.metadata?.annotations?.[RUN_ANNOTATION] ?? '').replace(/\/done$/, '')
    const before = poolsOf(fake).map((p) => [p.metadata?.name, JSON.stringify(p.spec)])
    const forged = {format: 'kubectl-dualstack/journal', version: 2, command: 'ippool fix', runId, context: 'c', server: 's', startedAt: 't', resumable: true,
      params: paramsOf(plan), steps: plan.actions, commitAt: plan.commitAt, done: 2, state: 'failed', originals: {'ippools/default-ipv6-ippool': oldPool()}, backups: []}
    fake.put(LEASE, {metadata: {name: 'kubectl-dualstack', namespace: 'kube-system', annotations: {'dualstack.kubectl.io/journal': JSON.stringify(forged)}}, spec: {}})
    const engine = new RepairEngine(fake.client(), POOL_FIX, 'kube-system')
    const loaded = await engine.load<PoolFixParams>('rollback')
    const since = fake.writes().length
    await engine.continue(loaded as Journal, 'rollback', settings())
    expect(fake.writes().slice(since).filter((w) => w.path.includes('/ippools'))).toEqual([])
    expect(poolsOf(fake).map((p) => [p.metadata?.name, JSON.stringify(p.spec)])).toEqual(before)
  })

  it('a pool this run created carries the run\'s id; the backup writes every field, so that kubectl apply restores a disabled pool', async () => {
    const {fake, plan} = scenario('migrate')
    const outcome = await start(fake, plan) as EngineOutcome
    // Marked done once the run is over: a journal that reuses the run's id finds nothing of it to undo.
    expect(fake.get(`${POOLS}/${plan.to.name}`)?.metadata?.annotations?.[RUN_ANNOTATION]).toMatch(/^[a-z0-9]+-[0-9a-f]{8}\/done$/)
    expect(fake.get(`${POOLS}/default-ipv6-ippool`)?.metadata?.annotations?.['dualstack.kubectl.io/changed-by-run']).toBeUndefined()
    const backup = parse(readFileSync(outcome.backups[0]!, 'utf8')) as IPPoolObject
    expect(backup.spec).toEqual({...OLD, disabled: false})
  })
})

describe('the journal read back', () => {
  async function leftBehind(): Promise<{fake: FakeCluster; journal: Journal<PoolFixParams>}> {
    const {fake, plan} = scenario('recreate')
    fake.faults = [{method: 'POST', path: /ippools$/, when: 'before', times: 99}, {method: 'PUT', path: /leases/, when: 'before', skip: 2, times: 99}, {method: 'DELETE', path: /leases/, when: 'before', times: 99}]
    await start(fake, plan)
    fake.faults = []
    const journal = journalOf(fake)!
    expect(isUnfinished(journal)).toBe(true)
    return {fake, journal}
  }

  function forge(fake: FakeCluster, journal: unknown): void {
    const lease = fake.get(LEASE)!
    fake.put(LEASE, {...lease, spec: {...(lease.spec ?? {}), holderIdentity: undefined}, metadata: {...lease.metadata, annotations: {...lease.metadata?.annotations, 'dualstack.kubectl.io/journal': JSON.stringify(journal)}}})
  }

  it('a valid one is finished by --rollback, from its step kinds', async () => {
    const {fake, journal} = await leftBehind()
    forge(fake, journal)
    const engine = new RepairEngine(fake.client(), POOL_FIX, 'kube-system')
    const loaded = await engine.load<PoolFixParams>('rollback')
    expect(isRefused(loaded)).toBe(false)
    expect(await engine.continue(loaded as Journal, 'rollback', settings())).toMatchObject({result: 'rolled-back'})
    expect(isOriginal(fake, 'recreate')).toBe(true)
  })

  it.each<[string, (j: Journal<PoolFixParams>) => unknown, RegExp]>([
    ['an older version', (j) => ({...j, version: 1}), /not a version 2 journal/],
    ['a step kind it does not know (a raw request)', (j) => ({...j, steps: [...j.steps, {kind: 'http-request', method: 'DELETE', path: '/api/v1/namespaces/kube-system/secrets/x'}]}), /unknown kind "http-request"/],
    ['a pool API that is not Calico\'s', (j) => ({...j, steps: j.steps.map((s) => ({...s, api: 'v1/secrets'}))}), /the pool API "v1\/secrets" is not Calico's/],
    ['a pool name that is a path', (j) => ({...j, steps: j.steps.map((s) => ({...s, pool: '../../api/v1/secrets'}))}), /is not a pool name/],
    ['an original of an object no step touches', (j) => ({...j, originals: {...j.originals, 'secrets/kube-system/token': {kind: 'Secret'}}}), /holds an original of secrets\/kube-system\/token, which no step of the plan touches/],
    ['a pool spec with a field that is an object', (j) => ({...j, steps: j.steps.map((s) => (s.kind === 'create-pool' ? {...s, spec: {...(s as unknown as {spec: object}).spec, cidr: {$ne: 1}}} : s))}), /the pool spec's field "cidr" is not one an IPPool has/],
    ['an original under the pool\'s key that names another pool', (j) => ({...j, originals: {'ippools/default-ipv6-ippool': {metadata: {name: 'evil'}, spec: {cidr: '0.0.0.0/0'}}}}), /its original of ippools\/default-ipv6-ippool is named "evil"/],
    ['an original with labels that are not text', (j) => ({...j, originals: {'ippools/default-ipv6-ippool': {metadata: {name: 'default-ipv6-ippool', labels: {a: {b: 1}}}, spec: {cidr: 'fd00:1::/64'}}}}), /labels or annotations that are not text/],
    ['a backup that is not a plain path', (j) => ({...j, backups: ['/tmp/x; rm -rf /']}), /its backups are not a list of files/],
    ['another command\'s steps', (j) => ({...j, command: 'calico-restart'}), /no unfinished ippool fix to roll back/],
    // Well formed, every field valid, and still not what ippool fix plans: the steps are built again from the parameters.
    ['a step on a pool of another family (the IPv4 pool disabled)', (j) => ({...j, steps: [...j.steps.slice(0, 1),
      {kind: 'update-pool', api: 'crd.projectcalico.org/v1', pool: 'default-ipv4-ippool', spec: {cidr: '10.42.0.0/16', disabled: true}}, ...j.steps.slice(1)]}),
    /its steps are not the ones ippool fix plans for a recreate of default-ipv6-ippool/],
    ['its steps in another order (the create before the delete)', (j) => ({...j, steps: [j.steps[0], j.steps[2], j.steps[1], j.steps[3]]}), /its steps are not the ones ippool fix plans/],
    ['parameters of another family than its pools', (j) => ({...j, params: {...j.params, family: 'ipv4'}}), /its pools are not all of the family it names \(ipv4\)/],
    ['a commit point moved', (j) => ({...j, commitAt: 1}), /its steps are not the ones ippool fix plans/],
    ['pods to move in a plan that moves none', (j) => ({...j, steps: [...j.steps, {kind: 'recreate-pods', api: 'crd.projectcalico.org/v1', pool: 'default-ipv6-ippool', groups: [{namespace: 'kube-system', action: 'evict', pods: ['etcd-bare']}]}]}),
      /its steps are not the ones ippool fix plans/],
    ['an original that is not the pool its parameters say it was', (j) => ({...j, originals: {'ippools/default-ipv6-ippool': {metadata: {name: 'default-ipv6-ippool'}, spec: {cidr: 'fd00:1::/64', natOutgoing: true}}}}),
      /its original of IPPool default-ipv6-ippool is not the pool its parameters say it was/],
  ])('is refused when it has %s, and nothing is written', async (_what, change, message) => {
    const {fake, journal} = await leftBehind()
    forge(fake, change(journal))
    const before = fake.writes().length
    const engine = new RepairEngine(fake.client(), POOL_FIX, 'kube-system')
    const error = await engine.load('rollback').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DualstackError)
    expect((error as Error).message).toMatch(message)
    expect(fake.writes().length).toBe(before)
  })
})

describe('a migration resumed: the pods to move are grouped again from the cluster now', () => {
  it('a journal naming a bare kube-system pod to evict moves only who holds the old pool now, grouped as ippool fix groups them (bare pods listed)', async () => {
    const {fake, plan} = scenario('migrate')
    const moving = planPoolFix({family: 'ipv6', strategy: 'auto', force: false, recreatePods: true, evictBare: false, install,
      env: env({CALICO_IPV6POOL_CIDR: 'fd00:2::/64', CALICO_IPV6POOL_NAT_OUTGOING: 'true'}), pools: poolsOf(fake), target: poolsOf(fake)[0],
      impact: plan.impact, apiVersion: 'crd.projectcalico.org/v1'}) as PoolFixPlan
    const move = moving.actions.findIndex((a) => a.kind === 'recreate-pods')
    expect(move).toBe(moving.commitAt)
    // Left failed at the pods (after the commit point), then the step's pods rewritten by someone who may update Leases.
    fake.put('/api/v1/namespaces/kube-system/pods/etcd-bare', {metadata: {name: 'etcd-bare', namespace: 'kube-system'}, spec: {nodeName: 'n1'}, status: {phase: 'Running', podIPs: [{ip: '10.0.0.3'}, {ip: 'fd00:1::9'}]}})
    const journal = {format: 'kubectl-dualstack/journal', version: 2, command: 'ippool fix', runId: 'abc-12345678', context: 'c', server: 's', startedAt: 't', resumable: true,
      params: paramsOf(moving), steps: moving.actions.map((a, i) => (i === move ? {...a, groups: [{namespace: 'kube-system', action: 'evict', pods: ['etcd-bare']}]} : a)),
      commitAt: moving.commitAt, done: move, state: 'failed', originals: {}, backups: []}
    fake.put(LEASE, {metadata: {name: 'kubectl-dualstack', namespace: 'kube-system', annotations: {'dualstack.kubectl.io/journal': JSON.stringify(journal)}}, spec: {}})
    const loaded = await new RepairEngine(fake.client(), POOL_FIX, 'kube-system').load<PoolFixParams>('resume') as Journal
    const groups = (loaded.steps[move] as unknown as {groups: Array<{namespace: string; action: string; pods: string[]}>}).groups
    expect(groups.find((g) => g.namespace === 'kube-system')).toMatchObject({action: 'list', pods: ['etcd-bare']})
    expect(groups.find((g) => g.namespace === 'default')).toMatchObject({pods: ['web-1']})
  })
})

describe('an API server that does not answer for a while (a restart)', () => {
  it('a step waits it out and runs again (steps re-read first), then the run finishes; without patience it fails and its journal says how to finish', async () => {
    for (const [patienceMs, result] of [[5000, 'done'], [0, 'failed']] as const) {
      const {fake, plan} = scenario('migrate')
      fake.faults = [{method: 'PUT', path: /ippools\/default-ipv6-ippool$/, when: 'after', times: 1, status: 503}, {method: 'PUT', path: /ippools\/default-ipv6-ippool$/, when: 'before', times: 2, status: 503}]
      const lines: string[] = []
      const outcome = await start(fake, plan, {patienceMs, onProgress: (line) => lines.push(line)}) as EngineOutcome
      expect(`${patienceMs}: ${outcome.result}`).toBe(`${patienceMs}: ${result}`)
      expect(patienceMs > 0 ? isDesired(fake, plan) : isUnfinished(journalOf(fake))).toBe(true)
      expect(lines.some((l) => /^ {2}the fake failed PUT with 503; trying again for up to \d+s$/.test(l))).toBe(patienceMs > 0)
    }
  })

  it('Ctrl-C ends the wait', async () => {
    const {fake, plan} = scenario('migrate')
    fake.faults = [{method: 'PUT', path: /ippools\/default-ipv6-ippool$/, when: 'before', times: 1000, status: 503}]
    let interrupted: string | undefined
    setTimeout(() => (interrupted = 'interrupted (Ctrl-C)'), 300)
    const started = Date.now()
    const outcome = await start(fake, plan, {patienceMs: 60_000, stopped: () => interrupted}) as EngineOutcome
    expect(Date.now() - started).toBeLessThan(5000)
    expect(outcome.result).toBe('rolled-back')
    expect(isOriginal(fake, 'migrate')).toBe(true)
  })
})

describe('the engine\'s sequence', () => {
  it('a dry run needs only read access (what is missing is a note); a run is refused before any write, naming it', async () => {
    const {fake, plan} = scenario('migrate')
    fake.denied = new Set(['create ippools', 'update leases'])
    const engine = new RepairEngine(fake.client(), POOL_FIX, 'kube-system')
    const steps = {steps: plan.actions, commitAt: plan.commitAt}
    expect(await engine.access(steps, true, 'ippool fix')).toEqual(['user "tester" could not apply this plan: missing update leases.coordination.k8s.io in kube-system, create ippools.crd.projectcalico.org'])
    await expect(engine.access(steps, false, 'ippool fix')).rejects.toThrow(/ippool fix needs permissions that user "tester" does not have: update leases.coordination.k8s.io in kube-system, create ippools.crd.projectcalico.org/)
    expect(fake.writes()).toEqual([])
  })

  it('refuses while another command left work unfinished, naming how to finish it', async () => {
    const {fake} = scenario('migrate')
    fake.put(LEASE, {metadata: {name: 'kubectl-dualstack', annotations: {'dualstack.kubectl.io/journal': JSON.stringify({version: 1, command: 'ippool fix', state: 'running'})}}, spec: {}})
    const other = new RepairEngine(fake.client(), {command: 'calico-restart', kinds: {}, resumable: false, validateParams: () => undefined}, 'kube-system')
    expect(await other.check()).toEqual({refused: 'a previous ippool fix stopped half-way, and its journal is version 1, which this version of kubectl-dualstack (version 2) does not read',
      hint: 'finish it with the version of kubectl-dualstack that started it, or look at it (kubectl -n kube-system get lease kubectl-dualstack -o yaml), put things right by hand from its backups and delete the Lease'})
  })

  it('a journal of a command this version does not have (a later one\'s) is named as such, with what to do, not another command\'s --resume', async () => {
    const {fake} = scenario('migrate')
    fake.put(LEASE, {metadata: {name: 'kubectl-dualstack', annotations: {'dualstack.kubectl.io/journal': JSON.stringify({format: 'kubectl-dualstack/journal', version: 2, command: 'ingress dual', state: 'running', done: 1, commitAt: 3, steps: []})}}, spec: {}})
    const refused = await new RepairEngine(fake.client(), POOL_FIX, 'kube-system').check()
    expect(refused?.hint).toBe('finish it with the version of kubectl-dualstack that started it, or look at it (kubectl -n kube-system get lease kubectl-dualstack -o yaml), put things right by hand from its backups and delete the Lease')
  })

  it('a calico-restart or pods recreate left stopped (here by an older version, after Ctrl-C) blocks nothing: running it again does what is left', async () => {
    const {fake} = scenario('migrate')
    for (const left of [{version: 1, command: 'calico-restart', state: 'running', done: 1, of: 4}, {version: 2, command: 'pods recreate', state: 'running', done: 1, commitAt: 0, steps: []},
      {version: 2, command: 'calico-restart', state: 'running', done: 0, commitAt: 1, steps: []}]) {
      fake.put(LEASE, {metadata: {name: 'kubectl-dualstack', annotations: {'dualstack.kubectl.io/journal': JSON.stringify(left)}}, spec: {}})
      expect(isUnfinished(left)).toBe(false)
      expect(await new RepairEngine(fake.client(), POOL_FIX, 'kube-system').check()).toBeUndefined()
    }
  })

  it('a writing step kind without an undo does not compile, and an irreversible one before the commit point is refused', () => {
    // @ts-expect-error a writing kind must say how it is undone (or why it cannot be)
    const noUndo: WritingKind<{kind: 'x'}> = {kind: 'x', writes: true, describe: () => 'x', needs: () => [], touches: () => [], validate: () => undefined, apply: async () => undefined}
    expect(noUndo.kind).toBe('x')
    const {plan} = scenario('migrate')
    const recreate = {kind: 'recreate-pods', api: 'crd.projectcalico.org/v1', pool: 'default-ipv6-ippool', groups: []}
    expect(planProblems(POOL_KINDS, {steps: [recreate, ...plan.actions], commitAt: 1})).toEqual(['step 1 (recreate-pods) cannot be undone (recreated pods keep their new addresses) but comes before the commit point'])
  })
})
