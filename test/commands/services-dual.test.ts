// services dual on the simulator: a dual-stack cluster whose Services predate dual-stack (SingleStack), one
// of them Helm's and one a LoadBalancer. The simulated API server allocates and frees the second ClusterIP
// on a policy change, and its EndpointSlice controller makes a slice per family.
import {answerAtTerminal, runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import {objectOf} from '../sim/scenario.js'
import type {Obj} from '../sim/store.js'

interface DualJson {
  services: Array<{namespace: string; name: string; type: string; policy: {from: string; to: string}; families: {from: string[]; to: string[]}; gains?: string; status: string; message?: string}>
  result: string
  message: string
  notes: string[]
}

async function dual(sim: RunningSim, ...args: string[]): Promise<{code: number; report: DualJson; stderr: string}> {
  const result = await runPlugin(['services', 'dual', '-o', 'json', '--kubeconfig', sim.kubeconfig, ...args])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as DualJson, stderr: result.stderr}
}

const service = (sim: RunningSim, name: string): Obj => sim.server.sim.store.get(sim.server.sim.type('v1', 'Service'), 'default', name)!
const slices = (sim: RunningSim, name: string): string[] => sim.server.sim.store.list(sim.server.sim.registry.byKind('discovery.k8s.io/v1', 'EndpointSlice')!, 'default')
  .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === name).map((s) => s.addressType as string).sort()

async function doctorStatus(sim: RunningSim): Promise<{status: string; message: string}> {
  const result = await runPlugin(['doctor', '--only', 'services.dual-stack', '-o', 'json', '--kubeconfig', sim.kubeconfig])
  const check = (JSON.parse(result.stdout) as {checks: Array<{status: string; message: string}>}).checks[0]!
  return {status: check.status, message: check.message}
}

describe('services dual', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', (s) => {
      objectOf(s, 'Service', 'svc-hellok8s').spec = {selector: {app: 'hello-k8s'}, ports: [{port: 80, targetPort: 8080}]}
      s.objects!.push(
        {apiVersion: 'v1', kind: 'Service', metadata: {name: 'shop-api', namespace: 'default', annotations: {'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': 'default'}},
          spec: {selector: {app: 'shop'}, ports: [{port: 80}]}},
        {apiVersion: 'v1', kind: 'Service', metadata: {name: 'edge', namespace: 'default'}, spec: {type: 'LoadBalancer', selector: {app: 'hello-k8s'}, ports: [{port: 443}]}},
      )
    })
  })
  afterAll(async () => {
    await sim.stop()
  })

  it('--dry-run shows each Service, policy and families from and to, and writes nothing', async () => {
    const before = sim.server.sim.requests.length
    const {code, report} = await dual(sim, 'svc-hellok8s', '-n', 'default', '--dry-run')
    expect(code).toBe(0)
    expect(report.result).toBe('planned')
    expect(report.services).toEqual([{namespace: 'default', name: 'svc-hellok8s', type: 'ClusterIP', headless: false, policy: {from: 'SingleStack', to: 'PreferDualStack'},
      families: {from: ['IPv4'], to: ['IPv4', 'IPv6']}, gains: 'IPv6', status: 'planned'}])
    const writes = sim.server.sim.requests.slice(before).filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb) && r.resource !== 'selfsubjectaccessreviews')
    // Only the probe: a RequireDualStack Service created in dry run (and the access reviews, which write nothing).
    expect(writes.every((r) => r.dryRun && r.resource === 'services' && r.verb === 'create')).toBe(true)
    expect(service(sim, 'svc-hellok8s').spec.clusterIPs).toHaveLength(1)
  })

  it('a Service deleted while the plan is read (at the prompt): its step fails and every Service converted before it is put back, its second ClusterIP freed', async () => {
    const c = sim.server.sim
    c.apply({apiVersion: 'v1', kind: 'Service', metadata: {name: 'gone', namespace: 'default'}, spec: {selector: {app: 'gone'}, ports: [{port: 80}]}})
    const next = c.serviceIps.byFamily.get('IPv6')!.allocateNext(true)
    const {code, output} = await answerAtTerminal(['services', 'dual', 'svc-hellok8s', 'gone', '-n', 'default', '--kubeconfig', sim.kubeconfig], 'to continue:', 'sim', async () => {
      c.store.delete(c.type('v1', 'Service'), 'default', 'gone')
    })
    expect(code).toBe(1)
    expect(output).toContain('Service default/gone no longer exists')
    expect(service(sim, 'svc-hellok8s').spec).toMatchObject({ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], clusterIPs: [expect.stringMatching(/^\d+\./)]})
    // The IPv6 address it was given (the next free one when the run started) is free again.
    expect(() => c.serviceIps.byFamily.get('IPv6')!.allocate(next, true)).not.toThrow()
  })

  it('--yes converts the plain Service and refuses the Helm one and the LoadBalancer, saying why', async () => {
    const {code, report} = await dual(sim, '-A', '--yes')
    expect(code).toBe(1)
    expect(report.result).toBe('incomplete')
    const byName = Object.fromEntries(report.services.map((s) => [s.name, s]))
    expect(Object.keys(byName).sort()).toEqual(['edge', 'shop-api', 'svc-hellok8s'])
    expect(byName['svc-hellok8s']!.status).toBe('converted')
    expect(byName['shop-api']!.status).toBe('refused')
    expect(byName['shop-api']!.message).toBe('managed by Helm release "shop" in default: a change made here is put back; in the chart\'s values of Helm release "shop" in default (kept in Git) set spec.ipFamilyPolicy: PreferDualStack, then upgrade the release; a change made with kubectl is put back by the next upgrade (or --force to patch it here anyway)')
    expect(byName.edge!.status).toBe('refused')
    expect(byName.edge!.message).toContain('the cloud\'s load balancer may not serve IPv6')
    const svc = service(sim, 'svc-hellok8s')
    expect(svc.spec).toMatchObject({ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6']})
    expect(svc.spec.clusterIPs).toHaveLength(2)
    expect(svc.spec.clusterIPs[1]).toContain(':')
    // The run is over: its mark is gone, and so is the Lease's hold.
    expect(svc.metadata.annotations?.['dualstack.kubectl.io/changed-by-run']).toBeUndefined()
    expect(slices(sim, 'svc-hellok8s')).toEqual(['IPv4', 'IPv6'])
    expect(service(sim, 'shop-api').spec.ipFamilyPolicy).toBe('SingleStack')
    expect(service(sim, 'edge').spec.ipFamilyPolicy).toBe('SingleStack')
    expect((await doctorStatus(sim)).message).toMatch(/^2 of \d+ Service\(s\) are SingleStack/)
  })

  it('with --force and --include-load-balancers converts the rest, and doctor then passes', async () => {
    const {code, report} = await dual(sim, '-A', '--force', '--include-load-balancers', '--yes')
    expect({code, result: report.result, statuses: report.services.map((s) => `${s.name} ${s.status}`).sort()}).toEqual({code: 0, result: 'converted', statuses: ['edge converted', 'shop-api converted']})
    expect(service(sim, 'edge').spec.clusterIPs).toHaveLength(2)
    expect(await doctorStatus(sim)).toMatchObject({status: 'pass'})
    // Nothing left: a second run has nothing to do.
    expect((await dual(sim, '-A', '--yes')).report.result).toBe('nothing')
  })

  it('bad usage: names with -A; a namespace that does not exist', async () => {
    const result = await runPlugin(['services', 'dual', 'web', '-A', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: Service names are looked up in one namespace/)
    const typo = await runPlugin(['services', 'dual', '-n', 'defualt', '--dry-run', '--kubeconfig', sim.kubeconfig])
    expect({code: typo.code, stderr: typo.stderr.split('\n')[0]}).toEqual({code: 2, stderr: 'error: namespace "defualt" does not exist; check -n (see: kubectl get namespaces)'})
  })
})

describe('services dual on a cluster with one Service family', () => {
  it('refuses: the API server would not give Services a second family', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.serviceCIDRs = [s.serviceCIDRs[0]!]
      objectOf(s, 'Service', 'svc-hellok8s').spec = {selector: {app: 'hello-k8s'}, ports: [{port: 80, targetPort: 8080}]}
      objectOf(s, 'Service', 'kube-dns').spec.ipFamilyPolicy = 'SingleStack'
    })
    try {
      const {code, report} = await dual(sim, '-A', '--yes')
      expect(code).toBe(1)
      expect(report.result).toBe('refused')
      expect(report.message).toMatch(/^the cluster does not give Services both families: a RequireDualStack Service \(dry run\) was refused/)
      expect(service(sim, 'svc-hellok8s').spec.ipFamilyPolicy).toBe('SingleStack')
    } finally {
      await sim.stop()
    }
  })
})

