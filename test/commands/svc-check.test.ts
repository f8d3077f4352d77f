// svc-check against the simulated cluster: every test per family, the likely causes of failures, and the
// pod it creates always deleted (on success, on error, on Ctrl-C), proven by the request record.
import {objectOf} from '../sim/scenario.js'
import {interruptPlugin, runPlugin, startSim, type RunningSim} from '../sim/harness.js'

interface Report {
  service: {name: string; namespace: string; clusterIPs: string[]; ipFamilies: string[]; ipFamilyPolicy: string | null}
  source: {pod: string; created: boolean}
  results: Array<{kind: string; family: string; target: string; status: string; latencyMs?: number; message: string}>
}

async function svcCheck(sim: RunningSim, ...args: string[]): Promise<{code: number; report: Report; stderr: string}> {
  const result = await runPlugin(['svc-check', ...args, '-o', 'json', '--kubeconfig', sim.kubeconfig])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr}
}

function outcomes(report: Report): string[] {
  return report.results.map((r) => `${r.family} ${r.kind} ${r.status}`)
}

/** The pods svc-check created and the deletes of them, from the simulated cluster's request record. */
function probePodLifecycle(sim: RunningSim): {created: number; deleted: string[]; left: string[]} {
  const requests = sim.server.sim.requests
  const created = requests.filter((r) => r.verb === 'create' && r.resource === 'pods' && r.code === 201).length
  const deleted = requests.filter((r) => r.verb === 'delete' && r.resource === 'pods' && r.name?.startsWith('dualstack-svc-check-')).map((r) => r.name!)
  const left = sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod')).map((p) => p.metadata.name).filter((n) => n.startsWith('dualstack-svc-check-'))
  return {created, deleted, left}
}

function expectOneProbePodCreatedAndDeleted(sim: RunningSim): void {
  const life = probePodLifecycle(sim)
  expect(life.created).toBe(1)
  expect(life.deleted).toHaveLength(1)
  expect(life.left).toEqual([])
}

describe('svc-check on the healthy cluster', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
  })
  afterAll(() => sim.stop())

  it('passes every test over both families, then deletes the pod it created', async () => {
    const {code, report} = await svcCheck(sim, 'svc-hellok8s', '-n', 'default')
    expect(code).toBe(0)
    expect(outcomes(report)).toEqual([
      'ipv4 service-ip pass', 'ipv4 endpoints pass', 'ipv4 ping pass', 'ipv4 http pass',
      'ipv6 service-ip pass', 'ipv6 endpoints pass', 'ipv6 ping pass', 'ipv6 http pass',
    ])
    expect(report.service).toMatchObject({name: 'svc-hellok8s', namespace: 'default', ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'RequireDualStack'})
    expect(report.source).toEqual({pod: expect.stringMatching(/^dualstack-svc-check-[0-9a-f]{6}$/), created: true})
    const http6 = report.results.find((r) => r.family === 'ipv6' && r.kind === 'http')!
    expect(http6.target).toMatch(/^http:\/\/\[fd00:10:96::[0-9a-f]+\]:80\/$/)
    expect(http6.message).toBe('HTTP 200')
    expect(report.results.find((r) => r.kind === 'ping')!.latencyMs).toBeGreaterThan(0)
    const life = probePodLifecycle(sim)
    expect(life.deleted).toEqual([report.source.pod])
    expect(life.left).toEqual([])
  })

  it('--from uses an existing pod and creates nothing; --family narrows the tests', async () => {
    const before = sim.server.sim.requests.length
    const {code, report} = await svcCheck(sim, 'svc-hellok8s', '--from', 'netshoot', '--family', 'ipv6')
    expect(code).toBe(0)
    expect(report.source).toEqual({pod: 'netshoot', created: false})
    expect(outcomes(report)).toEqual(['ipv6 service-ip pass', 'ipv6 endpoints pass', 'ipv6 ping pass', 'ipv6 http pass'])
    expect(sim.server.sim.requests.slice(before).filter((r) => r.verb === 'create' && !r.dryRun && r.resource === 'pods')).toEqual([])
  })

  it('the table says which test failed or passed and gives a verdict', async () => {
    const result = await runPlugin(['svc-check', 'svc-hellok8s', '--from', 'netshoot', '--kubeconfig', sim.kubeconfig])
    expect(result.stdout).toMatch(/^Service default\/svc-hellok8s: ClusterIPs \S+, \S+, families IPv6, IPv4, policy RequireDualStack; from pod netshoot\n/)
    expect(result.stdout).toMatch(/IPv6 +http +http:\/\/\[fd00:10:96::[0-9a-f]+\]:80\/ +pass +[\d.]+ ms +HTTP 200/)
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('default/svc-hellok8s: all 8 tests passed')
  })

  it('a Service that does not exist is exit 2', async () => {
    const result = await runPlugin(['svc-check', 'nope', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('services "nope" not found')
  })
})

