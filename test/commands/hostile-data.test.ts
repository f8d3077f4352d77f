// Cluster data written by many hands: escape sequences in a ConfigMap, an env value and an annotation,
// CNI config that is not JSON. Nothing of it reaches the terminal as a control sequence, and nothing crashes.
import {runPlugin, startSim, type RunResult, type RunningSim} from '../sim/harness.js'
import {objectOf} from '../sim/scenario.js'

// Sets the window title, writes the clipboard (OSC 52), turns the text red and hides what follows.
const HOSTILE = '\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[31m\x1b[8m'

function expectNoControlSequences(result: RunResult): void {
  for (const text of [result.stdout, result.stderr]) {
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/) // eslint-disable-line no-control-regex
    expect(text).not.toMatch(/\n\s+at /)
  }
}

describe('hostile values in the cluster', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      const cm = objectOf(s, 'ConfigMap', 'calico-config')
      const data = cm.data as Record<string, string>
      data.veth_mtu = `1440${HOSTILE}`
      data.cni_network_config = data.cni_network_config!.replace('"type": "calico-ipam"', `"type": "calico-ipam${JSON.stringify(HOSTILE).slice(1, -1)}"`)
      const ds = objectOf(s, 'DaemonSet', 'calico-node')
      const container = (ds.spec as {template: {spec: {containers: Array<{env: Array<{name: string; value?: string}>}>}}}).template.spec.containers[0]!
      const cidr = container.env.find((e) => e.name === 'CALICO_IPV6POOL_CIDR')
      if (cidr) cidr.value = `${cidr.value}${HOSTILE}`
    })
  })
  afterAll(() => sim.stop())

  it('doctor reports them, as text, without their escape sequences', async () => {
    const result = await runPlugin(['doctor', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('calico.cni-ipam')
    expectNoControlSequences(result)
  })

  it('ippool fix --dry-run refuses the CIDR, naming it printably', async () => {
    const result = await runPlugin(['ippool', 'fix', '--dry-run', '--kubeconfig', sim.kubeconfig])
    expect(result.code).not.toBe(0)
    expectNoControlSequences(result)
  })

  it('JSON keeps the values exactly, escaped as JSON escapes them', async () => {
    const result = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect(result.stdout).toContain('\\u001b]0;pwned')
    expectNoControlSequences(result)
  })
})

describe('CNI config that is not JSON', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      const cm = objectOf(s, 'ConfigMap', 'calico-config')
      ;(cm.data as Record<string, string>).cni_network_config = '{"plugins": [\x1b[2J not json'
    })
  })
  afterAll(() => sim.stop())

  it('is that check\'s error, in one line, and the other checks still run', async () => {
    const result = await runPlugin(['doctor', '--kubeconfig', sim.kubeconfig])
    expect(result.stdout).toMatch(/calico\.cni-ipam/)
    expect(result.stdout).toMatch(/calico\.ippool\.cidr-match/)
    expectNoControlSequences(result)
  })
})

describe('an exec whose stream drops', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
    sim.server.sim.faults = [{verb: 'exec', resource: 'pods', drop: true, hits: 0}]
  })
  afterAll(() => sim.stop())

  it('is that check\'s error, not a pass and not a crash; the other checks run', async () => {
    const result = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    const checks = (JSON.parse(result.stdout) as {checks: Array<{id: string; status: string; message: string}>}).checks
    const forwarding = checks.find((c) => c.id === 'node.ipv6-forwarding')!
    expect(forwarding.status).toBe('error')
    expect(forwarding.message).toMatch(/ended without an exit status/)
    expect(checks.filter((c) => c.status === 'pass').length).toBeGreaterThan(10)
    expect(sim.server.sim.faults[0]!.hits).toBeGreaterThan(0)
    expectNoControlSequences(result)
  })
})

describe('oversized data', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      s.objects!.push({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'huge', namespace: 'kube-system'}, data: {blob: 'x'.repeat(10 * 1024 * 1024)}})
      const hello = objectOf(s, 'Pod', 'hello-k8s')
      hello.metadata.labels = {...hello.metadata.labels, note: `${'\x1b[2J'}${'y'.repeat(100_000)}`}
      hello.metadata.annotations = {'note': `\x1b]0;pwned\x07${'z'.repeat(100_000)}`}
    })
  })
  afterAll(() => sim.stop())

  it('a 10 MB ConfigMap next to Calico\'s and a 100,000-character label do not stop doctor or pod-ips', async () => {
    const doctor = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect(doctor.code).toBe(1)
    const checks = (JSON.parse(doctor.stdout) as {checks: Array<{id: string; status: string}>}).checks
    expect(checks.filter((c) => c.status === 'error')).toEqual([])
    const pods = await runPlugin(['pod-ips', '-A', '-o', 'wide', '--kubeconfig', sim.kubeconfig])
    expect(pods.code).toBe(0)
    expect(pods.stdout).toMatch(/hello-k8s/)
    expectNoControlSequences(pods)
  })
})

describe('addresses that are not addresses', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      const hello = objectOf(s, 'Pod', 'hello-k8s')
      // Shell metacharacters, a bogus address and an IPv4-mapped IPv6 address, as a broken CNI might report them.
      hello.status.podIPs = [{ip: '3.2.184.119;reboot'}, {ip: '$(touch /tmp/pwned)'}, {ip: '::ffff:3.2.184.120'}, {ip: '-c9999'}]
    })
  })
  afterAll(() => sim.stop())

  it('pod-ips and doctor read them as the text they are, without crashing', async () => {
    const pods = await runPlugin(['pod-ips', '-n', 'default', 'hello-k8s', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect(pods.code).toBe(0)
    expect(pods.stderr).toBe('')
    const doctor = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect([0, 1]).toContain(doctor.code)
    expectNoControlSequences(doctor)
  })

  it('svc-check never hands them to ping or curl', async () => {
    const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--kubeconfig', sim.kubeconfig])
    expect([0, 1]).toContain(result.code)
    const execs = sim.server.sim.requests.filter((r) => r.verb === 'exec').map((r) => decodeURIComponent(r.path))
    expect(execs.length).toBeGreaterThan(0)
    for (const exec of execs) expect(exec).not.toMatch(/reboot|pwned|-c9999|::ffff/)
  })
})
