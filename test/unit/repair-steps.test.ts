// The step kinds that move pods, in process against the fake cluster and its controllers: calico-restart's
// restart-pods, pods recreate's recreate-owner, and ippool fix's recreate-pods step and the plan that
// finishes a migration (delete the empty, disabled old pool). For each: every write failing (refused, with
// its answer lost, or refused for good), every interruption point, and the Lease released whatever happens.
// In milliseconds; the binary tests keep the paths end to end.
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {calicoInstall} from '../../src/calico/install.js'
import {poolDifferences, poolFromEnv, type DesiredPool} from '../../src/calico/pools.js'
import type {ClusterClient} from '../../src/cluster/kube.js'
import type {IPPoolObject} from '../../src/cluster/types.js'
import {runCalicoRestart, type CalicoRestartOptions, type CalicoRestartReport} from '../../src/ops/calico-restart.js'
import type {EngineOutcome} from '../../src/ops/engine/executor.js'
import {type Journal} from '../../src/ops/engine/journal.js'
import {isRefused, RepairEngine, type Refused, type RunSettings} from '../../src/ops/engine/run.js'
import {readImpact} from '../../src/ops/ippool/gather.js'
import {isRefusal, pickPool, planPoolFix, type PoolFixPlan} from '../../src/ops/ippool/plan.js'
import {POOL_FIX, type PoolFixParams} from '../../src/ops/ippool/run.js'
import {readLease} from '../../src/ops/lock.js'
import {runPodsRecreate, type PodsRecreateOptions, type PodsRecreateReport} from '../../src/ops/pods-recreate.js'
import {RESTART_ANNOTATION} from '../../src/ops/recreate.js'
import {FakeCluster, type Obj} from './fake-cluster.js'
import {faultsFor, LEASE, leaseLeft} from './repair-matrix.js'

const podPath = (namespace: string, name: string) => `/api/v1/namespaces/${namespace}/pods/${name}`
const READY = {phase: 'Running', conditions: [{type: 'Ready', status: 'True'}]}
const INTERRUPTED = 'interrupted (Ctrl-C)'

interface PodSeed {
  labels?: Record<string, string>
  owner?: {kind: string; name: string; uid?: string}
  node?: string
  ips?: string[]
  hostNetwork?: boolean
  finalizers?: string[]
}

function pod(namespace: string, name: string, seed: PodSeed): Obj {
  return {apiVersion: 'v1', kind: 'Pod',
    metadata: {name, namespace, labels: seed.labels, ...(seed.owner ? {ownerReferences: [{apiVersion: 'apps/v1', ...seed.owner, controller: true}]} : {}), ...(seed.finalizers ? {finalizers: seed.finalizers} : {})},
    spec: {nodeName: seed.node ?? 'n1', ...(seed.hostNetwork ? {hostNetwork: true} : {}), containers: [{name: name.replace(/-[^-]+$/, '')}]},
    status: {...READY, ...(seed.ips ? {podIP: seed.ips[0], podIPs: seed.ips.map((ip) => ({ip}))} : {})}}
}

