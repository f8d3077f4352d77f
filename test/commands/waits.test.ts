// Waits watch, as kubectl wait does: list once, then watch from that resourceVersion; a watch that cannot
// open or breaks resumes after a backoff, and one whose resourceVersion is too old (410) lists again.
import {runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import type {FaultSpec} from '../sim/scenario.js'

describe('waiting for pods', () => {
  let sim: RunningSim
  beforeEach(async () => {
    // Pods take a moment to start, as on a real node: a wait has something to wait for.
    sim = await startSim('healthy-dual-stack', (s) => {
      s.podStartMs = 150
    })
  })
  afterEach(() => sim.stop())
  const faults = (...specs: Array<Omit<FaultSpec, 'hits'>>) => {
    sim.server.sim.faults = specs.map((spec) => ({...spec, hits: 0}))
  }
  const requests = (verb: string, namespace?: string) => sim.server.sim.requests.filter((r) => r.verb === verb && r.resource === 'pods' && (!namespace || r.namespace === namespace))

  it('calico-restart watches for each replacement instead of polling: one list per node, and watches', async () => {
    const result = await runPlugin(['calico-restart', '--yes', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(0)
    const nodes = sim.server.sim.scenario.nodes.length
    expect(requests('watch', 'kube-system').length).toBeGreaterThanOrEqual(nodes)
    // The plan's two lists, then one list per batch (nodes, then the controllers): no polling.
    expect(requests('list', 'kube-system').length).toBeLessThanOrEqual(2 + nodes + 1)
  })

  it('a watch that cannot open, twice, is tried again from where it was: svc-check still passes', async () => {
    faults({verb: 'watch', resource: 'pods', drop: true, times: 2})
    const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(0)
    expect(sim.server.sim.faults[0]!.hits).toBe(2)
    expect(requests('watch', 'default').length).toBeGreaterThanOrEqual(3)
  })

  it('a watch refused with 410 Gone lists again, then watches from the new resourceVersion', async () => {
    faults({verb: 'watch', resource: 'pods', code: 410, times: 1})
    const listsBefore = requests('list', 'default').length
    const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(0)
    expect(sim.server.sim.faults[0]!.hits).toBe(1)
    expect(requests('list', 'default').length - listsBefore).toBeGreaterThanOrEqual(2)
  })
})

describe('an exec that is never answered', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
  })
  afterAll(() => sim.stop())

  it('doctor reports the exec timed out and exits: nothing of the exec outlives the command', async () => {
    sim.server.sim.faults = [{verb: 'exec', hang: true, hits: 0}]
    const started = Date.now()
    const result = await runPlugin(['doctor', '--only', 'node.ipv6-forwarding', '--exec-timeout', '1s', '--kubeconfig', sim.kubeconfig])
    expect(result.stdout).toMatch(/exec timed out after 1s/)
    expect(result.code).toBe(1)
    // The run's own timeout (60 s) would end a hung process with code 128.
    expect(Date.now() - started).toBeLessThan(15_000)
  })
})
