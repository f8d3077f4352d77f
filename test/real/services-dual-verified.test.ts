// services dual on a real control plane, checked by the other commands and after a kill (the simulator tier
// has the same in test/commands/services-dual-verified.test.ts): doctor names a SingleStack Service, services
// dual converts it, the real EndpointSlice controller makes a slice per family holding the pod's address of
// that family, svc-check passes every test on both families and doctor passes; a run SIGKILLed in the middle
// of a selection (while it waits for a Service's slices, kube-controller-manager frozen) leaves its journal
// in the Lease, and --resume finishes it or --rollback has the real API server take every second ClusterIP back.
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import path from 'node:path'

import {pluginJson, servicesDoctor, shopWebSingleStack, SVC_CHECK_ALL_PASS, type ServicesDualJson} from '../commands/ops-helpers.js'
import type {AuditEvent, RealCluster} from '../control-plane/cluster.js'
import {PLUGIN, runKubectl, testEnv} from '../sim/harness.js'
import {kubectlJson, LONG_TEST, START_TIMEOUT, startReal} from './harness.js'

const MARK = 'dualstack.kubectl.io/changed-by-run'

const dual = (cluster: RealCluster, ...args: string[]) => pluginJson<ServicesDualJson>(['services', 'dual', '-o', 'json', '--kubeconfig', cluster.kubeconfig, ...args])

interface ServiceJson {
  metadata: {annotations?: Record<string, string>}
  spec: {ipFamilyPolicy: string; ipFamilies: string[]; clusterIPs: string[]}
}
const service = async (cluster: RealCluster, namespace: string, name: string) => (await kubectlJson(cluster, 'get', 'service', name, '-n', namespace)) as ServiceJson