const pods = (fake: FakeCluster, namespace: string) => [...fake.objects.entries()].filter(([k]) => k.startsWith(`/api/v1/namespaces/${namespace}/pods/`)).map(([, v]) => v)
const isReady = (p: Obj) => (p.status?.conditions as Array<{type: string; status: string}> | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') === true && !p.metadata?.deletionTimestamp
const ownerOf = (p: Obj) => p.metadata?.ownerReferences?.[0]?.name

const journalOf = (fake: FakeCluster, namespace: string) => readLease((fake.get(LEASE(namespace)) ?? {}) as never).journal as Journal | undefined

/** Stops the run once its journal has recorded k steps done: "before step k + 1", exactly. */
const stopBefore = (fake: FakeCluster, namespace: string, k: number) => () => ((journalOf(fake, namespace)?.done ?? 0) >= k ? INTERRUPTED : undefined)


// ---------------------------------------------------------------------------------------------------------
// calico-restart: restart-pods

const NODES = ['n1', 'n2', 'n3']

function calicoCluster(): FakeCluster {
  const fake = new FakeCluster()
  const ds = fake.put('/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node', {apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {name: 'calico-node', namespace: 'kube-system'},
    spec: {selector: {matchLabels: {'k8s-app': 'calico-node'}}, template: {metadata: {labels: {'k8s-app': 'calico-node'}}, spec: {hostNetwork: true, containers: [{name: 'calico-node'}]}}}})
  for (const node of NODES) {
    fake.put(`/api/v1/nodes/${node}`, {apiVersion: 'v1', kind: 'Node', metadata: {name: node}})
    fake.put(podPath('kube-system', `calico-node-${node}`), pod('kube-system', `calico-node-${node}`, {labels: {'k8s-app': 'calico-node'}, owner: {kind: 'DaemonSet', name: 'calico-node', uid: ds.metadata?.uid}, node, hostNetwork: true}))
  }
  const kcc = fake.put('/apis/apps/v1/namespaces/kube-system/replicasets/calico-kube-controllers-7f9', {apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: {name: 'calico-kube-controllers-7f9', namespace: 'kube-system'}, spec: {replicas: 1}})
  fake.put(podPath('kube-system', 'calico-kube-controllers-7f9-a'), pod('kube-system', 'calico-kube-controllers-7f9-a', {labels: {'k8s-app': 'calico-kube-controllers'}, owner: {kind: 'ReplicaSet', name: 'calico-kube-controllers-7f9', uid: kcc.metadata?.uid}, ips: ['10.0.0.5']}))
  // Not Calico's: left alone (the label selectors must keep them out of the plan).
  const dns = fake.put('/apis/apps/v1/namespaces/kube-system/replicasets/coredns-66b', {apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: {name: 'coredns-66b', namespace: 'kube-system'}, spec: {replicas: 1}})
  fake.put(podPath('kube-system', 'coredns-66b-a'), pod('kube-system', 'coredns-66b-a', {labels: {'k8s-app': 'kube-dns'}, owner: {kind: 'ReplicaSet', name: 'coredns-66b', uid: dns.metadata?.uid}, ips: ['10.0.0.6']}))
  return fake
}

const calicoNodeOn = (fake: FakeCluster, node: string) => pods(fake, 'kube-system').filter((p) => ownerOf(p) === 'calico-node' && p.spec?.nodeName === node)

/** Nodes without a Ready calico-node pod now. */
const nodesDown = (fake: FakeCluster) => NODES.filter((n) => !calicoNodeOn(fake, n).some(isReady))

/** Records each deletion of a calico-node pod made while another node's calico-node was not Ready (max-unavailable 1). */
function watchDisruption(fake: FakeCluster): string[] {
  const problems: string[] = []
  fake.onRequest = (method, p) => {
    const m = /\/pods\/(calico-node-[^/]+)$/.exec(p)
    if (method !== 'DELETE' || !m || !fake.get(p)) return
    const others = nodesDown(fake).filter((n) => n !== fake.get(p)?.spec?.nodeName)
    if (others.length > 0) problems.push(`${m[1]} deleted while calico-node on ${others.join(', ')} was not Ready`)
  }
  return problems
}

async function restart(fake: FakeCluster, over: Partial<CalicoRestartOptions> = {}): Promise<CalicoRestartReport | Error> {
  try {
    return await runCalicoRestart(fake as unknown as ClusterClient, {maxUnavailable: 1, allAtOnce: false, dryRun: false, timeoutMs: 2000, stopped: () => undefined,
      showPlan: () => undefined, confirm: async () => undefined, ...over})
  } catch (error) {
    return error as Error
  }
}

describe('calico-restart (restart-pods)', () => {
  it('restarts node by node, each replacement Ready before the next, then calico-kube-controllers; only Calico\'s pods; the Lease is released', async () => {
    const fake = calicoCluster()
    const disruption = watchDisruption(fake)
    const report = await restart(fake) as CalicoRestartReport
    expect(report.message).toBe('3 calico-node pod(s) restarted node by node, then calico-kube-controllers')
    expect(report.nodes.map((n) => `${n.node} ${n.pod} ${n.status} ${n.newPod === calicoNodeOn(fake, n.node)[0]?.metadata?.name}`)).toEqual(NODES.map((n) => `${n} calico-node-${n} restarted true`))
    expect(report.controllers.map((c) => `${c.pod} ${c.status}`)).toEqual(['calico-kube-controllers-7f9-a restarted'])
    expect(nodesDown(fake)).toEqual([])
    expect(fake.get(podPath('kube-system', 'coredns-66b-a'))).toBeDefined()
    expect(disruption).toEqual([])
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it('at each write, refused, with its answer lost or refused for good: every node is restarted or keeps its running calico-node, the report says which, and the Lease is released', async () => {
    const clean = calicoCluster()
    expect(await restart(clean)).toMatchObject({result: 'restarted'})
    const writes = clean.writes()
    expect(writes.filter((w) => w.method === 'DELETE' && w.path.includes('/pods/')).length).toBe(4)
    const problems: string[] = []
    const endings = new Map<string, number>()
    for (let k = 0; k < writes.length; k++) {
      for (const [what, faults] of faultsFor(writes, k)) {
        const fake = calicoCluster()
        const disruption = watchDisruption(fake)
        fake.faults = faults
        const report = await restart(fake)
        const ending = report instanceof Error ? 'error' : report.result
        endings.set(ending, (endings.get(ending) ?? 0) + 1)
        const where = `write ${k + 1} of ${writes.length} (${what}): ${ending} ${report instanceof Error ? report.message : report.message}`
        problems.push(...disruption.map((d) => `${where}: ${d}`))
        const lease = leaseLeft(fake, 'kube-system')
        if (lease !== 'released') problems.push(`${where}: the Lease is ${lease}`)
        if (report instanceof Error) {
          // The run never started: nothing was deleted.
          if (NODES.some((n) => !fake.get(podPath('kube-system', `calico-node-${n}`)))) problems.push(`${where}: failed with an error, but pods were deleted`)
          continue
        }
        for (const n of report.nodes) {
          const original = fake.get(podPath('kube-system', n.pod))
          const ready = calicoNodeOn(fake, n.node).some(isReady)
          if (n.status === 'restarted' && (original || !ready)) problems.push(`${where}: ${n.node} said restarted, but ${original ? 'its old pod is there' : 'no calico-node is Ready'}`)
          if (n.status === 'skipped' && !original) problems.push(`${where}: ${n.node} said not restarted, but its pod was deleted`)
          if (n.status === 'failed' && !n.reason) problems.push(`${where}: ${n.node} failed without a reason`)
          if (n.status === 'pending') problems.push(`${where}: ${n.node} is still "pending" in the report of a run that ended`)
          if (n.status === 'failed' && !report.message.includes(` ${n.node} `)) problems.push(`${where}: ${n.node} failed, but the message does not name it`)
        }
        if (report.result === 'failed') {
          const skipped = report.nodes.filter((n) => n.status === 'skipped').length
          if (!report.message.endsWith(`stopped there (${skipped} node(s) not restarted)`)) problems.push(`${where}: the message does not say how many nodes were not restarted`)
        }
        if (report.result === 'restarted' && nodesDown(fake).length > 0) problems.push(`${where}: restarted, but ${nodesDown(fake).join(', ')} not Ready`)
      }
    }
    expect(problems).toEqual([])
    expect(endings.get('failed') ?? 0).toBeGreaterThan(0)
  })

  it('stopped (Ctrl-C) before each step: the nodes done so far are restarted, the rest keep their running calico-node, and the Lease is released', async () => {
    const seen: string[] = []
    const wanted: string[] = []
    for (let k = 0; k <= NODES.length + 1; k++) {
      const fake = calicoCluster()
      const report = await restart(fake, {stopped: stopBefore(fake, 'kube-system', k)}) as CalicoRestartReport
      const restarted = report.nodes.filter((n) => n.status === 'restarted').length
      const untouched = NODES.filter((n) => fake.get(podPath('kube-system', `calico-node-${n}`))).length
      seen.push(`before step ${k + 1}: ${report.result}, ${restarted} restarted, ${untouched} untouched, controllers ${report.controllers[0]!.status}, ${report.message}, Lease ${leaseLeft(fake, 'kube-system')}`)
      const done = Math.min(k, NODES.length)
      wanted.push(`before step ${k + 1}: ${k > NODES.length ? 'restarted' : 'failed'}, ${done} restarted, ${NODES.length - done} untouched, controllers ${k > NODES.length ? 'restarted' : 'skipped'}, ` +
        `${k > NODES.length ? '3 calico-node pod(s) restarted node by node, then calico-kube-controllers' : `${INTERRUPTED} after ${done} of 3 nodes; the rest keep their running calico-node`}, Lease released`)
    }
    expect(seen).toEqual(wanted)
  })

  it.each([
    ['Ctrl-C while waiting for a replacement that is never Ready', {stopAfterMs: 50}, /^interrupted \(Ctrl-C\) while waiting for calico-node on n1; stopped there \(2 node\(s\) not restarted\)$/],
    ['a replacement never Ready within --timeout', {timeoutMs: 100}, /^calico-node on n1 did not become Ready within 0.1s: phase Running; container calico-node: CrashLoopBackOff \(back-off 10s restarting failed container=calico-node\); stopped there \(2 node\(s\) not restarted\)$/],
  ])('%s: stops at that node, the other nodes keep theirs, and the Lease is released', async (_what, how, message) => {
    const fake = calicoCluster()
    fake.replacementsReady = false
    const started = Date.now()
    const stopped = 'stopAfterMs' in how ? () => (Date.now() - started > how.stopAfterMs ? INTERRUPTED : undefined) : undefined
    const report = await restart(fake, {...(stopped ? {stopped} : {}), ...('timeoutMs' in how ? {timeoutMs: how.timeoutMs} : {})}) as CalicoRestartReport
    expect(Date.now() - started).toBeLessThan(1500)
    expect(report.result).toBe('failed')
    expect(report.message).toMatch(message)
    expect(report.nodes.map((n) => n.status)).toEqual(['failed', 'skipped', 'skipped'])
    expect(fake.get(podPath('kube-system', 'calico-node-n2')) && fake.get(podPath('kube-system', 'calico-node-n3'))).toBeDefined()
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it('a calico-node pod whose deletion the API server refuses: that node is named as failed, with the answer; the rest keep theirs; the Lease is released', async () => {
    const fake = calicoCluster()
    fake.faults = [{method: 'DELETE', path: /pods\/calico-node-n2$/, when: 'before', status: 403, times: 99}]
    const report = await restart(fake) as CalicoRestartReport
    expect(report.nodes.map((n) => `${n.node} ${n.status}${n.reason ? `: ${n.reason}` : ''}`)).toEqual(['n1 restarted', 'n2 failed: the fake failed DELETE with 403', 'n3 skipped'])
    expect(report.message).toBe('restart calico-node on n2 (delete, wait until the replacement is Ready) failed: the fake failed DELETE with 403; stopped there (1 node(s) not restarted)')
    expect(fake.get(podPath('kube-system', 'calico-node-n3'))).toBeDefined()
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it('a calico-node pod a finalizer holds Terminating: no replacement comes, and the report names the finalizer and how to release it', async () => {
    const fake = calicoCluster()
    const held = fake.get(podPath('kube-system', 'calico-node-n1'))!
    fake.put(podPath('kube-system', 'calico-node-n1'), {...held, metadata: {...held.metadata, finalizers: ['example.com/hold']}})
    const report = await restart(fake, {timeoutMs: 100}) as CalicoRestartReport
    expect(report.nodes[0]!.reason).toMatch(/^no new pod was created on n1: pod kube-system\/calico-node-n1, deleted at .*, is still Terminating \(its finalizers example.com\/hold hold it\)/)
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })
})

// ---------------------------------------------------------------------------------------------------------
// pods recreate: recreate-owner

/** A Deployment rolled out and available, its ReplicaSet and its pods. */
function deployment(fake: FakeCluster, namespace: string, name: string, ips: string[], node = 'n1'): void {
  const labels = {app: name}
  const d = fake.put(`/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name, namespace, generation: 1},
    spec: {replicas: ips.length, selector: {matchLabels: labels}, template: {metadata: {labels}, spec: {containers: [{name}]}}},
    status: {observedGeneration: 1, replicas: ips.length, updatedReplicas: ips.length, readyReplicas: ips.length, availableReplicas: ips.length}})
  const rs = fake.put(`/apis/apps/v1/namespaces/${namespace}/replicasets/${name}-5d4`, {apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: {name: `${name}-5d4`, namespace, ownerReferences: [{apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata?.uid, controller: true}]}, spec: {replicas: ips.length}})
  ips.forEach((ip, i) => fake.put(podPath(namespace, `${name}-5d4-${'abcdef'[i]}`), pod(namespace, `${name}-5d4-${'abcdef'[i]}`, {labels, owner: {kind: 'ReplicaSet', name: `${name}-5d4`, uid: rs.metadata?.uid}, node, ips: [ip]})))
}

/** A ReplicaSet no Deployment owns (its pods are evicted one by one), and its pods. */
function bareReplicaSet(fake: FakeCluster, namespace: string, name: string, ips: string[]): void {
  const rs = fake.put(`/apis/apps/v1/namespaces/${namespace}/replicasets/${name}`, {apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: {name, namespace}, spec: {replicas: ips.length}})
  ips.forEach((ip, i) => fake.put(podPath(namespace, `${name}-${'abcdef'[i]}`), pod(namespace, `${name}-${'abcdef'[i]}`, {labels: {app: name}, owner: {kind: 'ReplicaSet', name, uid: rs.metadata?.uid}, ips: [ip]})))
}

/** Pods of the disabled pool old-pool in namespace shop: a Deployment's (rolled) and a bare ReplicaSet's (evicted one by one). */
function shopCluster(): FakeCluster {
  const fake = new FakeCluster()
  fake.put('/apis/crd.projectcalico.org/v1/ippools/old-pool', {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'old-pool'}, spec: {cidr: 'fd00:1::/64', disabled: true}})
  fake.put('/apis/crd.projectcalico.org/v1/ippools/new-pool', {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'new-pool'}, spec: {cidr: 'fd00:2::/64'}})
  deployment(fake, 'shop', 'web', ['fd00:1::a', 'fd00:1::b'])
  bareReplicaSet(fake, 'shop', 'legacy', ['fd00:1::c', 'fd00:1::d'])
  fake.put(podPath('shop', 'elsewhere'), pod('shop', 'elsewhere', {ips: ['fd00:2::9']}))
  return fake
}

const SHOP_ORIGINALS = ['web-5d4-a', 'web-5d4-b', 'legacy-a', 'legacy-b']
const inOldPool = (fake: FakeCluster, namespace = 'shop') => pods(fake, namespace).filter((p) => (p.status?.podIPs as Array<{ip: string}> | undefined)?.some((a) => a.ip.startsWith('fd00:1:'))).map((p) => p.metadata?.name)
/** The web rollout under way: a pod of its new ReplicaSet exists (the controller saw the restart). */
const rolling = (fake: FakeCluster) => pods(fake, 'shop').some((p) => ownerOf(p)?.startsWith('web-') && !SHOP_ORIGINALS.includes(p.metadata?.name ?? ''))
const webRestarted = (fake: FakeCluster) => Boolean(((fake.get('/apis/apps/v1/namespaces/shop/deployments/web')?.spec?.template as {metadata?: {annotations?: Record<string, string>}}).metadata?.annotations ?? {})[RESTART_ANNOTATION])

/** Records each eviction made while another pod of the same owner was missing or not Ready. */
function watchEvictions(fake: FakeCluster, namespace = 'shop'): string[] {
  const problems: string[] = []
  fake.onRequest = (method, p) => {
    const m = /\/pods\/([^/]+)\/eviction$/.exec(p)
    const target = m && fake.get(p.slice(0, -'/eviction'.length))
    if (method !== 'POST' || !target) return
    const owner = ownerOf(target)!
    const replicas = fake.get(`/apis/apps/v1/namespaces/${namespace}/replicasets/${owner}`)?.spec?.replicas as number
    const others = pods(fake, namespace).filter((x) => ownerOf(x) === owner && x !== target && !x.metadata?.deletionTimestamp)
    const serving = others.filter(isReady).length
    if (serving < replicas - 1) problems.push(`${m[1]} evicted while ${replicas - 1 - serving} other pod(s) of ${owner} were missing or not Ready`)
  }
  return problems
}

async function recreate(fake: FakeCluster, over: Partial<PodsRecreateOptions> = {}): Promise<PodsRecreateReport | Error> {
  try {
    return await runPodsRecreate(fake as unknown as ClusterClient, {namespace: 'shop', inPool: 'old-pool', singleStack: false, evictBare: false, evictKubeSystemBare: false, dryRun: false,
      timeoutMs: 10_000, readyTimeoutMs: 2000, stopped: () => undefined, showPlan: () => undefined, confirm: async () => undefined, ...over})
  } catch (error) {
    return error as Error
  }
}

describe('pods recreate (recreate-owner)', () => {
  it('rolls the Deployment and evicts the ReplicaSet\'s pods one by one, each replacement Ready before the next; the pods leave the pool; the Lease is released', async () => {
    const fake = shopCluster()
    const evictions = watchEvictions(fake)
    const report = await recreate(fake) as PodsRecreateReport
    expect(report).toMatchObject({result: 'recreated', message: '2 owner(s) recreated'})
    expect(report.groups.map((g) => `${g.owner?.kind} ${g.owner?.name}: ${g.status}`)).toEqual(['Deployment web: restarted', 'ReplicaSet legacy: evicted'])
    expect(inOldPool(fake)).toEqual([])
    expect(fake.get(podPath('shop', 'elsewhere'))).toBeDefined()
    expect(fake.writes().filter((w) => w.path.endsWith('/eviction')).map((w) => w.path.split('/')[6])).toEqual(['legacy-a', 'legacy-b'])
    expect(evictions).toEqual([])
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it('at each write, refused, with its answer lost or refused for good: each owner is recreated, or untouched, or named as failed; never two pods of an owner down; the Lease is released', async () => {
    const clean = shopCluster()
    expect(await recreate(clean)).toMatchObject({result: 'recreated'})
    const writes = clean.writes()
    const problems: string[] = []
    const endings = new Map<string, number>()
    for (let k = 0; k < writes.length; k++) {
      for (const [what, faults] of faultsFor(writes, k)) {
        const fake = shopCluster()
        const evictions = watchEvictions(fake)
        fake.faults = faults
        const report = await recreate(fake)
        const ending = report instanceof Error ? 'error' : report.result
        endings.set(ending, (endings.get(ending) ?? 0) + 1)
        const where = `write ${k + 1} of ${writes.length} (${what}): ${ending} ${report instanceof Error ? report.message : `${report.message} ${JSON.stringify(report.groups.map((g) => [g.status, g.message]))}`}`
        problems.push(...evictions.map((e) => `${where}: ${e}`))
        const lease = leaseLeft(fake, 'kube-system')
        if (lease !== 'released') problems.push(`${where}: the Lease is ${lease}`)
        if (report instanceof Error) {
          if (webRestarted(fake) || SHOP_ORIGINALS.some((n) => !fake.get(podPath('shop', n)))) problems.push(`${where}: failed with an error, but pods were recreated`)
          continue
        }
        if (report.result === 'recreated' && inOldPool(fake).length > 0) problems.push(`${where}: recreated, but ${inOldPool(fake).join(', ')} still in the pool`)
        if (report.result === 'incomplete' && !report.message.startsWith('stopped: ')) problems.push(`${where}: incomplete without saying where it stopped`)
        for (const g of report.groups) {
          const moved = g.owner?.name === 'web' ? webRestarted(fake) : !fake.get(podPath('shop', 'legacy-a'))
          if ((g.status === 'restarted' || g.status === 'evicted') && inOldPool(fake).some((n) => n?.startsWith(g.owner!.name))) problems.push(`${where}: ${g.owner?.name} said ${g.status}, but its pods are still in the pool`)
          if ((g.status === 'skipped' || g.status === 'pending') && moved) problems.push(`${where}: ${g.owner?.name} said ${g.status}, but it was acted on`)
        }
      }
    }
    expect(problems).toEqual([])
    expect(endings.get('incomplete') ?? 0).toBeGreaterThan(0)
  })

  it('stopped (Ctrl-C) before each owner: the owners done so far are recreated, the rest untouched and named; the Lease is released', async () => {
    const seen: string[] = []
    for (let k = 0; k <= 2; k++) {
      const fake = shopCluster()
      const report = await recreate(fake, {stopped: stopBefore(fake, 'kube-system', k)}) as PodsRecreateReport
      seen.push(`before owner ${k + 1}: ${report.result}, ${report.groups.map((g) => g.status).join(' ')}, restarted ${webRestarted(fake)}, in the pool ${inOldPool(fake).length}, ${report.notes.filter((n) => n.startsWith(INTERRUPTED)).join('')}, Lease ${leaseLeft(fake, 'kube-system')}`)
    }
    expect(seen).toEqual([
      `before owner 1: incomplete, skipped skipped, restarted false, in the pool 4, ${INTERRUPTED}: 2 owner(s) not recreated, Lease released`,
      `before owner 2: incomplete, restarted skipped, restarted true, in the pool 2, ${INTERRUPTED}: 1 owner(s) not recreated, Lease released`,
      'before owner 3: recreated, restarted evicted, restarted true, in the pool 0, , Lease released',
    ])
  })

  it.each([
    ['Ctrl-C while a rollout never becomes available', {stopWhenRestarted: true}, /^stopped: Deployment shop\/web interrupted \(Ctrl-C\) while 2 old replica\(s\) pending termination$/],
    ['a rollout not available within --ready-timeout', {readyTimeoutMs: 100}, /^stopped: Deployment shop\/web not available after 0s: 2 old replica\(s\) pending termination$/],
  ])('%s: stops there, the next owner is untouched, and the Lease is released', async (_what, how, message) => {
    const fake = shopCluster()
    fake.replacementsReady = false
    const started = Date.now()
    // Ctrl-C once the rollout has started (an event, not a time: a loaded machine may take long to get there).
    const report = await recreate(fake, {...('stopWhenRestarted' in how ? {stopped: () => (rolling(fake) ? INTERRUPTED : undefined)} : {readyTimeoutMs: how.readyTimeoutMs})}) as PodsRecreateReport
    expect(Date.now() - started).toBeLessThan(1500)
    expect(report.result).toBe('incomplete')
    expect(report.message).toMatch(message)
    expect(report.groups.map((g) => g.status)).toEqual(['failed', 'skipped'])
    expect(fake.get(podPath('shop', 'legacy-a')) && fake.get(podPath('shop', 'legacy-b'))).toBeDefined()
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  const withBudget = (minAvailable: number) => {
    const fake = shopCluster()
    fake.put('/apis/policy/v1/namespaces/shop/poddisruptionbudgets/legacy', {apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: {name: 'legacy'}, spec: {selector: {matchLabels: {app: 'legacy'}}, minAvailable}})
    return fake
  }

  it('a PodDisruptionBudget that allows no disruption: every eviction is refused (429), reported with the budget\'s words and never forced; the run is incomplete; the Lease is released', async () => {
    const fake = withBudget(2)
    const report = await recreate(fake) as PodsRecreateReport
    const legacy = report.groups.find((g) => g.owner?.name === 'legacy')!
    const refusal = 'Cannot evict pod as it would violate the pod\'s disruption budget. (context "fake", server https://127.0.0.1:6443) (gave up after 5 attempts in 3.8s)'
    expect(report.result).toBe('incomplete')
    expect(legacy).toMatchObject({status: 'blocked', message: `eviction blocked by a PodDisruptionBudget: legacy-a (${refusal}), legacy-b (${refusal})`})
    expect(report.notes).toContain(`ReplicaSet shop/legacy: ${legacy.message}`)
    expect(fake.get(podPath('shop', 'legacy-a')) && fake.get(podPath('shop', 'legacy-b'))).toBeDefined()
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it('a PodDisruptionBudget that allows one pod at a time: each eviction waits for the last one\'s replacement to be Ready, and all pass', async () => {
    const fake = withBudget(1)
    const evictions = watchEvictions(fake)
    const report = await recreate(fake) as PodsRecreateReport
    expect(report.groups.map((g) => g.status)).toEqual(['restarted', 'evicted'])
    expect(report.result).toBe('recreated')
    expect(inOldPool(fake)).toEqual([])
    expect(evictions).toEqual([])
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it('an owner whose eviction the API server refuses half-way is named as failed, with the answer, not as skipped; the Lease is released', async () => {
    const fake = shopCluster()
    fake.faults = [{method: 'POST', path: /pods\/legacy-b\/eviction$/, when: 'before', status: 403, times: 99}]
    const report = await recreate(fake) as PodsRecreateReport
    expect(report.groups.map((g) => `${g.owner?.name} ${g.status}: ${g.message}`)).toEqual(['web restarted: rolled out and available', 'legacy failed: the fake failed POST with 403'])
    expect(report).toMatchObject({result: 'incomplete', message: 'stopped: the fake failed POST with 403'})
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it('an eviction whose answer was lost (the connection dropped) is read back: the pod is going, so its replacement is waited for before the next pod is evicted', async () => {
    const fake = shopCluster()
    const evictions = watchEvictions(fake)
    const watching = fake.onRequest!
    fake.faults = [{method: 'POST', path: /pods\/legacy-a\/eviction$/, when: 'after', error: 'reset'}]
    // From the eviction on, replacements take long to be Ready (longer than the engine waits before it runs a step again).
    fake.onRequest = (method, p, body) => {
      watching(method, p, body)
      if (p.endsWith('/legacy-a/eviction')) fake.replacementsReady = false
    }
    const report = await recreate(fake, {readyTimeoutMs: 100}) as PodsRecreateReport
    expect(evictions).toEqual([])
    expect(fake.writes().filter((w) => w.path.endsWith('/eviction')).map((w) => w.path.split('/')[6])).toEqual(['legacy-a'])
    expect(report.groups[1]).toMatchObject({status: 'failed', message: expect.stringMatching(/^legacy-a evicted; not replaced by a Ready pod after 0s: its replacement legacy-\w+ is Running: CrashLoopBackOff: back-off 10s restarting failed container=legacy; not evicted: legacy-b$/)})
    expect(fake.get(podPath('shop', 'legacy-b'))).toBeDefined()
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it.each([true, false])('a run after one killed just after an eviction: the owner\'s replacement is waited for before the next pod goes (it becomes Ready: %s)', async (becomesReady) => {
    const fake = shopCluster()
    // What the killed run left: legacy-a evicted, its replacement not Ready yet.
    fake.replacementsReady = false
    await fake.client().request('POST', `${podPath('shop', 'legacy-a')}/eviction`, {body: {apiVersion: 'policy/v1', kind: 'Eviction', metadata: {name: 'legacy-a', namespace: 'shop'}}})
    const evictions = watchEvictions(fake)
    const since = fake.writes().length
    if (becomesReady) setTimeout(() => fake.recover(), 150)
    const report = await recreate(fake, {readyTimeoutMs: 1000, labelSelector: 'app=legacy'}) as PodsRecreateReport
    const legacy = report.groups.find((g) => g.owner?.name === 'legacy')!
    expect(evictions).toEqual([])
    const evicted = fake.writes().slice(since).filter((w) => w.path.endsWith('/eviction')).map((w) => w.path.split('/')[6])
    expect({status: legacy.status, evicted}).toEqual(becomesReady ? {status: 'evicted', evicted: ['legacy-b']} : {status: 'failed', evicted: []})
    expect(legacy.message).toMatch(becomesReady ? /^1 pod\(s\) evicted one at a time/
      : /^not evicting legacy-b: after 1s another pod of ReplicaSet shop\/legacy is not Ready \(legacy-\w+ is .*CrashLoopBackOff.*\); not evicted: legacy-b$/)
  })

  it('--outside-pools with no enabled pool of a family the pods hold: refused before anything is written (recreated pods would not get it either)', async () => {
    const fake = new FakeCluster()
    fake.put('/apis/crd.projectcalico.org/v1/ippools/default-ipv4-ippool', {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv4-ippool'}, spec: {cidr: '10.0.0.0/16'}})
    bareReplicaSet(fake, 'shop', 'legacy', ['fd00:1::c'])
    const error = await recreate(fake, {inPool: undefined, outsidePools: true})
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toBe('1 pod(s) hold IPv6 addresses no IPPool covers, and there is no enabled IPv6 pool: recreated pods would get no IPv6 address either')
    expect(fake.writes().filter((w) => !w.path.includes('selfsubjectaccessreviews'))).toEqual([])
  })

  it('a restart whose answer was lost (503) is run again by the engine: it finds its own mark and only waits, the owner is restarted once', async () => {
    const fake = shopCluster()
    fake.faults = [{method: 'PATCH', path: /deployments\/web$/, when: 'after', status: 503}]
    const report = await recreate(fake) as PodsRecreateReport
    expect(report.result).toBe('recreated')
    expect(fake.writes().filter((w) => w.method === 'PATCH').length).toBe(1)
    expect(fake.get('/apis/apps/v1/namespaces/shop/deployments/web')?.metadata?.generation).toBe(2)
  })
})

// ---------------------------------------------------------------------------------------------------------
// ippool fix: a migration that moves the pods (recreate-pods), and the plan that finishes one

let backupDir: string
beforeEach(() => (backupDir = mkdtempSync(path.join(tmpdir(), 'repair-steps-'))))
afterEach(() => rmSync(backupDir, {recursive: true, force: true}))

const POOLS = '/apis/crd.projectcalico.org/v1/ippools'
const OLD = {cidr: 'fd00:1::/64', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()'}
const ENV = new Map(Object.entries({CALICO_IPV6POOL_CIDR: 'fd00:2::/64', CALICO_IPV6POOL_NAT_OUTGOING: 'true'}).map(([k, v]) => [k, {value: v}]))
const INSTALL = calicoInstall([{metadata: {name: 'calico-node', namespace: 'kube-system'}}], undefined)!
const DESIRED = poolFromEnv(ENV, 'ipv6') as DesiredPool
const OLD_POOL = `${POOLS}/default-ipv6-ippool`
const NEW_POOL = `${POOLS}/${DESIRED.name}-fd00-2---64`

/**
 * The cluster and ippool fix's plan for it. moving: the old pool is in use (a Deployment's and a bare
 * ReplicaSet's pods), so the plan migrates with --recreate-pods. finishing: the migration was done but for its
 * last step (old pool disabled, nothing holds its addresses), so the plan deletes the old pool.
 */
async function poolScenario(which: 'moving' | 'finishing'): Promise<{fake: FakeCluster; plan: PoolFixPlan}> {
  const fake = new FakeCluster().calicoEnv(Object.fromEntries([...ENV].map(([k, v]) => [k, v.value])))
  fake.put(OLD_POOL, {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool'}, spec: {...OLD, ...(which === 'finishing' ? {disabled: true} : {})}})
  if (which === 'moving') {
    deployment(fake, 'shop', 'web', ['fd00:1::a', 'fd00:1::b'])
    bareReplicaSet(fake, 'shop', 'legacy', ['fd00:1::c', 'fd00:1::d'])
  } else {
    fake.put(NEW_POOL, {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: NEW_POOL.split('/').pop()}, spec: {...DESIRED.spec}})
  }
  const pools = poolsOf(fake)
  const target = pickPool(pools, 'ipv6') as IPPoolObject
  const impact = await readImpact(fake.client(), OLD.cidr)
  const plan = planPoolFix({family: 'ipv6', strategy: 'auto', force: false, recreatePods: true, evictBare: false, install: INSTALL, env: ENV, pools, target, impact, apiVersion: 'crd.projectcalico.org/v1'})
  if (isRefusal(plan)) throw new Error(plan.refused)
  expect(plan.actions.map((a) => a.kind)).toEqual(which === 'moving'
    ? ['backup', 'create-pool', 'update-pool', 'verify-pool', 'recreate-pods', 'delete-pool-if-unused']
    : ['backup', 'delete-pool-if-unused'])
  expect(plan.commitAt).toBe(which === 'moving' ? 4 : 1)
  return {fake, plan}
}

const poolsOf = (fake: FakeCluster) => [...fake.objects.entries()].filter(([k]) => k.startsWith(`${POOLS}/`)).map(([, v]) => v as IPPoolObject)
const paramsOf = (plan: PoolFixPlan): PoolFixParams => ({family: plan.family, pool: plan.pool, strategy: plan.strategy as PoolFixParams['strategy'], from: plan.from, to: plan.to, wrong: plan.wrong, notes: plan.notes})

function poolSettings(over: Partial<RunSettings> = {}): RunSettings {
  return {deadline: Date.now() + 60_000, timeoutText: '1m', backupDir, readyTimeoutMs: 2000, force: false, stopped: () => undefined, patienceMs: 0, ...over}
}

async function fix(fake: FakeCluster, plan: PoolFixPlan, over: Partial<RunSettings> = {}): Promise<EngineOutcome | Refused | Error> {
  try {
    return await new RepairEngine(fake.client(), POOL_FIX, 'kube-system').start({steps: plan.actions, commitAt: plan.commitAt}, paramsOf(plan), poolSettings(over))
  } catch (error) {
    return error as Error
  }
}

/** --resume or --rollback of what a run left, as the journal says (rolling back: --rollback). */
async function finish(fake: FakeCluster): Promise<string> {
  const engine = new RepairEngine(fake.client(), POOL_FIX, 'kube-system')
  const mode = journalOf(fake, 'kube-system')?.state === 'rolling-back' ? 'rollback' : 'resume'
  const loaded = await engine.load<PoolFixParams>(mode)
  if (isRefused(loaded)) return `refused: ${loaded.refused}`
  const outcome = await engine.continue(loaded as Journal, mode, poolSettings())
  return `--${mode}: ${isRefused(outcome) ? `refused: ${outcome.refused}` : outcome.result}`
}

/** Where the pools and pods are: as they were, as wanted (new pool in, old disabled), or the migration complete. */
function poolState(fake: FakeCluster, which: 'moving' | 'finishing'): string {
  const old = fake.get(OLD_POOL)
  const created = fake.get(NEW_POOL)
  const newOk = !!created && poolDifferences(created.spec, DESIRED.spec).length === 0 && created.spec?.disabled !== true
  const oldAsWas = !!old && poolDifferences(old.spec, {...OLD, ...(which === 'finishing' ? {disabled: true} : {})}).length === 0
  const moved = which === 'finishing' || inOldPool(fake).length === 0
  if (which === 'moving' && oldAsWas && !created && !webRestarted(fake) && SHOP_ORIGINALS.every((n) => fake.get(podPath('shop', n)))) return 'as they were'
  if (which === 'finishing' && oldAsWas && newOk) return 'as they were'
  if (newOk && !old && moved) return 'migration complete'
  if (newOk && old?.spec?.disabled === true && poolDifferences(old.spec, {...OLD, disabled: true}).length === 0) return `as wanted, ${moved ? 'pods moved' : `${inOldPool(fake).length} pod(s) in the old pool`}`
  return `in between (old ${JSON.stringify(old?.spec)}, new ${JSON.stringify(created?.spec)}, in the old pool ${inOldPool(fake).join(' ')})`
}

describe.each([
  {which: 'moving' as const, title: 'ippool fix --recreate-pods, a migration that moves the pods'},
  {which: 'finishing' as const, title: 'ippool fix, a migration left at its last step'},
])('$title', ({which}) => {
  const what = which === 'moving' ? 'with --recreate-pods (recreate-pods)' : 'left at its last step (delete the disabled old pool once empty)'

  it(`${what}: runs to the end: ${which === 'moving' ? 'the pods move to the new pool one owner at a time, ' : ''}the old pool is deleted with a backup, the Lease is released`, async () => {
    const {fake, plan} = await poolScenario(which)
    const evictions = watchEvictions(fake)
    const outcome = await fix(fake, plan) as EngineOutcome
    expect(outcome.result).toBe('done')
    expect(outcome.steps.at(-1)?.message).toBe('nothing held addresses of fd00:1::/64: deleted')
    expect(poolState(fake, which)).toBe('migration complete')
    expect(existsSync(outcome.backups[0]!)).toBe(true)
    expect(evictions).toEqual([])
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it(`${what}: at each write, refused, with its answer lost or refused for good: the run ends as it started before the commit point, and after it says how to finish (which then completes it); the Lease is released`, async () => {
    const clean = await poolScenario(which)
    expect(await fix(clean.fake, clean.plan)).toMatchObject({result: 'done'})
    const writes = clean.fake.writes()
    const problems: string[] = []
    const endings = new Map<string, number>()
    for (let k = 0; k < writes.length; k++) {
      for (const [fault, faults] of faultsFor(writes, k)) {
        const {fake, plan} = await poolScenario(which)
        const evictions = watchEvictions(fake)
        fake.faults = faults
        const outcome = await fix(fake, plan)
        const ending = outcome instanceof Error ? 'error' : isRefused(outcome) ? 'refused' : outcome.result
        endings.set(ending, (endings.get(ending) ?? 0) + 1)
        const where = `write ${k + 1} of ${writes.length} (${fault}): ${ending} ${outcome instanceof Error ? outcome.message : isRefused(outcome) ? outcome.refused : outcome.reason ?? ''}`
        const state = poolState(fake, which)
        const lease = leaseLeft(fake, 'kube-system')
        const wanted = ending === 'done' ? 'migration complete' : ending === 'rolled-back' || ending === 'error' ? 'as they were' : undefined
        if (wanted && state !== wanted) problems.push(`${where}: ${ending}, but the pools are ${state}`)
        if (ending === 'failed') {
          if (!lease.startsWith('kept unheld with an unfinished journal')) problems.push(`${where}: failed, but the Lease is ${lease}`)
          if (!journalOf(fake, 'kube-system')?.error) problems.push(`${where}: failed, but the journal does not say why`)
          fake.faults = []
          const finished = await finish(fake)
          const after = poolState(fake, which)
          const rolledBack = finished === '--rollback: rolled-back'
          if (!(finished === '--resume: done' && after === 'migration complete') && !(rolledBack && after === 'as they were')) problems.push(`${where}: then ${finished}, and the pools are ${after}`)
          if (leaseLeft(fake, 'kube-system') !== 'released') problems.push(`${where}: then ${finished}, but the Lease is ${leaseLeft(fake, 'kube-system')}`)
        } else if (lease !== 'released') {
          problems.push(`${where}: the Lease is ${lease}`)
        }
        problems.push(...evictions.map((e) => `${where}: ${e}`))
      }
    }
    expect(problems).toEqual([])
    // Finishing has no write before its commit point (the backup only reads): nothing to roll back.
    expect((endings.get('rolled-back') ?? 0) > 0).toBe(which === 'moving')
    expect(endings.get('failed') ?? 0).toBeGreaterThan(0)
  })

  it(`${what}: stopped (Ctrl-C, --timeout) before each step: before the commit point everything is undone; from it on what was wanted stays and what is left is said; the Lease is released`, async () => {
    const steps = (await poolScenario(which)).plan.actions.length
    const seen: string[] = []
    const wanted: string[] = []
    for (let k = 0; k <= steps; k++) {
      const {fake, plan} = await poolScenario(which)
      const outcome = await fix(fake, plan, {stopped: stopBefore(fake, 'kube-system', k)}) as EngineOutcome
      const left = outcome.left.find((l) => l.startsWith(INTERRUPTED))
      seen.push(`before step ${k + 1}: ${outcome.result}, ${poolState(fake, which)}, ${left ? `left: ${left.split(': ')[0]}: ${left.split(': ').slice(1).join(': ').split('; ').length} step(s)` : 'nothing left'}, Lease ${leaseLeft(fake, 'kube-system')}`)
      const result = k < plan.commitAt ? 'rolled-back' : k === steps ? 'done' : 'stopped'
      const state = k < plan.commitAt ? 'as they were' : k === steps ? 'migration complete' : which === 'finishing' ? 'as they were' : k === 4 ? 'as wanted, 4 pod(s) in the old pool' : 'as wanted, pods moved'
      wanted.push(`before step ${k + 1}: ${result}, ${state}, ${result === 'stopped' ? `left: ${INTERRUPTED} before: ${steps - k} step(s)` : 'nothing left'}, Lease released`)
    }
    expect(seen).toEqual(wanted)
  })
})

describe('ippool fix --recreate-pods, the pods step', () => {
  it('a PodDisruptionBudget blocking an eviction fails the run (not "fixed"), names the budget, keeps the journal for --resume, which finishes once the budget allows', async () => {
    const {fake, plan} = await poolScenario('moving')
    const pdb = '/apis/policy/v1/namespaces/shop/poddisruptionbudgets/legacy'
    fake.put(pdb, {apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: {name: 'legacy'}, spec: {selector: {matchLabels: {app: 'legacy'}}, minAvailable: 2}})
    const outcome = await fix(fake, plan) as EngineOutcome
    expect(outcome.result).toBe('failed')
    expect(outcome.reason).toMatch(/^recreate .* failed: 1 owner\(s\) not recreated: ReplicaSet shop\/legacy: eviction blocked by a PodDisruptionBudget: legacy-a \(Cannot evict pod as it would violate the pod's disruption budget\./)
    expect(outcome.message).toMatch(/What was wanted is in place; finish with: kubectl dualstack ippool fix --resume$/)
    expect(poolState(fake, 'moving')).toBe('as wanted, 2 pod(s) in the old pool')
    expect(leaseLeft(fake, 'kube-system')).toBe('kept unheld with an unfinished journal (failed)')
    fake.objects.delete(pdb)
    expect(await finish(fake)).toBe('--resume: done')
    expect(poolState(fake, 'moving')).toBe('migration complete')
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })

  it('Ctrl-C while a rollout never becomes available: the run stops after the commit point, the journal says so, the Lease is released; --resume finishes once the pods are Ready', async () => {
    const {fake, plan} = await poolScenario('moving')
    fake.replacementsReady = false
    const started = Date.now()
    const outcome = await fix(fake, plan, {stopped: () => (rolling(fake) ? INTERRUPTED : undefined)}) as EngineOutcome
    expect(Date.now() - started).toBeLessThan(1500)
    expect(outcome.result).toBe('failed')
    expect(outcome.reason).toMatch(/failed: Deployment shop\/web interrupted \(Ctrl-C\) while 2 old replica\(s\) pending termination$/)
    expect(journalOf(fake, 'kube-system')).toMatchObject({state: 'failed', done: 4, error: outcome.reason})
    expect(leaseLeft(fake, 'kube-system')).toBe('kept unheld with an unfinished journal (failed)')
    expect(poolState(fake, 'moving')).toBe('as wanted, 4 pod(s) in the old pool')
    fake.recover()
    expect(await finish(fake)).toBe('--resume: done')
    // Resumed, the step found its own restart on the Deployment and only waited for it.
    expect(fake.writes().filter((w) => w.method === 'PATCH').length).toBe(1)
    expect(poolState(fake, 'moving')).toBe('migration complete')
  })
})

describe('ippool fix finishing a migration', () => {
  it('a pod that took an address of the old pool since the plan keeps it: the old pool stays disabled and what holds it is said', async () => {
    const {fake, plan} = await poolScenario('finishing')
    fake.put(podPath('shop', 'late'), pod('shop', 'late', {ips: ['fd00:1::77']}))
    const outcome = await fix(fake, plan) as EngineOutcome
    expect(outcome.result).toBe('done')
    expect(fake.get(OLD_POOL)?.spec?.disabled).toBe(true)
    expect(outcome.left).toEqual(['IPPool default-ipv6-ippool (fd00:1::/64) stays disabled: 1 pod(s) still hold its addresses (shop/late); move them with kubectl dualstack pods recreate --in-pool default-ipv6-ippool -A, then run kubectl dualstack ippool fix again'])
    expect(leaseLeft(fake, 'kube-system')).toBe('released')
  })
})
