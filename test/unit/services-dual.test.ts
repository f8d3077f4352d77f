// services dual in process: the plan (pure), and the convert-service steps against the fake cluster, whose API
// server gives a Service a second family on a dual-stack policy and whose EndpointSlice controller makes a slice
// per family. Every write failing (refused, its answer lost, refused for good) and Ctrl-C before each step: the
// run converts every Service or puts back every one it converted, and the Lease is released.
import type {ClusterClient} from '../../src/cluster/kube.js'
import type {ServiceObject} from '../../src/cluster/types.js'
import {UsageError} from '../../src/errors.js'
import {type Journal} from '../../src/ops/engine/journal.js'
import {readLease} from '../../src/ops/lock.js'
import {describeUnfinished} from '../../src/ops/repairs.js'
import {planServicesDual} from '../../src/ops/services/plan.js'
import {MAX_SERVICES_PER_RUN, runServicesDual, type ServicesDualOptions, type ServicesDualReport} from '../../src/ops/services/run.js'
import {CHANGED_ANNOTATION, convertService} from '../../src/ops/services/steps.js'
import {FakeCluster, type Obj} from './fake-cluster.js'
import {faultsFor, LEASE, leaseLeft} from './repair-matrix.js'

const svcPath = (name: string, namespace = 'shop') => `/api/v1/namespaces/${namespace}/services/${name}`
const INTERRUPTED = 'interrupted (Ctrl-C)'
const NAMES = ['web', 'api', 'db']

function svc(name: string, spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}, namespace = 'shop'): ServiceObject {
  return {apiVersion: 'v1', kind: 'Service', metadata: {name, namespace, uid: `uid-${namespace}-${name}`, ...metadata},
    spec: {type: 'ClusterIP', ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], clusterIP: '10.96.1.1', clusterIPs: ['10.96.1.1'], ...spec}} as ServiceObject
}

/** Three SingleStack Services with selectors (web is headless), each with its IPv4 EndpointSlice. */
function shop(): FakeCluster {
  const fake = new FakeCluster()
  fake.put('/version', {gitVersion: 'v1.34.4'} as Obj)
  fake.put('/api/v1/namespaces/shop', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'shop'}} as Obj)
  NAMES.forEach((name, i) => {
    fake.put(svcPath(name), svc(name, {selector: {app: name}, ...(name === 'web' ? {clusterIP: 'None', clusterIPs: ['None']} : {clusterIP: `10.96.1.${i + 1}`, clusterIPs: [`10.96.1.${i + 1}`]})}) as Obj)
    fake.put(`/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/${name}-ipv4`, {apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: {name: `${name}-ipv4`, labels: {'kubernetes.io/service-name': name}}} as Obj)
  })
  return fake
}

const service = (fake: FakeCluster, name: string) => fake.get(svcPath(name)) as ServiceObject
const state = (fake: FakeCluster) => NAMES.map((n) => {
  const s = service(fake, n)
  return `${n} ${s.spec?.ipFamilyPolicy} ${(s.spec?.ipFamilies ?? []).join(',')} ${(s.spec?.clusterIPs ?? []).length}${s.metadata?.annotations?.[CHANGED_ANNOTATION] ? ' marked' : ''}`
})
const ORIGINAL = ['web SingleStack IPv4 1', 'api SingleStack IPv4 1', 'db SingleStack IPv4 1']
const CONVERTED = ['web PreferDualStack IPv4,IPv6 1', 'api PreferDualStack IPv4,IPv6 2', 'db PreferDualStack IPv4,IPv6 2']

const journalOf = (fake: FakeCluster) => readLease((fake.get(LEASE()) ?? {}) as never).journal as Journal | undefined