/** The real EndpointSlice controller's slices of a Service: each address type with the addresses of its endpoints. */
async function slices(cluster: RealCluster, namespace: string, name: string): Promise<Record<string, string[]>> {
  const list = await kubectlJson(cluster, 'get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${name}`)
  const items = list.items as Array<{addressType: string; endpoints?: Array<{addresses: string[]}>}>
  return Object.fromEntries(items.map((s) => [s.addressType, (s.endpoints ?? []).flatMap((e) => e.addresses)] as const).sort(([a], [b]) => a.localeCompare(b)))
}

async function leases(cluster: RealCluster): Promise<Array<{metadata: {name: string; annotations?: Record<string, string>}}>> {
  return ((await kubectlJson(cluster, 'get', 'leases', '-n', 'kube-system')).items as Array<{metadata: {name: string; annotations?: Record<string, string>}}>)
    .filter((l) => l.metadata.name === 'kubectl-dualstack')
}

describe('services dual on a real control plane, verified by doctor and svc-check, and after a kill', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', shopWebSingleStack)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('doctor fails naming the SingleStack Service; services dual converts it; the real slices hold the pod\'s address of each family; svc-check passes on both; doctor passes', async () => {
    expect((await service(cluster, 'shop', 'web')).spec).toMatchObject({ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4']})
    const before = await servicesDoctor(cluster.kubeconfig)
    expect(before).toEqual({code: 1, status: 'warn', message: expect.stringMatching(/^1 of \d+ Service\(s\) are SingleStack \(one ClusterIP family\): shop: web$/), services: ['shop/web']})

    const converted = await dual(cluster, 'web', '-n', 'shop', '--yes')
    expect({code: converted.code, result: converted.report.result, statuses: converted.report.services.map((s) => `${s.namespace}/${s.name} ${s.status}`), stderr: converted.stderr})
      .toMatchObject({code: 0, result: 'converted', statuses: ['shop/web converted']})
    const spec = (await service(cluster, 'shop', 'web')).spec
    expect(spec).toMatchObject({ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'], clusterIPs: [expect.stringMatching(/^10\.96\./), expect.stringMatching(/^fd00:10:96::/)]})
    expect(converted.report.services[0]!.message).toBe(`PreferDualStack: ${spec.clusterIPs.join(', ')}`)

    // One slice per family, each with the pod's address of its family.
    const pod = await kubectlJson(cluster, 'get', 'pod', 'web-0', '-n', 'shop')
    const podIPs = (pod.status.podIPs as Array<{ip: string}>).map((p) => p.ip)
    expect(podIPs).toEqual([expect.stringMatching(/^10\.244\./), expect.stringMatching(/^fd00:10:244:/)])
    expect(await slices(cluster, 'shop', 'web')).toEqual({IPv4: [podIPs[0]], IPv6: [podIPs[1]]})

    const check = await pluginJson<{service: {clusterIPs: string[]}; results: Array<{family: string; kind: string; status: string; target: string}>}>(['svc-check', 'web', '-n', 'shop', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
    expect({results: check.report.results.map((r) => `${r.family} ${r.kind} ${r.status}`), stderr: check.stderr}).toEqual({stderr: '', results: SVC_CHECK_ALL_PASS})
    expect(check.code).toBe(0)
    expect(check.report.service.clusterIPs).toEqual(spec.clusterIPs)
    expect(check.report.results.find((r) => r.family === 'ipv6' && r.kind === 'http')!.target).toBe(`http://[${spec.clusterIPs[1]}]:80/`)

    expect(await servicesDoctor(cluster.kubeconfig)).toEqual({code: 0, status: 'pass', message: expect.stringMatching(/^all \d+ Service\(s\) are PreferDualStack or RequireDualStack/)})
  }, LONG_TEST)

  const NAMES = ['svc-1', 'svc-2', 'svc-3', 'svc-4']
  const state = async (namespace: string) => Promise.all(NAMES.map(async (name) => {
    const svc = await service(cluster, namespace, name)
    return `${name} ${svc.spec.ipFamilyPolicy} ${svc.spec.clusterIPs.length}${svc.metadata.annotations?.[MARK] ? ' marked' : ''}`
  }))

  /**
   * Four SingleStack Services in `namespace`, then `services dual -n NAMESPACE --yes` SIGKILLed once it waits for
   * the slices of a Service it patched after its first step was journaled: kube-controller-manager is frozen
   * (SIGSTOP) when the journal's first update lands, so those slices do not come. Returns how far the journal got.
   */
  async function killedHalfWay(namespace: string): Promise<{done: number; runId: string}> {
    const file = path.join(cluster.dir, `${namespace}.json`)
    writeFileSync(file, JSON.stringify({apiVersion: 'v1', kind: 'List', items: [
      {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}},
      ...NAMES.map((name) => ({apiVersion: 'v1', kind: 'Service', metadata: {name, namespace}, spec: {selector: {app: name}, ports: [{port: 80}]}})),
    ]}))
    expect((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'apply', '-f', file])).code).toBe(0)
    const since = cluster.audit().length
    const child = spawn(PLUGIN, ['services', 'dual', '-n', namespace, '--yes', '--kubeconfig', cluster.kubeconfig], {env: testEnv()})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    const events = () => cluster.audit().slice(since)
    const journaled = (e: AuditEvent) => e.verb === 'update' && e.objectRef?.resource === 'leases' && e.objectRef.name === 'kubectl-dualstack'
    /**
     * Waiting for the slices of the Service it patched last (not the first Service): it listed them twice since
     * that patch (the first list lacked one). Its journal then counts the Services before that one.
     */
    const waiting = () => {
      const all = events()
      const patches = all.flatMap((e, i) => (e.verb === 'patch' && e.objectRef?.resource === 'services' && e.objectRef.namespace === namespace ? [i] : []))
      return patches.length >= 2 && all.slice(patches.at(-1)! + 1).filter((e) => e.verb === 'list' && e.objectRef?.resource === 'endpointslices' && e.objectRef.namespace === namespace).length >= 2
    }
    let frozen = false
    try {
      const deadline = Date.now() + 60_000
      while (child.exitCode === null && Date.now() < deadline && !events().some(journaled)) await new Promise((resolve) => setTimeout(resolve, 5))
      cluster.signal('kube-controller-manager', 'SIGSTOP')
      frozen = true
      while (child.exitCode === null && Date.now() < deadline && !waiting()) await new Promise((resolve) => setTimeout(resolve, 5))
      expect({running: child.exitCode === null, waiting: waiting(), stderr}).toMatchObject({running: true, waiting: true})
      child.kill('SIGKILL')
      await exited
    } finally {
      if (frozen) cluster.signal('kube-controller-manager', 'SIGCONT')
    }
    // Left: the Lease, unheld (its holder is dead), with the run's journal part-way.
    const lease = await leases(cluster)
    expect(lease).toHaveLength(1)
    const journal = JSON.parse(lease[0]!.metadata.annotations!['dualstack.kubectl.io/journal']!) as {command: string; state: string; done: number; runId: string; steps: Array<{name: string}>}
    expect({command: journal.command, state: journal.state, steps: journal.steps.map((s) => s.name)}).toEqual({command: 'services dual', state: 'running', steps: NAMES})
    expect(journal.done).toBeGreaterThanOrEqual(1)
    expect(journal.done).toBeLessThan(NAMES.length - 1)
    // The journaled Services and the one it was waiting for converted, marked with the run's id; the rest untouched.
    expect(await state(namespace)).toEqual(NAMES.map((n, i) => (i <= journal.done ? `${n} PreferDualStack 2 marked` : `${n} SingleStack 1`)))
    expect((await service(cluster, namespace, NAMES[journal.done]!)).metadata.annotations![MARK]).toBe(journal.runId)
    return journal
  }

  it('killed half-way: --resume --yes converts the rest, each Service with the real controller\'s slices of both families; exit 0', async () => {
    await killedHalfWay('resume')
    const refused = await dual(cluster, '-n', 'resume', '--yes')
    expect({code: refused.code, result: refused.report.result, notes: refused.report.notes}).toEqual({code: 1, result: 'refused', notes: ['finish it with --resume, or put the original back with --rollback']})

    const resumed = await dual(cluster, '--resume', '--yes')
    expect({code: resumed.code, result: resumed.report.result, message: resumed.report.message, statuses: resumed.report.services.map((s) => `${s.name} ${s.status}`)})
      .toEqual({code: 0, result: 'converted', message: '4 Service(s) converted to PreferDualStack', statuses: NAMES.map((n) => `${n} converted`)})
    expect(await state('resume')).toEqual(NAMES.map((n) => `${n} PreferDualStack 2`))
    for (const name of NAMES) expect(Object.keys(await slices(cluster, 'resume', name))).toEqual(['IPv4', 'IPv6'])
    expect(await leases(cluster)).toEqual([])
    // None of them is named by doctor any more (shop/web is, unless the first test converted it).
    expect((await servicesDoctor(cluster.kubeconfig)).services?.filter((name) => name.startsWith('resume/')) ?? []).toEqual([])
  }, LONG_TEST)

  it('another killed run: --rollback --yes has every Service SingleStack again, the real API server keeping only its IPv4 ClusterIP (exit 1: rolled back)', async () => {
    const journal = await killedHalfWay('rollback')
    const first = await Promise.all(NAMES.map(async (name) => (await service(cluster, 'rollback', name)).spec.clusterIPs[0]))
    const rolled = await dual(cluster, '--rollback', '--yes')
    expect({code: rolled.code, result: rolled.report.result, message: rolled.report.message}).toEqual({code: 1, result: 'rolled-back', message: '--rollback asked for; every Service this run converted was put back to SingleStack'})
    expect(await state('rollback')).toEqual(NAMES.map((n) => `${n} SingleStack 1`))
    for (const [i, name] of NAMES.entries()) expect((await service(cluster, 'rollback', name)).spec).toMatchObject({ipFamilies: ['IPv4'], clusterIPs: [first[i]]})
    expect(await leases(cluster)).toEqual([])
    // The ones it had converted lost their IPv6 slice with their IPv6 family.
    for (const name of NAMES.slice(0, journal.done + 1)) {
      const deadline = Date.now() + 30_000
      while (Object.keys(await slices(cluster, 'rollback', name)).includes('IPv6') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250))
      expect(Object.keys(await slices(cluster, 'rollback', name))).toEqual(['IPv4'])
    }
  }, LONG_TEST)
})
