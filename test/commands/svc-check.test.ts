// svc-check against the simulated cluster: every test per family, the likely causes of failures, and the
// pod it creates always deleted (on success, on error, on Ctrl-C), proven by the request record.
import {objectOf} from '../sim/scenario.js'
import {interruptPlugin, runKubectl, runPlugin, startSim, type RunningSim} from '../sim/harness.js'

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
      expect(v6[1]!.message).toBe('no IPv6 endpoints: its 1 Ready pod(s) (hello-k8s) have no IPv6 address, likely created before dual-stack: recreate them (kubectl dualstack pods recreate --single-stack -n default -l app=hello-k8s)')
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

describe("svc-check on the Services real clusters hold (issue 20, point 7)", () => {
  let sim: RunningSim
  const service = (name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) =>
    ({apiVersion: 'v1', kind: 'Service', metadata: {name, namespace: 'default', ...metadata}, spec: {selector: {app: 'hello-k8s'}, ...spec}})
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', (s) => {
      s.objects!.push(
        service('svc-headless', {clusterIP: 'None', ipFamilyPolicy: 'RequireDualStack', ports: [{name: 'http', port: 8080, targetPort: 8080}]}),
        service('svc-nobody', {ipFamilyPolicy: 'RequireDualStack', selector: {app: 'nope'}, ports: [{port: 80, targetPort: 8080}]}),
        service('svc-named', {ipFamilyPolicy: 'RequireDualStack', ports: [{name: 'dns', port: 53, protocol: 'UDP', targetPort: 53}, {name: 'web', port: 80, targetPort: 8080}]}),
        service('svc-udp', {ipFamilyPolicy: 'RequireDualStack', ports: [{name: 'dns', port: 53, protocol: 'UDP', targetPort: 53}]}),
        service('svc-single', {ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], ports: [{port: 80, targetPort: 8080}]}),
        service('svc-helm', {ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], ports: [{port: 80, targetPort: 8080}]}, {
          labels: {'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': 'web'},
          annotations: {'meta.helm.sh/release-name': 'web', 'meta.helm.sh/release-namespace': 'apps'},
        }),
      )
    })
  })
  afterAll(() => sim.stop())

  it('a headless dual-stack Service is judged by its ipFamilies and EndpointSlices, and HTTP goes to an endpoint', async () => {
    const {code, report} = await svcCheck(sim, 'svc-headless', '--from', 'netshoot')
    expect(report.results.filter((r) => r.status !== 'pass')).toEqual([])
    expect(code).toBe(0)
    const ip6 = report.results.find((r) => r.family === 'ipv6' && r.kind === 'service-ip')!
    expect(ip6.message).toBe('headless Service (clusterIP None): IPv6 is among its ipFamilies, DNS answers with the endpoints')
    const http6 = report.results.find((r) => r.family === 'ipv6' && r.kind === 'http')!
    expect(http6.target).toMatch(/^http:\/\/\[fd00:10:244:[0-9a-f:]+\]:8080\/$/)
  })

  it('a selector that matches no pod says so, not "created before dual-stack"', async () => {
    const {code, report} = await svcCheck(sim, 'svc-nobody', '--from', 'netshoot')
    expect(code).toBe(1)
    const endpoints = report.results.filter((r) => r.kind === 'endpoints')
    expect(endpoints.map((r) => r.message)).toEqual([
      'no IPv4 endpoints: the selector app=nope matches no pod in namespace default',
      'no IPv6 endpoints: the selector app=nope matches no pod in namespace default',
    ])
  })

  it('--port that is not a Service port is exit 2 with the list of its ports; a port name is accepted', async () => {
    const wrong = await runPlugin(['svc-check', 'svc-named', '--from', 'netshoot', '--port', '8080', '--kubeconfig', sim.kubeconfig])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toBe("error: Service default/svc-named has no port 8080; its ports: 53/UDP (dns), 80/TCP (web); pass one of them (number or name) to --port\n")
    const named = await svcCheck(sim, 'svc-named', '--from', 'netshoot', '--port', 'web')
    expect(named.code).toBe(0)
    expect(named.report.results.find((r) => r.family === 'ipv4' && r.kind === 'http')!.target).toMatch(/^http:\/\/10\.96\.[\d.]+:80\/$/)
  })

  it('a UDP-only port gets no HTTP test: it says so, and the rest passes', async () => {
    const before = sim.server.sim.requests.length
    const {code, report} = await svcCheck(sim, 'svc-udp', '--from', 'netshoot')
    expect(code).toBe(0)
    expect(outcomes(report)).toEqual([
      'ipv4 service-ip pass', 'ipv4 endpoints pass', 'ipv4 ping pass', 'ipv4 http skip',
      'ipv6 service-ip pass', 'ipv6 endpoints pass', 'ipv6 ping pass', 'ipv6 http skip',
    ])
    expect(report.results.find((r) => r.kind === 'http')!.message).toBe('port 53/UDP (dns): no HTTP test, HTTP needs TCP; the Service has no TCP port')
    // One ping per family (one backend), no curl.
    expect(sim.server.sim.requests.slice(before).filter((r) => r.verb === 'exec')).toHaveLength(2)
    const udpNamed = await svcCheck(sim, 'svc-named', '--from', 'netshoot', '--port', 'dns')
    expect(udpNamed.report.results.filter((r) => r.kind === 'http').map((r) => `${r.status} ${r.message}`)).toEqual(Array(2).fill('skip port 53/UDP (dns): no HTTP test, HTTP needs TCP; --port 80 tests its TCP port'))
  })

  it('--from NS/POD runs from that pod, and a pod that is not there is named as given', async () => {
    const {code, report} = await svcCheck(sim, 'svc-hellok8s', '--from', 'default/netshoot', '--family', 'ipv6')
    expect(code).toBe(0)
    expect(report.source).toEqual({pod: 'default/netshoot', created: false})
    const missing = await runPlugin(['svc-check', 'svc-hellok8s', '--from', 'kube-system/nope', '--kubeconfig', sim.kubeconfig])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toBe('error: --from kube-system/nope: no pod nope in namespace kube-system; pick a Ready pod for --from (POD or NS/POD), or leave it out to have one created\n')
  })

  it('a SingleStack Service on 1.31: the in-place kubectl patch, not "recreate"', async () => {
    const {code, report} = await svcCheck(sim, 'svc-single', '--from', 'netshoot')
    expect(code).toBe(1)
    const ip6 = report.results.find((r) => r.family === 'ipv6' && r.kind === 'service-ip')!
    expect(ip6.message).toBe(`the Service has no IPv6 ClusterIP (ipFamilyPolicy SingleStack, families IPv4): a single-stack Service; add one in place (it keeps ClusterIP ${report.service.clusterIPs[0]}): kubectl patch svc svc-single -n default -p '{"spec":{"ipFamilyPolicy":"PreferDualStack"}}'`)
    expect(ip6.message).not.toMatch(/recreate/)
  })

  it('a Helm-managed Service names the release and what to change in its chart', async () => {
    const {report} = await svcCheck(sim, 'svc-helm', '--from', 'netshoot')
    const ip6 = report.results.find((r) => r.family === 'ipv6' && r.kind === 'service-ip')!
    expect(ip6.message).toContain('the Service belongs to Helm release web (namespace apps): set ipFamilyPolicy: PreferDualStack (and ipFamilies) in the chart\'s values for this Service and run helm upgrade; a kubectl patch alone is undone when the next helm upgrade renders SingleStack again')
  })
})

