// services dual on the simulator, checked by the other commands and after a kill: doctor names a SingleStack
// Service, services dual converts it, svc-check then passes every test on both families and doctor passes;
// a run SIGKILLed in the middle of a selection leaves its journal in the Lease, and --resume finishes it or
// --rollback puts every Service back. The real control plane tier has the same in test/real/services-dual-verified.test.ts.
import {spawn} from 'node:child_process'

import {PLUGIN, runPlugin, startSim, testEnv, type RunningSim} from '../sim/harness.js'
import type {Obj} from '../sim/store.js'
import {pluginJson, servicesDoctor, shopWebSingleStack, SVC_CHECK_ALL_PASS, type ServicesDualJson} from './ops-helpers.js'

const JOURNAL = 'dualstack.kubectl.io/journal'
const MARK = 'dualstack.kubectl.io/changed-by-run'

const dual = (sim: RunningSim, ...args: string[]) => pluginJson<ServicesDualJson>(['services', 'dual', '-o', 'json', '--kubeconfig', sim.kubeconfig, ...args])

const services = (sim: RunningSim, namespace: string): Obj[] => sim.server.sim.store.list(sim.server.sim.type('v1', 'Service'), namespace)
const service = (sim: RunningSim, namespace: string, name: string): Obj => sim.server.sim.store.get(sim.server.sim.type('v1', 'Service'), namespace, name)!
const leases = (sim: RunningSim) => sim.server.sim.store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'))