describe('svc-check on the runbook 1.18 cluster', () => {
  it("reads Endpoints (no EndpointSlices before 1.21) and proves the runbook's IPv6 Service", async () => {
    const sim = await startSim('runbook-rke-1.18')
    try {
      const {code, report} = await svcCheck(sim, 'svc-hellok8s', '--from', 'netshoot', '--family', 'ipv6')
      expect(outcomes(report)).toEqual(['ipv6 service-ip pass', 'ipv6 endpoints pass', 'ipv6 ping pass', 'ipv6 http pass'])
      expect(report.service).toMatchObject({ipFamilies: ['IPv6'], ipFamilyPolicy: null, clusterIPs: [expect.stringMatching(/^2001:0:0:3::/)]})
      expect(code).toBe(0)
      expect(sim.server.sim.requests.some((r) => r.resource === 'endpoints' && r.name === 'svc-hellok8s')).toBe(true)
      expect(sim.server.sim.requests.some((r) => r.resource === 'endpointslices')).toBe(false)
    } finally {
      await sim.stop()
    }
  })
})

describe('svc-check failures and their likely causes', () => {
  it('a node without IPv6 forwarding: IPv6 fails and the message names the node', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      objectOf(s, 'Pod', 'hello-k8s').spec.nodeName = 'worker-2'
      objectOf(s, 'Pod', 'netshoot').spec.nodeName = 'worker-1'
      s.nodes[2]!.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
    })
    try {
      const {code, report} = await svcCheck(sim, 'svc-hellok8s', '--from', 'netshoot', '--timeout', '1s')
      expect(code).toBe(1)
      expect(outcomes(report)).toEqual([
        'ipv4 service-ip pass', 'ipv4 endpoints pass', 'ipv4 ping pass', 'ipv4 http pass',
        'ipv6 service-ip pass', 'ipv6 endpoints pass', 'ipv6 ping fail', 'ipv6 http fail',
      ])
      for (const r of report.results.filter((x) => x.status === 'fail')) {
        expect(r.message).toContain('likely cause: IPv6 forwarding is off on node worker-2 (kubectl dualstack doctor --only node.ipv6-forwarding)')
      }
    } finally {
      await sim.stop()
    }
  })

  it('a SingleStack Service: no IPv6 ClusterIP, named as single-stack', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      objectOf(s, 'Service', 'svc-hellok8s').spec = {ipFamilyPolicy: 'SingleStack', selector: {app: 'hello-k8s'}, ports: [{port: 80, targetPort: 8080}]}
    })
    try {
      const {code, report} = await svcCheck(sim, 'svc-hellok8s', '--from', 'netshoot')
      expect(code).toBe(1)
      expect(outcomes(report).slice(4)).toEqual(['ipv6 service-ip fail', 'ipv6 endpoints fail', 'ipv6 ping skip', 'ipv6 http skip'])
      expect(report.results[4]!.message).toContain('a single-stack Service')
    } finally {
      await sim.stop()
    }
  })

  it('backends without IPv6 addresses: no IPv6 endpoints', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      const hello = objectOf(s, 'Pod', 'hello-k8s')
      hello.spec.nodeName = 'worker-1'
      hello.status = {phase: 'Running', conditions: [{type: 'Ready', status: 'True'}], podIP: '10.244.9.9', podIPs: [{ip: '10.244.9.9'}]}
    })
    try {
      const {code, report} = await svcCheck(sim, 'svc-hellok8s', '--from', 'netshoot')
      expect(code).toBe(1)
      const v6 = report.results.filter((r) => r.family === 'ipv6')
      expect(v6.map((r) => `${r.kind} ${r.status}`)).toEqual(['service-ip pass', 'endpoints fail', 'ping skip', 'http fail'])
      expect(v6[1]!.message).toContain('no IPv6 endpoints: its pods have no address of this family')
    } finally {
      await sim.stop()
    }
  })

  it('a source pod that never becomes Ready: exit 1 after --ready-timeout, and the pod is still deleted', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.unpullableImages = ['registry.invalid/netshoot:latest']
    })
    try {
      const result = await runPlugin(['svc-check', 'svc-hellok8s', '--image', 'registry.invalid/netshoot:latest', '--ready-timeout', '2s', '--kubeconfig', sim.kubeconfig])
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/^error: pod default\/dualstack-svc-check-[0-9a-f]{6} was not Ready after 2s \(ImagePullBackOff\); check that the image registry.invalid\/netshoot:latest can be pulled/)
      expectOneProbePodCreatedAndDeleted(sim)
    } finally {
      await sim.stop()
    }
  })

  it('Ctrl-C in the middle: exit 130 and the pod is deleted', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.execLatencyMs = 10_000
    })
    try {
      const {code, stderr} = await interruptPlugin(['svc-check', 'svc-hellok8s', '--kubeconfig', sim.kubeconfig], () => sim.server.sim.requests.some((r) => r.verb === 'exec'))
      expect(code).toBe(130)
      expect(stderr).toContain('interrupted: cleaning up')
      expectOneProbePodCreatedAndDeleted(sim)
    } finally {
      await sim.stop()
    }
  })
})