describe('svc-check advice on the runbook 1.18 cluster (no ipFamilyPolicy before 1.20)', () => {
  it('an IPv6 Service has no IPv4 ClusterIP: a second Service with spec.ipFamily, not a patch of a field 1.18 lacks', async () => {
    const sim = await startSim('runbook-rke-1.18')
    try {
      const {code, report} = await svcCheck(sim, 'svc-hellok8s', '--from', 'netshoot', '--family', 'ipv4')
      expect(code).toBe(1)
      const ip4 = report.results.find((r) => r.kind === 'service-ip')!
      expect(ip4.message).toBe('the Service has no IPv4 ClusterIP (ipFamilyPolicy unset, families IPv6): a single-stack Service; on v1.18.20 a Service has one family (the alpha spec.ipFamily, fixed at creation; ipFamilyPolicy comes with 1.20): for IPv4 create a second Service with spec.ipFamily: IPv4 and the same selector and ports, or upgrade to 1.20 or later for dual-stack Services')
    } finally {
      await sim.stop()
    }
  })
})

describe('svc-check in a Pod Security restricted namespace (issue 20, point 8)', () => {
  const locked = (s: Parameters<NonNullable<Parameters<typeof startSim>[1]>>[0]) => {
    s.objects!.push({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'locked', labels: {'pod-security.kubernetes.io/enforce': 'restricted'}}})
    for (const kind of ['Pod', 'Service'] as const) {
      const copy = structuredClone(objectOf(s, kind, kind === 'Pod' ? 'hello-k8s' : 'svc-hellok8s'))
      copy.metadata.namespace = 'locked'
      delete copy.status
      s.objects!.push(copy)
    }
  }

  it('its test pod meets restricted: created, HTTP passes, ping is not permitted and says why (not a failure)', async () => {
    const sim = await startSim('healthy-dual-stack', locked)
    try {
      const {code, report, stderr} = await svcCheck(sim, 'svc-hellok8s', '-n', 'locked')
      expect(stderr).toBe('')
      expect(outcomes(report)).toEqual([
        'ipv4 service-ip pass', 'ipv4 endpoints pass', 'ipv4 ping skip', 'ipv4 http pass',
        'ipv6 service-ip pass', 'ipv6 endpoints pass', 'ipv6 ping skip', 'ipv6 http pass',
      ])
      expect(code).toBe(0)
      expect(report.results.find((r) => r.kind === 'ping')!.message).toMatch(/^ping is not permitted in pod dualstack-svc-check-[0-9a-f]{6} \(no NET_RAW, as Pod Security restricted requires, and its node does not allow unprivileged ICMP: net\.ipv4\.ping_group_range\): ping: socket: Operation not permitted; the HTTP test covers the path$/)
      const refused = sim.server.sim.requests.filter((r) => r.verb === 'create' && r.resource === 'pods' && r.code === 403)
      expect(refused).toHaveLength(1)
      expectOneProbePodCreatedAndDeleted(sim)
    } finally {
      await sim.stop()
    }
  })

  it('where the nodes allow unprivileged ICMP, ping works from the restricted test pod', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      locked(s)
      for (const node of s.nodes) node.sysctls = {...node.sysctls, 'net.ipv4.ping_group_range': '0 2147483647'}
    })
    try {
      const {code, report} = await svcCheck(sim, 'svc-hellok8s', '-n', 'locked')
      expect(report.results.filter((r) => r.status !== 'pass')).toEqual([])
      expect(code).toBe(0)
    } finally {
      await sim.stop()
    }
  })

  it('a test pod that admission refuses (a policy webhook): exit 3 saying it is admission and what to do, not RBAC advice', async () => {
    const denied = 'admission webhook "validate.kyverno.svc-fail" denied the request: policy Pod/locked/x for resource violation: require-registry: images must come from registry.internal'
    const sim = await startSim('healthy-dual-stack', (s) => {
      locked(s)
      s.faults = [{verb: 'create', resource: 'pods', code: 403, message: denied}]
    })
    try {
      const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'locked', '--kubeconfig', sim.kubeconfig])
      expect(result.stderr).toBe(`error: admission refused the test pod in namespace locked: ${denied}; run from an existing pod (--from POD or --from NS/POD), or create the test pod in a namespace that admits it (--pod-namespace NS)\n`)
      expect(result.code).toBe(3)
    } finally {
      await sim.stop()
    }
  })

  it('--pod-namespace creates the test pod elsewhere; it reaches the Service across namespaces', async () => {
    const sim = await startSim('healthy-dual-stack', locked)
    try {
      const {code, report} = await svcCheck(sim, 'svc-hellok8s', '-n', 'locked', '--pod-namespace', 'default')
      expect(report.results.filter((r) => r.status !== 'pass')).toEqual([])
      expect(code).toBe(0)
      expect(sim.server.sim.requests.filter((r) => r.verb === 'create' && r.resource === 'pods').map((r) => [r.namespace, r.code])).toEqual([['default', 201]])
    } finally {
      await sim.stop()
    }
  })
})