describe('services dual with more Services selected than one run converts', () => {
  it('301 SingleStack Services in a namespace: bad usage (exit 2) in one line naming the count, the cap and the fix, before any write', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      for (let i = 1; i <= 301; i++) {
        s.objects!.push({apiVersion: 'v1', kind: 'Service', metadata: {name: `api-${i}`, namespace: 'many', labels: {half: i <= 150 ? 'first' : 'second'}}, spec: {ports: [{port: 80}]}})
      }
    })
    try {
      const since = sim.server.sim.writes().length
      const result = await runPlugin(['services', 'dual', '-n', 'many', '--yes', '--kubeconfig', sim.kubeconfig])
      expect({code: result.code, stderr: result.stderr}).toEqual({code: 2, stderr: 'error: 301 Services selected to convert, more than the 300 one run converts (its journal is kept in the Lease, ' +
        'whose annotations are limited to 256 KiB); narrow the selection with -n, -l or Service names, and run again for the rest\n'})
      // Nothing written, not even the dry-run probe of the cluster's Service families; no Lease.
      expect(sim.server.sim.writes().slice(since)).toEqual([])
      const json = await runPlugin(['services', 'dual', '-n', 'many', '--dry-run', '-o', 'json', '--kubeconfig', sim.kubeconfig])
      expect({code: json.code, error: JSON.parse(json.stdout).error}).toEqual({code: 2, error: {message: expect.stringMatching(/^301 Services selected to convert, more than the 300/),
        hint: 'narrow the selection with -n, -l or Service names, and run again for the rest', exitCode: 2}})
      // Narrowed with a label selector, each half is a run.
      for (const half of ['first', 'second']) {
        const narrowed = await runPlugin(['services', 'dual', '-n', 'many', '-l', `half=${half}`, '--dry-run', '-o', 'json', '--kubeconfig', sim.kubeconfig])
        expect({code: narrowed.code, message: JSON.parse(narrowed.stdout).message}).toEqual({code: 0, message: `dry run: ${half === 'first' ? 150 : 151} Service(s) would be converted to PreferDualStack; nothing was changed`})
      }
    } finally {
      await sim.stop()
    }
  })
})