describe('services dual on the simulator, then doctor and svc-check', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', shopWebSingleStack)
  })
  afterAll(() => sim.stop())

  it('doctor fails naming the SingleStack Service; services dual converts it; svc-check passes every test on both families; doctor passes', async () => {
    expect(service(sim, 'shop', 'web').spec).toMatchObject({ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4']})
    const before = await servicesDoctor(sim.kubeconfig)
    expect(before).toEqual({code: 1, status: 'warn', message: expect.stringMatching(/^1 of \d+ Service\(s\) are SingleStack \(one ClusterIP family\): shop: web$/), services: ['shop/web']})

    const converted = await dual(sim, 'web', '-n', 'shop', '--yes')
    expect({code: converted.code, result: converted.report.result, statuses: converted.report.services.map((s) => `${s.namespace}/${s.name} ${s.status}`)})
      .toEqual({code: 0, result: 'converted', statuses: ['shop/web converted']})
    const spec = service(sim, 'shop', 'web').spec
    expect(spec).toMatchObject({ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'], clusterIPs: [expect.stringMatching(/^10\.96\./), expect.stringMatching(/^fd00:10:96::/)]})
    expect(converted.report.services[0]!.message).toBe(`PreferDualStack: ${spec.clusterIPs.join(', ')}`)

    const check = await pluginJson<{service: {clusterIPs: string[]}; results: Array<{family: string; kind: string; status: string; target: string}>}>(['svc-check', 'web', '-n', 'shop', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect(check.report.results.map((r) => `${r.family} ${r.kind} ${r.status}`)).toEqual(SVC_CHECK_ALL_PASS)
    expect(check.code).toBe(0)
    expect(check.report.service.clusterIPs).toEqual(spec.clusterIPs)
    expect(check.report.results.find((r) => r.family === 'ipv6' && r.kind === 'http')!.target).toBe(`http://[${spec.clusterIPs[1]}]:80/`)

    expect(await servicesDoctor(sim.kubeconfig)).toEqual({code: 0, status: 'pass', message: expect.stringMatching(/^all \d+ Service\(s\) are PreferDualStack or RequireDualStack/)})
  })
})

describe('services dual on the simulator, killed half-way', () => {
  const NAMES = ['svc-1', 'svc-2', 'svc-3', 'svc-4']
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
  })
  afterAll(() => sim.stop())

  const state = (namespace: string) => NAMES.map((name) => {
    const svc = service(sim, namespace, name)
    return `${name} ${svc.spec.ipFamilyPolicy} ${svc.spec.clusterIPs.length}${svc.metadata.annotations?.[MARK] ? ' marked' : ''}`
  })

  /**
   * Four SingleStack Services in `namespace`, then `services dual -n NAMESPACE --yes` SIGKILLed while it waits
   * for the second Service's EndpointSlices (every list of them answered 1.5 s late): the first Service's step
   * is in the journal, the second's patch has landed but not its journal entry, the other two are untouched.
   */
  async function killedHalfWay(namespace: string): Promise<{runId: string}> {
    const c = sim.server.sim
    for (const name of NAMES) c.apply({apiVersion: 'v1', kind: 'Service', metadata: {name, namespace}, spec: {selector: {app: name}, ports: [{port: 80}]}})
    const slow = {verb: 'list', resource: 'endpointslices', latencyMs: 1500, hits: 0}
    c.faults.push(slow)
    try {
      const child = spawn(PLUGIN, ['services', 'dual', '-n', namespace, '--yes', '--kubeconfig', sim.kubeconfig], {env: testEnv()})
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
      const dualStack = () => services(sim, namespace).filter((s) => s.spec.ipFamilyPolicy === 'PreferDualStack').length
      const deadline = Date.now() + 20_000
      while (dualStack() < 2 && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
      expect({running: child.exitCode === null, dualStack: dualStack(), stderr}).toEqual({running: true, dualStack: 2, stderr: expect.stringContaining('[2/4] patch Service')})
      child.kill('SIGKILL')
      await exited
    } finally {
      c.faults.splice(c.faults.indexOf(slow), 1)
    }
    // Left: the Lease, no longer held (its holder is dead), with the journal of the run, one step done.
    expect(leases(sim)).toHaveLength(1)
    const journal = JSON.parse(leases(sim)[0]!.metadata.annotations![JOURNAL]!) as {command: string; state: string; done: number; runId: string; steps: Array<{name: string}>}
    expect({command: journal.command, state: journal.state, done: journal.done, steps: journal.steps.map((s) => s.name)}).toEqual({command: 'services dual', state: 'running', done: 1, steps: NAMES})
    expect(state(namespace)).toEqual(['svc-1 PreferDualStack 2 marked', 'svc-2 PreferDualStack 2 marked', 'svc-3 SingleStack 1', 'svc-4 SingleStack 1'])
    expect(service(sim, namespace, 'svc-2').metadata.annotations![MARK]).toBe(journal.runId)
    return journal
  }

  it('a later run is refused naming --resume; --resume --yes converts the rest (the Service whose patch landed unjournaled included): every Service dual-stack, exit 0', async () => {
    await killedHalfWay('resume')
    const refused = await dual(sim, '-n', 'resume', '--yes')
    expect({code: refused.code, result: refused.report.result, notes: refused.report.notes}).toEqual({code: 1, result: 'refused', notes: ['finish it with --resume, or put the original back with --rollback']})
    expect(refused.report.message).toMatch(/^a previous services dual \(to PreferDualStack, started .*\) stopped half-way: 1 of 4 steps done, next: patch Service resume\/svc-2 to PreferDualStack/)

    const resumed = await dual(sim, '--resume', '--yes')
    expect({code: resumed.code, result: resumed.report.result, message: resumed.report.message, statuses: resumed.report.services.map((s) => `${s.name} ${s.status}`)})
      .toEqual({code: 0, result: 'converted', message: '4 Service(s) converted to PreferDualStack', statuses: NAMES.map((n) => `${n} converted`)})
    // Every Service dual-stack, the run's marks cleared, the Lease gone; doctor has nothing left to name.
    expect(state('resume')).toEqual(NAMES.map((n) => `${n} PreferDualStack 2`))
    expect(leases(sim)).toEqual([])
    expect(await servicesDoctor(sim.kubeconfig)).toMatchObject({code: 0, status: 'pass'})
  })

  it('--rollback --yes of another killed run puts every Service back to SingleStack, the second ClusterIPs freed (exit 1: rolled back)', async () => {
    await killedHalfWay('rollback')
    const taken = ['svc-1', 'svc-2'].map((name) => service(sim, 'rollback', name).spec.clusterIPs[1] as string)
    const rolled = await dual(sim, '--rollback', '--yes')
    expect({code: rolled.code, result: rolled.report.result, message: rolled.report.message}).toEqual({code: 1, result: 'rolled-back', message: '--rollback asked for; every Service this run converted was put back to SingleStack'})
    // svc-2 was patched when the run was killed, its journal entry not written yet: put back, so reported undone (not skipped).
    expect(rolled.report.services.map((s) => `${s.name} ${s.status}`)).toEqual(['svc-1 undone', 'svc-2 undone', 'svc-3 skipped', 'svc-4 skipped'])
    expect(state('rollback')).toEqual(NAMES.map((n) => `${n} SingleStack 1`))
    for (const name of NAMES) expect(service(sim, 'rollback', name).spec).toMatchObject({ipFamilies: ['IPv4'], clusterIPs: [expect.stringMatching(/^10\.96\./)]})
    expect(leases(sim)).toEqual([])
    // The IPv6 addresses the two Services were given are free again.
    for (const ip of taken) expect(() => sim.server.sim.serviceIps.byFamily.get('IPv6')!.allocate(ip, true)).not.toThrow()
    const again = await runPlugin(['services', 'dual', '--rollback', '--yes', '--kubeconfig', sim.kubeconfig])
    expect({code: again.code, stderr: again.stderr.split('\n')[0]}).toEqual({code: 2, stderr: expect.stringMatching(/^error: there is no unfinished services dual to roll back/)})
  })
})