describe('svc-check and a test pod a finalizer holds (issue 20, point 5)', () => {
  it('waits (bounded) for its pod to be gone, then names what is left with the command that removes it', async () => {
    const sim = await startSim('healthy-dual-stack')
    const podType = sim.server.sim.type('v1', 'Pod')
    // Another controller (a mutating webhook, a backup tool) puts its finalizer on every new pod.
    sim.server.sim.store.subscribe((event) => {
      const pod = event.object
      if (event.type !== 'ADDED' || pod.kind !== 'Pod' || !pod.metadata.name?.startsWith('dualstack-svc-check-')) return
      setImmediate(() => sim.server.sim.store.write(podType, {...pod, metadata: {...pod.metadata, finalizers: ['example.com/hold']}}))
    })
    try {
      const started = Date.now()
      const {code, report, stderr} = await svcCheck(sim, 'svc-hellok8s', '--delete-timeout', '2s')
      expect(code).toBe(0)
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000)
      const name = report.source.pod
      expect(stderr).toBe(`warning: pod default/${name} is still Terminating 2s after it was deleted (finalizers: example.com/hold); it goes once they are removed: kubectl -n default patch pod ${name} --type merge -p '{"metadata":{"finalizers":null}}'\n`)
      // The simulator keeps it, Terminating, as the real server does until the finalizer goes.
      const left = sim.server.sim.store.get(podType, 'default', name)!
      expect(left.metadata.deletionTimestamp).toBeDefined()
      const patched = await runKubectl(['--kubeconfig', sim.kubeconfig, '-n', 'default', 'patch', 'pod', name, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}'])
      expect(patched.code).toBe(0)
      expect(sim.server.sim.store.get(podType, 'default', name)).toBeUndefined()
    } finally {
      await sim.stop()
    }
  })
})