async function dual(fake: FakeCluster, over: Partial<ServicesDualOptions> = {}): Promise<ServicesDualReport | Error> {
  try {
    return await runServicesDual(fake as unknown as ClusterClient, {names: [], namespace: 'shop', policy: 'PreferDualStack', includeLoadBalancers: false, force: false, dryRun: false,
      resume: false, rollback: false, timeoutMs: 5000, readyTimeoutMs: 1000, stopped: () => undefined, showPlan: () => undefined, confirm: async () => undefined, ...over})
  } catch (error) {
    return error as Error
  }
}


describe('services dual: the plan', () => {
  const input = {missing: [], policy: 'PreferDualStack' as const, includeLoadBalancers: false, force: false, named: false}
  it('takes SingleStack Services; refuses managed ones (naming where to change the field) and LoadBalancers; leaves out default/kubernetes, ExternalName and dual ones', () => {
    const rows = planServicesDual({...input, services: [
      svc('web'), svc('ext', {type: 'ExternalName', clusterIP: undefined, clusterIPs: undefined, ipFamilies: undefined, ipFamilyPolicy: undefined}),
      svc('kubernetes', {}, {}, 'default'), svc('done', {ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4']}),
      svc('lb', {type: 'LoadBalancer'}), svc('chart', {}, {labels: {'app.kubernetes.io/managed-by': 'Helm'}, annotations: {'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': 'shop'}}),
      svc('app', {}, {annotations: {'argocd.argoproj.io/tracking-id': 'shop-app:/Service:shop/app'}}), svc('v6', {ipFamilies: ['IPv6'], clusterIP: 'fd00::1', clusterIPs: ['fd00::1']}),
    ]})
    expect(rows.map((r) => `${r.name} ${r.status} ${r.policy.from}->${r.policy.to} ${r.families.from.join(',')}->${r.families.to.join(',')} ${r.gains ?? '-'}`)).toEqual([
      'web planned SingleStack->PreferDualStack IPv4->IPv4,IPv6 IPv6',
      'lb refused SingleStack->PreferDualStack IPv4->IPv4,IPv6 IPv6',
      'chart refused SingleStack->PreferDualStack IPv4->IPv4,IPv6 IPv6',
      'app refused SingleStack->PreferDualStack IPv4->IPv4,IPv6 IPv6',
      'v6 planned SingleStack->PreferDualStack IPv6->IPv6,IPv4 IPv4',
    ])
    const why = Object.fromEntries(rows.map((r) => [r.name, r.message]))
    expect(why.lb).toMatch(/load balancer may not serve IPv6.*--include-load-balancers$/)
    expect(why.chart).toBe('managed by Helm release "shop" in shop: a change made here is put back; in the chart\'s values of Helm release "shop" in shop (kept in Git) set spec.ipFamilyPolicy: PreferDualStack, then upgrade the release; a change made with kubectl is put back by the next upgrade (or --force to patch it here anyway)')
    expect(why.app).toMatch(/^managed by Argo CD application "shop-app" .*: a change made here is put back; in the Service shop\/app manifest of Argo CD application "shop-app" \(its source in Git\) set spec.ipFamilyPolicy: PreferDualStack, then sync application "shop-app"/)
  })

  it('--force and --include-load-balancers take them; names are each reported, also when there is nothing to do', () => {
    const services = [svc('lb', {type: 'LoadBalancer'}), svc('chart', {}, {annotations: {'meta.helm.sh/release-name': 'shop'}})]
    expect(planServicesDual({...input, services, force: true, includeLoadBalancers: true}).map((r) => `${r.name} ${r.status} ${r.manager ?? ''}`)).toEqual(['lb planned ', 'chart planned Helm release "shop"'])
    const named = planServicesDual({...input, named: true, missing: ['gone'], namespace: 'default',
      services: [svc('kubernetes', {}, {}, 'default'), svc('done', {ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6']}, {}, 'default')]})
    expect(named.map((r) => `${r.name} ${r.status}: ${r.message}`)).toEqual(['gone refused: not found', 'kubernetes refused: default/kubernetes is SingleStack by design (the API server manages it)', 'done unchanged: already RequireDualStack'])
  })

  it('a journal\'s steps are validated', () => {
    const step = {kind: 'convert-service', namespace: 'shop', name: 'web', uid: 'u-1', policy: 'PreferDualStack', family: 'IPv4', headless: false, selector: true}
    expect(convertService.validate(step)).toBeUndefined()
    expect(convertService.validate({...step, name: '../x'})).toBe('its name is not a Service name')
    expect(convertService.validate({...step, policy: 'SingleStack'})).toBe('its policy "SingleStack" is not PreferDualStack or RequireDualStack')
    expect(convertService.validate({...step, family: 'IPv5'})).toBe('its family "IPv5" is not IPv4 or IPv6')
  })
})

describe('services dual: convert-service', () => {
  it('converts each Service: two ClusterIPs (headless: two families), EndpointSlices of both families; the mark is cleared and the Lease released', async () => {
    const fake = shop()
    const report = await dual(fake) as ServicesDualReport
    expect(report).toMatchObject({result: 'converted', message: '3 Service(s) converted to PreferDualStack'})
    expect(state(fake)).toEqual(CONVERTED)
    for (const name of NAMES) expect(fake.get(`/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/${name}-ipv6`)).toBeDefined()
    // Each patch at the resourceVersion read, with the run's mark; then the mark cleared.
    const patches = fake.writes().filter((w) => w.method === 'PATCH')
    expect(patches.slice(0, 3).every((w) => (w.body as {metadata: {resourceVersion?: string; annotations: Record<string, string>}}).metadata.resourceVersion && (w.body as {metadata: {annotations: Record<string, string>}}).metadata.annotations[CHANGED_ANNOTATION])).toBe(true)
    expect(leaseLeft(fake)).toBe('released')
  })

  it('a dry run writes nothing', async () => {
    const fake = shop()
    const report = await dual(fake, {dryRun: true}) as ServicesDualReport
    expect(report.result).toBe('planned')
    expect(fake.writes()).toEqual([{method: 'POST', path: '/api/v1/namespaces/default/services', body: expect.anything()}])
    expect(state(fake)).toEqual(ORIGINAL)
  })

  it('refused on a cluster that gives Services one family, before any write', async () => {
    const fake = shop()
    fake.serviceFamilies = ['IPv4']
    const report = await dual(fake) as ServicesDualReport
    expect(report.result).toBe('refused')
    expect(report.message).toMatch(/^the cluster does not give Services both families/)
    expect(fake.writes().filter((w) => w.method !== 'POST')).toEqual([])
  })

  it('at each write, refused, with its answer lost or refused for good: every Service converted, or every one as it was; never one left marked; the Lease is released', async () => {
    const clean = shop()
    expect(await dual(clean)).toMatchObject({result: 'converted'})
    const writes = clean.writes()
    const problems: string[] = []
    const endings = new Map<string, number>()
    for (let k = 0; k < writes.length; k++) {
      for (const [what, faults] of faultsFor(writes, k)) {
        const fake = shop()
        fake.faults = faults
        const report = await dual(fake)
        const ending = report instanceof Error ? 'error' : report.result
        endings.set(ending, (endings.get(ending) ?? 0) + 1)
        const now = state(fake)
        const where = `write ${k + 1} of ${writes.length} (${what}): ${ending} ${report instanceof Error ? report.message : report.message} ${JSON.stringify(now)}`
        const lease = leaseLeft(fake)
        const unmarked = now.map((s) => s.replace(' marked', ''))
        const marked = now.some((s) => s.endsWith(' marked'))
        if (ending === 'converted') {
          if (JSON.stringify(unmarked) !== JSON.stringify(CONVERTED)) problems.push(`${where}: converted, but not every Service is`)
          // Settling is best effort: a mark it could not clear is said, and undoes nothing of a later run (another run id).
          if (marked && !(report as ServicesDualReport).notes.some((n) => n.includes('could not mark it done'))) problems.push(`${where}: a mark left unsaid`)
        } else if (ending === 'failed') {
          // Rolling back failed too: the journal stays for --rollback, which then puts everything back.
          if (lease !== 'kept with an unfinished journal (rolling-back)') problems.push(`${where}: failed, the Lease is ${lease}`)
          fake.faults = []
          const rolled = await dual(fake, {rollback: true})
          if (rolled instanceof Error || rolled.result !== 'rolled-back' || JSON.stringify(state(fake)) !== JSON.stringify(ORIGINAL)) problems.push(`${where}: --rollback did not put it back: ${rolled instanceof Error ? rolled.message : rolled.result} ${JSON.stringify(state(fake))}`)
          continue
        } else if (JSON.stringify(now) !== JSON.stringify(ORIGINAL)) problems.push(`${where}: not converted, but not as it was either`)
        if (lease !== 'released') problems.push(`${where}: the Lease is ${lease}`)
      }
    }
    expect(problems).toEqual([])
    expect(endings.get('rolled-back') ?? 0).toBeGreaterThan(0)
  })

  it('stopped (Ctrl-C) before each step: every Service converted so far is put back; the Lease is released', async () => {
    const seen: string[] = []
    for (let k = 0; k <= 3; k++) {
      const fake = shop()
      const stopped = () => ((journalOf(fake)?.done ?? 0) >= k && journalOf(fake)?.state === 'running' ? INTERRUPTED : undefined)
      const report = await dual(fake, {stopped}) as ServicesDualReport
      seen.push(`before step ${k + 1}: ${report.result}, ${report.services.map((s) => s.status).join(' ')}, ${JSON.stringify(state(fake)) === JSON.stringify(ORIGINAL) ? 'as it was' : JSON.stringify(state(fake)) === JSON.stringify(CONVERTED) ? 'converted' : JSON.stringify(state(fake))}, Lease ${leaseLeft(fake)}`)
    }
    expect(seen).toEqual([
      'before step 1: rolled-back, skipped skipped skipped, as it was, Lease released',
      'before step 2: rolled-back, undone skipped skipped, as it was, Lease released',
      'before step 3: rolled-back, undone undone skipped, as it was, Lease released',
      'before step 4: converted, converted converted converted, converted, Lease released',
    ])
  })

  it('EndpointSlices that never come (no EndpointSlice controller): the step fails after --ready-timeout and the run puts back what it converted', async () => {
    const fake = shop()
    fake.endpointSlices = false
    const report = await dual(fake, {readyTimeoutMs: 200}) as ServicesDualReport
    expect(report.result).toBe('rolled-back')
    expect(report.message).toMatch(/^patch Service shop\/web .* failed: Service shop\/web has two ClusterIPs but no IPv6 EndpointSlice after 0s: is the EndpointSlice controller \(kube-controller-manager\) running\?; every Service this run converted was put back/)
    expect(state(fake)).toEqual(ORIGINAL)
  })

  it('a Service someone else changed since the plan fails its step (left as they made it); one someone else converted is not undone by this run', async () => {
    const fake = shop()
    let changed = false
    fake.onRequest = (method, path) => {
      // Between the plan and db's step: someone converts api to RequireDualStack, and moves db to IPv6 only.
      if (changed || method !== 'PATCH' || path !== svcPath('web')) return
      changed = true
      fake.put(svcPath('api'), {...fake.get(svcPath('api'))!, spec: {...fake.get(svcPath('api'))!.spec, ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'], clusterIPs: ['10.96.1.2', 'fd00:96::2']}})
      fake.put('/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/api-ipv6', {apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv6',
        metadata: {name: 'api-ipv6', labels: {'kubernetes.io/service-name': 'api'}}} as Obj)
      fake.put(svcPath('db'), {...fake.get(svcPath('db'))!, spec: {...fake.get(svcPath('db'))!.spec, ipFamilies: ['IPv6'], clusterIPs: ['fd00:96::3'], clusterIP: 'fd00:96::3'}})
    }
    const report = await dual(fake) as ServicesDualReport
    expect(report.result).toBe('rolled-back')
    expect(report.services.map((s) => `${s.name} ${s.status}: ${s.message}`)).toEqual([
      'web undone: put back to SingleStack (IPv4)',
      'api undone: not changed by this run: left as it is',
      'db failed: Service shop/db is now IPv6, not IPv4 as planned: it was changed since the plan was made',
    ])
    expect(state(fake)).toEqual(['web SingleStack IPv4 1', 'api RequireDualStack IPv4,IPv6 2', 'db SingleStack IPv6 1'])
  })

  it('a 409 (a label written between the read and the patch) is read again and patched, not overwritten nor failed', async () => {
    const fake = shop()
    let once = false
    fake.onRequest = (method, path) => {
      if (once || method !== 'PATCH' || path !== svcPath('api')) return
      once = true
      fake.put(svcPath('api'), {...fake.get(svcPath('api'))!, metadata: {...fake.get(svcPath('api'))!.metadata, labels: {team: 'payments'}}})
    }
    const report = await dual(fake) as ServicesDualReport
    expect(report.result).toBe('converted')
    expect(service(fake, 'api').metadata?.labels).toEqual({team: 'payments'})
    expect(fake.writes().filter((w) => w.method === 'PATCH' && w.path === svcPath('api'))).toHaveLength(3) // 409, again, and the mark cleared
  })

  it('an unfinished run is named by doctor with the command that finishes it, and blocks other repairs', async () => {
    const fake = shop()
    fake.faults = [{method: 'PATCH', path: /services\/api$/, when: 'before', times: 99}]
    // The rollback of web's step fails too (every patch of web after its first is refused).
    fake.faults.push({method: 'PATCH', path: /services\/web$/, when: 'before', skip: 1, times: 99})
    const report = await dual(fake) as ServicesDualReport
    expect(report.result).toBe('failed')
    expect(report.message).toMatch(/Finish undoing with 'kubectl dualstack services dual --rollback'/)
    const unfinished = describeUnfinished(journalOf(fake), 'kube-system')!
    expect(unfinished.text).toMatch(/^a previous services dual \(to PreferDualStack, started .*\) stopped while rolling back: 1 of 3 steps done, next: patch Service shop\/api to PreferDualStack/)
    expect(unfinished.finish).toBe('finish it: kubectl dualstack services dual --resume (or --rollback)')
    const again = await dual(fake) as ServicesDualReport
    expect(again.result).toBe('refused')
    expect(again.notes).toEqual(['finish it with --resume, or put the original back with --rollback'])
    fake.faults = []
    expect(await dual(fake, {rollback: true})).toMatchObject({result: 'rolled-back'})
    expect(state(fake)).toEqual(ORIGINAL)
    expect(leaseLeft(fake)).toBe('released')
  })
})

describe('services dual: at most MAX_SERVICES_PER_RUN Services a run', () => {
  // The longest names Kubernetes allows (a DNS label: 63 characters) and a uid as the API server writes it (36).
  const NS = `ns${'n'.repeat(61)}`
  const longName = (i: number) => `svc${'s'.repeat(55)}${String(i).padStart(5, '0')}`
  const uid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`

  /** `count` SingleStack Services in one namespace, names as long as they may be, no selector (a step says `"selector":false`, its longest). */
  function many(count: number): FakeCluster {
    const fake = new FakeCluster()
    fake.put('/version', {gitVersion: 'v1.34.4'} as Obj)
    fake.put(`/api/v1/namespaces/${NS}`, {apiVersion: 'v1', kind: 'Namespace', metadata: {name: NS}} as Obj)
    for (let i = 0; i < count; i++) {
      const name = longName(i)
      fake.put(svcPath(name, NS), svc(name, {clusterIP: `10.96.${i >> 8}.${i & 255}`, clusterIPs: [`10.96.${i >> 8}.${i & 255}`]}, {uid: uid(i)}, NS) as Obj)
    }
    return fake
  }

  /** What Kubernetes counts against its 256 KiB limit (ValidateAnnotationsSize): every key and value, in bytes. */
  const annotationBytes = (annotations: Record<string, string>) =>
    Object.entries(annotations).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0)

  it(`a run of ${MAX_SERVICES_PER_RUN} Services with the longest names: its Lease's annotations stay under half of the 256 KiB Kubernetes allows`, async () => {
    expect(longName(0)).toHaveLength(63)
    expect(NS).toHaveLength(63)
    const fake = many(MAX_SERVICES_PER_RUN)
    // Every journal of a run holds all its steps (the Lease is taken with them) and only its count of steps done
    // grows, so a run stopped after its first Service writes the largest: the one that also says why it rolls back.
    const stopped = () => ((journalOf(fake)?.done ?? 0) >= 1 && journalOf(fake)?.state === 'running' ? INTERRUPTED : undefined)
    const report = await dual(fake, {namespace: NS, stopped}) as ServicesDualReport
    expect({result: report.result, message: report.message}).toEqual({result: 'rolled-back', message: `${INTERRUPTED}; every Service this run converted was put back to SingleStack`})
    const journals = fake.writes().filter((w) => w.path.startsWith('/apis/coordination.k8s.io/') && w.body)
      .map((w) => (w.body as {metadata: {annotations: Record<string, string>}}).metadata.annotations)
    expect(journals.map((a) => (JSON.parse(a['dualstack.kubectl.io/journal']!) as Journal).state)).toEqual(['running', 'running', 'rolling-back'])
    const largest = journals.reduce((a, b) => (annotationBytes(b) > annotationBytes(a) ? b : a))
    expect((JSON.parse(largest['dualstack.kubectl.io/journal']!) as Journal).steps).toHaveLength(MAX_SERVICES_PER_RUN)
    // Measured: 90,495 bytes (88 KiB), about 300 a Service; 256 KiB would be reached near 870 of them.
    expect(annotationBytes(largest)).toBeGreaterThan(MAX_SERVICES_PER_RUN * 290)
    expect(annotationBytes(largest)).toBeLessThan(128 * 1024)
  })

  it(`one more than ${MAX_SERVICES_PER_RUN} to convert is bad usage, before any write (the dry-run probe too), also with --dry-run; Services refused by the plan do not count`, async () => {
    for (const dryRun of [false, true]) {
      const fake = many(MAX_SERVICES_PER_RUN + 1)
      const error = await dual(fake, {namespace: NS, dryRun})
      expect(error).toBeInstanceOf(UsageError)
      expect({message: (error as UsageError).message, hint: (error as UsageError).hint}).toEqual({
        message: `${MAX_SERVICES_PER_RUN + 1} Services selected to convert, more than the ${MAX_SERVICES_PER_RUN} one run converts (its journal is kept in the Lease, whose annotations are limited to 256 KiB)`,
        hint: 'narrow the selection with -n, -l or Service names, and run again for the rest'})
      expect(fake.writes()).toEqual([])
    }
    const atCap = many(MAX_SERVICES_PER_RUN)
    atCap.put(svcPath('edge', NS), svc('edge', {type: 'LoadBalancer'}, {}, NS) as Obj)
    const report = await dual(atCap, {namespace: NS, dryRun: true}) as ServicesDualReport
    expect({result: report.result, message: report.message}).toEqual({result: 'incomplete', message: `dry run: ${MAX_SERVICES_PER_RUN} Service(s) would be converted to PreferDualStack, 1 refused; nothing was changed`})
  })
})
