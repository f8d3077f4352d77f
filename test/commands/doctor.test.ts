// doctor against simulated clusters: the shipped scenarios, one mutation of the healthy cluster per failure
// mode (each asserting the status of every check), read-only proof, RBAC, selection and output formats.
import {spawn} from 'node:child_process'

import {objectOf, viaOperator, type Scenario} from '../sim/scenario.js'
import {PLUGIN, runKubectl, runPlugin, startSim, testEnv, type RunningSim} from '../sim/harness.js'

const ALL_IDS = [
  'repairs.unfinished', 'k8s.version', 'k8s.feature-gate', 'apiserver.service-cidr', 'controller.node-cidrs', 'node.addresses', 'node.host-ips', 'node.ipv6-forwarding',
  'calico.installed', 'calico.cni-ipam', 'calico.node-env', 'calico.pods-ready', 'calico.ippool.ipv4', 'calico.ippool.ipv6',
  'calico.ippool.cidr-match', 'calico.ippool.nat-outgoing', 'calico.ippool.block-size', 'calico.ipam', 'kube-proxy.mode', 'kube-proxy.cluster-cidr',
  'workloads.pod-ips', 'services.dual-stack', 'dns.service',
]

interface DoctorJson {
  cluster: {server: string; context: string; version: string; distribution: string; calico: string | null}
  checks: Array<{id: string; title: string; status: string; message: string; remediation?: string; details?: unknown}>
  summary: Record<string, number>
}

async function doctor(sim: RunningSim, ...args: string[]): Promise<{code: number; report: DoctorJson; stderr: string}> {
  const result = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', sim.kubeconfig, ...args])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as DoctorJson, stderr: result.stderr}
}

function statuses(report: DoctorJson): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c.status]))
}

function allPassExcept(overrides: Record<string, string>): Record<string, string> {
  return Object.fromEntries(ALL_IDS.map((id) => [id, overrides[id] ?? 'pass']))
}

const PROXY_CONF = (cidr: string) => `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: ${cidr}\nmode: ipvs\n`

function calicoEnv(s: Scenario): Array<{name: string; value?: string}> {
  return objectOf(s, 'DaemonSet', 'calico-node').spec.template.spec.containers[0].env
}

function setEnv(s: Scenario, name: string, value: string | undefined): void {
  const env = calicoEnv(s)
  const at = env.findIndex((e) => e.name === name)
  if (at >= 0) env.splice(at, 1)
  if (value !== undefined) env.push({name, value})
}

describe('doctor on the runbook RKE 1.18 cluster', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18')
  })
  afterAll(() => sim.stop())

  it('fails exactly on the stale pool CIDR, NAT outgoing, the node without forwarding and the single-stack pods', async () => {
    const {code, report} = await doctor(sim)
    expect(code).toBe(1)
    expect(statuses(report)).toEqual(allPassExcept({
      'k8s.version': 'warn', 'node.ipv6-forwarding': 'fail', 'calico.ippool.cidr-match': 'fail', 'calico.ippool.nat-outgoing': 'fail',
      'workloads.pod-ips': 'fail', 'kube-proxy.mode': 'skip', 'kube-proxy.cluster-cidr': 'skip', 'dns.service': 'skip',
      // 1.18: no status.hostIPs, and a Service has one family (the alpha ipFamily field).
      'node.host-ips': 'skip', 'services.dual-stack': 'skip',
    }))
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]))
    expect(byId['node.ipv6-forwarding']!.message).toBe('net.ipv6.conf.all.forwarding is 0 on 1 of 3 nodes: node-2')
    expect(byId['node.ipv6-forwarding']!.remediation).toContain('ros config merge -i fwdipv6.yml')
    expect(byId['calico.ippool.cidr-match']!.message).toContain('default-ipv6-ippool has 2001:0:0:1::/104 but CALICO_IPV6POOL_CIDR is 2001:0:0:2::/104')
    expect(byId['calico.ippool.cidr-match']!.remediation).toContain('kubectl dualstack ippool fix')
    expect(byId['workloads.pod-ips']!.message).toContain('3 Running pod(s) have one family')
    expect(byId['workloads.pod-ips']!.remediation).toContain('kubectl dualstack pods recreate --single-stack -A')
    expect(byId['kube-proxy.mode']!.message).toContain('kubectl dualstack lint')
    expect(report.cluster).toMatchObject({context: 'sim', version: 'v1.18.20', distribution: 'rke', calico: 'v3.13.4'})
    expect(report.summary).toEqual({pass: 13, warn: 1, fail: 4, skip: 5, error: 0})
  })

  it('is read-only: the only writes are dry-runs, and each resource is listed once', async () => {
    const before = sim.server.sim.requests.length
    await doctor(sim)
    const requests = sim.server.sim.requests.slice(before)
    const writes = requests.filter((r) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(r.verb))
    expect(writes.length).toBeGreaterThan(0)
    expect(writes.every((r) => r.dryRun && r.resource === 'services')).toBe(true)
    const lists = requests.filter((r) => r.verb === 'list').map((r) => `${r.resource} ${r.namespace ?? '*'}`)
    // calico-system's ConfigMaps only where that namespace exists (an operator install's): not here.
    expect(lists.sort()).toEqual(['configmaps kube-system', 'daemonsets *', 'ipamblocks *', 'ippools *', 'nodes *', 'pods *', 'services *'])
    expect(requests.filter((r) => r.verb === 'exec')).toHaveLength(3)
  })

  it('the table groups checks by area, with fixes under failures and a summary', async () => {
    const result = await runPlugin(['doctor', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^Cluster: context "sim" at https:\/\/127\.0\.0\.1:\d+, Kubernetes v1\.18\.20 \(rke\), Calico v3\.13\.4\n/)
    expect(result.stdout).toMatch(/\nNodes\n {2}✔ pass {2}node\.addresses +all 3 nodes/)
    expect(result.stdout).toMatch(/✖ fail {2}node\.ipv6-forwarding +net\.ipv6\.conf\.all\.forwarding is 0 on 1 of 3 nodes: node-2\n +fix: on each listed node: sysctl -w net\.ipv6\.conf\.all\.forwarding=1/)
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('13 passed, 1 warned, 4 failed, 5 skipped, 0 errored')
  })

  it('--only and --skip select checks by id or prefix; --strict makes warnings fail', async () => {
    const only = await doctor(sim, '--only', 'calico.ippool,k8s.version')
    expect(report(only).map((c) => c.id)).toEqual(['k8s.version', 'calico.ippool.ipv4', 'calico.ippool.ipv6', 'calico.ippool.cidr-match', 'calico.ippool.nat-outgoing', 'calico.ippool.block-size'])
    const warnOnly = await doctor(sim, '--only', 'k8s.version')
    expect(warnOnly.code).toBe(0)
    expect((await doctor(sim, '--only', 'k8s.version', '--strict')).code).toBe(1)
    const skipped = await doctor(sim, '--skip', 'node,calico,workloads')
    expect(skipped.code).toBe(0)
    expect(report(skipped).some((c) => c.id.startsWith('calico'))).toBe(false)
    const unknown = await runPlugin(['doctor', '--only', 'calico.nope', '--kubeconfig', sim.kubeconfig])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^error: unknown check id "calico\.nope"; known ids: repairs\.unfinished, k8s\.version, /)
    // A selection that leaves nothing is bad usage, not a pass.
    const nothing = await runPlugin(['doctor', '--only', 'k8s.version', '--skip', 'k8s', '--kubeconfig', sim.kubeconfig])
    expect({code: nothing.code, stderr: nothing.stderr}).toEqual({code: 2, stderr: 'error: --only k8s.version and --skip k8s leave no check to run; skip fewer checks than --only selects\n'})
  })

  it('-o junit gives one testcase per check', async () => {
    const result = await runPlugin(['doctor', '-o', 'junit', '--kubeconfig', sim.kubeconfig])
    expect(result.stdout).toContain('<testsuite name="kubectl-dualstack doctor" tests="23" failures="4" errors="0" skipped="5">')
    expect(result.stdout.match(/<testcase /g)).toHaveLength(23)
    expect(result.stdout).toMatch(/<testcase classname="doctor.Nodes" name="node.ipv6-forwarding">\n\s+<failure message="fail: net.ipv6.conf.all.forwarding is 0 on 1 of 3 nodes: node-2">/)
  })

  it('a read-only user gets error for what it may not do, and results for the rest', async () => {
    const kc = sim.writeKubeconfig('kc-viewer', {user: 'viewer'})
    const result = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', kc])
    const got = statuses(JSON.parse(result.stdout))
    expect(got['apiserver.service-cidr']).toBe('error')
    expect(got['node.ipv6-forwarding']).toBe('error')
    expect(got['calico.ippool.cidr-match']).toBe('fail')
    const checks = JSON.parse(result.stdout).checks as Array<{id: string; message: string}>
    expect(checks.find((c) => c.id === 'apiserver.service-cidr')!.message).toContain('User "viewer" cannot create resource "services"')
    expect(checks.find((c) => c.id === 'node.ipv6-forwarding')!.message).toMatch(/^could not read forwarding on 3 of 3 nodes \(node-1, node-2, node-3\): forbidden: cannot create resource "pods\/exec" in API group "" in the namespace "kube-system"/)
    expect(result.code).toBe(1)
  })
})

function report(r: {report: DoctorJson}) {
  return r.report.checks
}

type Mutation = (s: Scenario) => void

// One failure mode each, made from the healthy cluster; the expected statuses of the checks that change.
const FAILURE_MODES: Array<[string, Mutation, Record<string, string>]> = [
  ['an IPv4-only service range', (s) => {
    s.serviceCIDRs = [s.serviceCIDRs[0]!]
    objectOf(s, 'Service', 'svc-hellok8s').spec = {selector: {app: 'hello-k8s'}, ports: [{port: 80, targetPort: 8080}]}
    objectOf(s, 'Service', 'kube-dns').spec.ipFamilyPolicy = 'SingleStack'
  }, {'apiserver.service-cidr': 'fail', 'dns.service': 'warn', 'services.dual-stack': 'skip'}],
  ['a node without an IPv6 address', (s) => {
    s.nodes[2]!.addresses = [s.nodes[2]!.addresses[0]!]
  }, {'node.addresses': 'fail'}],
  // Calico IPAM as calicoctl ipam check judges it; an IPv6 tunnel address is in use, not leaked (calicoctl's check collects only IPv4 ones).
  ['an IPv6 VXLAN tunnel address in an IPAM block', (s) => {
    s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', metadata: {name: 'fd00-10-244-ff---122'},
      spec: {cidr: 'fd00:10:244:ff::/122', affinity: 'host:worker-1', allocations: [null, 0], unallocated: [], attributes: [{handle_id: 'vxlan-v6-tunnel-addr-worker-1', secondary: {node: 'worker-1', type: 'vxlanV6TunnelAddress'}}]}})
  }, {}],
  ['a leaked allocation in an IPAM block of a deleted pool', (s) => {
    s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', metadata: {name: 'fd00-99---122'},
      spec: {cidr: 'fd00:99::/122', affinity: 'host:worker-1', allocations: [null, 0], unallocated: [], attributes: [{handle_id: 'k8s-pod-network.1', secondary: {namespace: 'default', pod: 'gone-1', node: 'worker-1'}}]}})
  }, {'calico.ipam': 'warn'}],
  ['a pod whose address no pool covers, and two pods with one address', (s) => {
    const running = (name: string, ips: string[]) => ({apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace: 'default'}, spec: {nodeName: 'worker-1', containers: [{name: 'c', image: 'nginx:1.27'}]},
      status: {phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ip})), hostIPs: [{ip: '10.0.0.11'}, {ip: 'fd00:10::11'}], conditions: [{type: 'Ready', status: 'True'}]}})
    s.objects!.push(running('left-behind', ['10.244.1.200', 'fd00:99::7']), running('twin-a', ['10.244.1.201', 'fd00:10:244:1::201']), running('twin-b', ['10.244.1.202', 'fd00:10:244:1::201']))
  }, {'calico.ipam': 'fail'}],
  ['a Service left SingleStack', (s) => {
    objectOf(s, 'Service', 'svc-hellok8s').spec = {selector: {app: 'hello-k8s'}, ports: [{port: 80, targetPort: 8080}]}
  }, {'services.dual-stack': 'warn'}],
  ['a node without IPv6 forwarding', (s) => {
    s.nodes[1]!.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
  }, {'node.ipv6-forwarding': 'fail'}],
  ['nodes without IPv6 podCIDRs and no Calico IPAM', (s) => {
    s.calico = false
    s.objects = s.objects!.filter((o) => !['calico-node', 'calico-kube-controllers', 'calico-config'].includes(o.metadata.name))
    s.nodes[0]!.podCIDRs = ['10.244.0.0/24']
  }, {
    // IPv6 forwarding is still read, through kube-proxy's hostNetwork pods.
    'controller.node-cidrs': 'fail', 'calico.installed': 'fail', 'calico.cni-ipam': 'skip', 'calico.node-env': 'skip',
    'calico.pods-ready': 'skip', 'calico.ippool.ipv4': 'skip', 'calico.ippool.ipv6': 'skip', 'calico.ippool.cidr-match': 'skip',
    'calico.ippool.nat-outgoing': 'skip', 'calico.ippool.block-size': 'skip', 'calico.ipam': 'skip', 'workloads.pod-ips': 'fail',
  }],
  ['a CNI config without assign_ipv6', (s) => {
    const cm = objectOf(s, 'ConfigMap', 'calico-config')
    cm.data = {...(cm.data as Record<string, string>), cni_network_config: (cm.data as Record<string, string>).cni_network_config!.replace('"assign_ipv6": "true"', '"assign_ipv6": "false"')}
  }, {'calico.cni-ipam': 'fail', 'workloads.pod-ips': 'fail'}],
  // Unset is Felix's default (true): the same default lint applies.
  ['calico-node with FELIX_IPV6SUPPORT not set', (s) => setEnv(s, 'FELIX_IPV6SUPPORT', undefined), {}],
  ['calico-node without FELIX_IPV6SUPPORT', (s) => setEnv(s, 'FELIX_IPV6SUPPORT', 'false'), {
    // No IPv6 pool while the CNI config asks for IPv6: new pods cannot start (Pending), so none is single-stack.
    'calico.node-env': 'fail', 'calico.ippool.ipv6': 'fail', 'calico.ippool.cidr-match': 'skip', 'calico.ippool.nat-outgoing': 'skip',
  }],
  // The pool is unique local (fd00:10:244::/56): without NAT outgoing its pods cannot reach outside over IPv6 at all.
  ['calico-node without NAT outgoing for IPv6', (s) => setEnv(s, 'CALICO_IPV6POOL_NAT_OUTGOING', undefined), {
    'calico.node-env': 'warn', 'calico.ippool.nat-outgoing': 'fail',
  }],
  ['a calico-node pod that is not Ready', (s) => {
    s.nodes[2]!.ready = false
  }, {'calico.pods-ready': 'fail', 'node.ipv6-forwarding': 'error'}],
  ['an IPv6 pool with another CIDR than calico-node asks for', (s) => {
    s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool'},
      spec: {cidr: 'fd00:99::/56', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}})
    // kube-proxy's cluster CIDR (fd00:10:244::/56) does not hold the pool's pods either.
  }, {'calico.ippool.cidr-match': 'fail', 'kube-proxy.cluster-cidr': 'fail'}],
  ['an enabled IPv6 pool with another CIDR, and a disabled one with the configured CIDR', (s) => {
    s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool'},
      spec: {cidr: 'fd00:99::/56', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}})
    // A disabled pool gives pods no address: that it has the right CIDR does not make the pool pods get right.
    s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'old-ipv6'},
      spec: {cidr: 'fd00:10:244::/56', blockSize: 112, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()', disabled: true}})
  }, {'calico.ippool.cidr-match': 'fail', 'kube-proxy.cluster-cidr': 'fail'}],
  ['an IPv6 pool with an invalid block size and IPIP', (s) => {
    s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool'},
      spec: {cidr: 'fd00:10:244::/56', blockSize: 112, ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}})
  }, {'calico.ippool.block-size': 'fail'}],
  ['kube-proxy with one family in its cluster CIDR', (s) => {
    const cm = objectOf(s, 'ConfigMap', 'kube-proxy')
    cm.data = {'config.conf': 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: 10.244.0.0/16\nmode: iptables\n'}
  }, {'kube-proxy.cluster-cidr': 'fail'}],
  ['kube-proxy with a space after the comma of its cluster CIDR', (s) => {
    objectOf(s, 'ConfigMap', 'kube-proxy').data = {'config.conf': PROXY_CONF('"10.244.0.0/16, fd00:10:244::/56"')}
  }, {'kube-proxy.cluster-cidr': 'fail'}],
  ['kube-proxy with an IPv6 cluster CIDR outside every Calico pool', (s) => {
    objectOf(s, 'ConfigMap', 'kube-proxy').data = {'config.conf': PROXY_CONF('10.244.0.0/16,fd00:99::/56')}
  }, {'kube-proxy.cluster-cidr': 'fail'}],
  ['the removed IPv6DualStack gate still set on a 1.31 controller-manager', (s) => {
    objectOf(s, 'Pod', 'kube-controller-manager-cp-1').spec.containers[0].command.push('--feature-gates=IPv6DualStack=true')
  }, {'k8s.feature-gate': 'fail'}],
  ['an alpha-era cluster whose controller-manager lacks the gate', (s) => {
    s.kubernetes.version = 'v1.19.16'
    for (const n of s.nodes) n.kubeletFeatureGates = {IPv6DualStack: true}
  }, {'k8s.version': 'warn', 'k8s.feature-gate': 'fail', 'dns.service': 'warn', 'node.host-ips': 'skip', 'services.dual-stack': 'skip'}],
  ['a Kubernetes too old for dual-stack', (s) => {
    s.kubernetes.version = 'v1.15.12'
    for (const n of s.nodes) n.kubeletFeatureGates = {IPv6DualStack: true}
  }, {'k8s.version': 'fail', 'k8s.feature-gate': 'skip', 'dns.service': 'warn', 'node.host-ips': 'skip', 'services.dual-stack': 'skip'}],
  ['kube-proxy in iptables mode on 1.18', (s) => {
    s.kubernetes.version = 'v1.18.20'
    for (const n of s.nodes) n.kubeletFeatureGates = {IPv6DualStack: true}
    for (const name of ['kube-apiserver-cp-1', 'kube-controller-manager-cp-1']) objectOf(s, 'Pod', name).spec.containers[0].command.push('--feature-gates=IPv6DualStack=true')
    objectOf(s, 'ConfigMap', 'kube-proxy').data = {'config.conf': 'kind: KubeProxyConfiguration\nclusterCIDR: 10.244.0.0/16,fd00:10:244::/56\nmode: iptables\nfeatureGates: {IPv6DualStack: true}\n'}
  }, {'k8s.version': 'warn', 'kube-proxy.mode': 'fail', 'dns.service': 'warn', 'node.host-ips': 'skip', 'services.dual-stack': 'skip'}],
  ['Calico from the Tigera operator, dual-stack', viaOperator([
    {cidr: '10.244.0.0/16', encapsulation: 'None', natOutgoing: 'Enabled'}, {cidr: 'fd00:10:244::/56', encapsulation: 'None', natOutgoing: 'Enabled'},
  ]), {'calico.node-env': 'skip'}],
  ['Calico from the Tigera operator without an IPv6 pool', viaOperator([{cidr: '10.244.0.0/16', encapsulation: 'None', natOutgoing: 'Enabled'}]), {
    'calico.node-env': 'skip', 'calico.cni-ipam': 'fail', 'calico.ippool.ipv6': 'fail', 'calico.ippool.cidr-match': 'skip', 'calico.ippool.nat-outgoing': 'skip', 'workloads.pod-ips': 'fail',
  }],
  ['execs slower than --exec-timeout', (s) => {
    s.execLatencyMs = 5000
  }, {'node.ipv6-forwarding': 'error'}],
]

describe.each(FAILURE_MODES)('doctor on a healthy cluster with %s', (_name, mutate, expected) => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', mutate)
  })
  afterAll(() => sim.stop())

  it('reports exactly the expected statuses', async () => {
    const {code, report: r} = await doctor(sim, '--exec-timeout', '2s')
    expect(statuses(r)).toEqual(allPassExcept(expected))
    expect(code).toBe(Object.values(expected).some((s) => s === 'fail' || s === 'error') ? 1 : 0)
  })
})

describe('doctor on the shipped clusters', () => {
  it('passes everything on the healthy cluster, exit 0', async () => {
    const sim = await startSim('healthy-dual-stack')
    try {
      const {code, report: r} = await doctor(sim)
      expect(statuses(r)).toEqual(allPassExcept({}))
      expect(code).toBe(0)
      expect(r.cluster).toMatchObject({version: 'v1.31.4', distribution: 'kubeadm', calico: 'v3.28.2'})
    } finally {
      await sim.stop()
    }
  })

  it('IPv4-only: fails what dual-stack still lacks', async () => {
    const sim = await startSim('ipv4-only')
    try {
      const {code, report: r} = await doctor(sim)
      expect(statuses(r)).toEqual(allPassExcept({
        'apiserver.service-cidr': 'fail', 'node.addresses': 'fail', 'calico.cni-ipam': 'fail', 'calico.node-env': 'fail', 'calico.ippool.ipv6': 'fail',
        'calico.ippool.cidr-match': 'skip', 'calico.ippool.nat-outgoing': 'skip', 'kube-proxy.mode': 'skip', 'kube-proxy.cluster-cidr': 'skip',
        'workloads.pod-ips': 'fail', 'dns.service': 'skip', 'node.host-ips': 'skip', 'services.dual-stack': 'skip',
      }))
      expect(r.checks.find((c) => c.id === 'apiserver.service-cidr')!.message).toContain('this cluster is not configured for dual-stack services')
      expect(code).toBe(1)
    } finally {
      await sim.stop()
    }
  })

  it('without Calico: says so once and skips the Calico details; k3s is recognised', async () => {
    const sim = await startSim('no-calico')
    try {
      const {report: r} = await doctor(sim)
      const calicoDetails = ALL_IDS.filter((id) => id.startsWith('calico.') && id !== 'calico.installed')
      expect(statuses(r)).toEqual(allPassExcept({
        'calico.installed': 'fail', ...Object.fromEntries(calicoDetails.map((id) => [id, 'skip'])),
        'node.ipv6-forwarding': 'skip', 'kube-proxy.mode': 'skip', 'kube-proxy.cluster-cidr': 'skip', 'dns.service': 'skip',
      }))
      expect(r.cluster).toMatchObject({distribution: 'k3s', calico: null})
    } finally {
      await sim.stop()
    }
  })

  it('cannot reach the cluster: exit 3', async () => {
    const sim = await startSim('healthy-dual-stack')
    const kc = sim.kubeconfig
    await sim.server.stop()
    const result = await runPlugin(['doctor', '--kubeconfig', kc])
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/^error: cannot connect to the API server: connection refused/)
    await sim.stop()
  })
})

describe("doctor on kube-proxy's cluster CIDR", () => {
  const check = (r: DoctorJson) => r.checks.find((c) => c.id === 'kube-proxy.cluster-cidr')!
  const RESTART = 'kubectl -n kube-system rollout restart ds kube-proxy'
  const KUBEADM = 'kubeadm rewrites this ConfigMap from ClusterConfiguration networking.podSubnet on upgrade (kubeadm upgrade apply): set podSubnet to "10.244.0.0/16,fd00:10:244::/56" in ConfigMap kube-system/kubeadm-config too'

  it('a space after the comma: says what kube-proxy does with it, and gives the exact value, the restart and the kubeadm note', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      objectOf(s, 'ConfigMap', 'kube-proxy').data = {'config.conf': PROXY_CONF('"10.244.0.0/16, fd00:10:244::/56"')}
    })
    try {
      const result = check((await doctor(sim, '--only', 'kube-proxy')).report)
      expect(result).toMatchObject({status: 'fail',
        message: 'clusterCIDR "10.244.0.0/16, fd00:10:244::/56" (ConfigMap kube-system/kube-proxy) has a space around a comma: kube-proxy splits it on "," without trimming and refuses " fd00:10:244::/56" at its next start'})
      expect(result.remediation).toBe(`set clusterCIDR: "10.244.0.0/16,fd00:10:244::/56" in ConfigMap kube-system/kube-proxy (config.conf), then ${RESTART}; ${KUBEADM}`)
    } finally {
      await sim.stop()
    }
  })

  it('an IPv6 CIDR outside the Calico pool: names the pool, and the value comes from the pools doctor read', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      objectOf(s, 'ConfigMap', 'kube-proxy').data = {'config.conf': PROXY_CONF('10.244.0.0/16,fd00:99::/56')}
    })
    try {
      const result = check((await doctor(sim, '--only', 'kube-proxy')).report)
      expect(result.status).toBe('fail')
      expect(result.message).toBe('clusterCIDR 10.244.0.0/16,fd00:99::/56 (ConfigMap kube-system/kube-proxy): its IPv6 CIDR fd00:99::/56 does not contain Calico pool default-ipv6-ippool (fd00:10:244::/56): kube-proxy takes traffic from those pods for outside traffic')
      expect(result.remediation).toBe(`set clusterCIDR: "10.244.0.0/16,fd00:10:244::/56" in ConfigMap kube-system/kube-proxy (config.conf), then ${RESTART}; ${KUBEADM}`)
      expect(result.remediation).not.toContain('<')
    } finally {
      await sim.stop()
    }
  })

  it('fixed in the ConfigMap but kube-proxy not restarted: warns until the pods run it, then passes', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      objectOf(s, 'ConfigMap', 'kube-proxy').data = {'config.conf': PROXY_CONF('"10.244.0.0/16, fd00:10:244::/56"')}
    })
    const kubectl = (...args: string[]) => runKubectl(['--kubeconfig', sim.kubeconfig, '-n', 'kube-system', ...args])
    try {
      expect(check((await doctor(sim, '--only', 'kube-proxy')).report).status).toBe('fail')
      // The change lands in a later second than the pods started (both are second-precise, as in Kubernetes).
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const fixed = await kubectl('patch', 'configmap', 'kube-proxy', '--type', 'merge', '-p', JSON.stringify({data: {'config.conf': PROXY_CONF('10.244.0.0/16,fd00:10:244::/56')}}))
      expect(fixed).toMatchObject({code: 0})
      const stale = await doctor(sim, '--only', 'kube-proxy')
      expect(check(stale.report)).toMatchObject({status: 'warn',
        message: expect.stringMatching(/^clusterCIDR 10\.244\.0\.0\/16,fd00:10:244::\/56 \(ConfigMap kube-system\/kube-proxy\), but 3 of 3 kube-proxy pods started before the ConfigMap last changed \(\S+Z, kubectl-patch\): they still run the clusterCIDR they started with \(kube-proxy-\w+/)})
      expect(check(stale.report).remediation).toBe(RESTART)
      expect(stale.code).toBe(0)
      expect(await doctor(sim, '--only', 'kube-proxy', '--strict')).toMatchObject({code: 1})
      expect(await kubectl('rollout', 'restart', 'ds', 'kube-proxy')).toMatchObject({code: 0})
      expect(await kubectl('rollout', 'status', 'ds', 'kube-proxy', '--timeout', '30s')).toMatchObject({code: 0})
      expect(check((await doctor(sim, '--only', 'kube-proxy')).report)).toMatchObject({status: 'pass', message: 'clusterCIDR 10.244.0.0/16,fd00:10:244::/56 (ConfigMap kube-system/kube-proxy) holds the Calico pools of both families, and every kube-proxy pod started after it last changed'})
    } finally {
      await sim.stop()
    }
  })
})

describe('doctor on a 1.30 cluster it cannot place (distribution unknown, control plane outside Kubernetes)', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', (s) => {
      s.kubernetes.version = 'v1.30.14'
      s.objects = s.objects!.filter((o) => !['kube-apiserver-cp-1', 'kube-controller-manager-cp-1', 'kubeadm-config'].includes(o.metadata.name ?? ''))
      s.nodes.find((n) => n.name === 'worker-2')!.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
    })
  })
  afterAll(() => sim.stop())

  it('the forwarding fix leads with the generic sysctl fix, with no other distribution\'s advice', async () => {
    const {report} = await doctor(sim, '--only', 'node.ipv6-forwarding')
    expect(report.cluster.distribution).toBe('unknown')
    const remediation = report.checks[0]!.remediation!
    expect(remediation.split('\n')).toEqual([
      'on each listed node: sysctl -w net.ipv6.conf.all.forwarding=1   (takes effect now, lost on reboot)',
      "to keep it: echo 'net.ipv6.conf.all.forwarding = 1' | sudo tee /etc/sysctl.d/99-ipv6-forwarding.conf && sudo sysctl --system",
    ])
    expect(remediation).not.toMatch(/RancherOS|cloud-config|ros config/)
  })

  it('k8s.feature-gate says what it read and what it found', async () => {
    const {report} = await doctor(sim, '--only', 'k8s.feature-gate')
    const check = report.checks[0]!
    expect(check.status).toBe('pass')
    expect(check.message).toMatch(/^v1\.30\.14 removed the IPv6DualStack gate \(dual-stack is always on\): read the flags of kube-proxy \(3 pods: kube-proxy-\w+, kube-proxy-\w+, kube-proxy-\w+\) and kube-proxy's ConfigMap kube-proxy: the gate is set in none of them, as 1\.30 requires\. /)
    expect(check.message).toContain('Kubelets were not asked: a 1.30 kubelet refuses to start with the removed gate set, so a running one does not carry it.')
    expect(check.message).toContain('kube-apiserver and kube-controller-manager run outside Kubernetes here (not visible)')
  })
})

/** Starts `ippool fix` and kills it (SIGKILL) once `until` holds: the journal stays in the Lease, half-way. */
async function killFixWhen(sim: RunningSim, until: () => boolean): Promise<void> {
  const child = spawn(PLUGIN, ['ippool', 'fix', '--yes', '--kubeconfig', sim.kubeconfig, '--backup-dir', sim.dir], {env: testEnv()})
  const exited = new Promise((resolve) => child.on('exit', resolve))
  const deadline = Date.now() + 20_000
  while (!until()) {
    if (Date.now() > deadline) throw new Error('ippool fix never got there')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  child.kill('SIGKILL')
  await exited
}

const NAT_PATCH = /kubectl patch ippools/

describe('doctor after an ippool fix killed half-way', () => {
  let sim: RunningSim
  beforeAll(async () => {
    // The runbook's pool is held by pods: a migration. Killed when it sends the update that disables the old
    // pool, which is slow here: the new pool exists, the old one is still enabled.
    sim = await startSim('runbook-rke-1.18', (s) => {
      s.faults = [{verb: 'update', resource: 'ippools', latencyMs: 3000, times: 1}]
    })
    await killFixWhen(sim, () => sim.server.sim.requests.some((r) => r.verb === 'update' && r.resource === 'ippools'))
  })
  afterAll(() => sim.stop())

  it('fails repairs.unfinished with the run, how far it got, and the commands that finish or undo it', async () => {
    const {code, report: r} = await doctor(sim)
    expect(code).toBe(1)
    const check = r.checks.find((c) => c.id === 'repairs.unfinished')!
    expect(check.status).toBe('fail')
    expect(check.message).toMatch(/^a previous ippool fix \(migrate of default-ipv6-ippool, started \d{4}-.*\) stopped half-way: 2 of 5 steps done, next: disable IPPool default-ipv6-ippool/)
    expect(check.remediation).toContain('kubectl dualstack ippool fix --resume finishes it, kubectl dualstack ippool fix --rollback puts the original back')
    expect(check.details).toEqual({lease: 'Lease kube-system/kubectl-dualstack', command: 'ippool fix', pools: ['default-ipv6-ippool', 'default-ipv6-ippool-2001-0-0-2---104']})
    // The old pool is still enabled: its NAT outgoing is judged, and the fix is to finish the run, not to patch it.
    const nat = r.checks.find((c) => c.id === 'calico.ippool.nat-outgoing')!
    expect(nat.status).toBe('fail')
    expect(nat.message).toContain('natOutgoing is false on default-ipv6-ippool but')
    expect(nat.remediation).toMatch(/^an ippool fix changing default-ipv6-ippool stopped half-way \(see repairs.unfinished\): kubectl dualstack ippool fix --resume/)
    expect(nat.remediation).not.toMatch(NAT_PATCH)

    const table = await runPlugin(['doctor', '--only', 'repairs', '--kubeconfig', sim.kubeconfig])
    expect(table.stdout).toMatch(/\nRepairs\n {2}✖ fail {2}repairs\.unfinished {2}a previous ippool fix \(migrate of default-ipv6-ippool, .*\n +fix: kubectl dualstack ippool fix --resume finishes it/)
  })

  it('once the old pool is disabled, the pool checks judge the enabled pools and say which were left out', async () => {
    const c = sim.server.sim
    const type = c.type('crd.projectcalico.org/v1', 'IPPool')
    const old = c.store.get(type, undefined, 'default-ipv6-ippool')!
    c.store.write(type, {...old, spec: {...old.spec, disabled: true}})
    const {report: r} = await doctor(sim, '--only', 'calico.ippool')
    const byId = Object.fromEntries(r.checks.map((x) => [x.id, x]))
    const left = '(enabled pools judged; default-ipv6-ippool is disabled: pods get no address from it)'
    expect(byId['calico.ippool.nat-outgoing']).toMatchObject({status: 'pass', message: `natOutgoing true on default-ipv6-ippool-2001-0-0-2---104 ${left}`})
    expect(byId['calico.ippool.cidr-match']).toMatchObject({status: 'pass', message: `an enabled IPv6 pool has 2001:0:0:2::/104, as CALICO_IPV6POOL_CIDR asks ${left}`})
    expect(byId['calico.ippool.block-size']!.message).toBe(`default-ipv4-ippool /26, default-ipv6-ippool-2001-0-0-2---104 /122 ${left}`)
  })
})

describe('doctor and the repairs\' Lease', () => {
  it('a repair running now is a warning naming who holds the Lease; a user who may not read it gets a skip, not an error', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.users = [{name: 'admin', token: 'admin-token', admin: true},
        {name: 'no-leases', token: 'no-leases-token', rules: [{verbs: ['get', 'list', 'watch'], apiGroups: ['', 'apps', 'crd.projectcalico.org', 'operator.tigera.io'], resources: ['*']}]}]
    })
    try {
      const c = sim.server.sim
      const now = new Date().toISOString().replace('Z', '000Z')
      c.store.create(c.type('coordination.k8s.io/v1', 'Lease'), {apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: {name: 'kubectl-dualstack', namespace: 'kube-system'}, spec: {holderIdentity: 'alice@laptop (pid 1, ippool fix)', leaseDurationSeconds: 60, acquireTime: now, renewTime: now}})
      const held = await doctor(sim, '--only', 'repairs')
      expect(held.report.checks[0]).toMatchObject({status: 'warn', message: expect.stringMatching(/^a repair is running now: Lease kube-system\/kubectl-dualstack is held by alice@laptop \(pid 1, ippool fix\) until /)})
      const denied = await runPlugin(['doctor', '--only', 'repairs', '-o', 'json', '--kubeconfig', sim.writeKubeconfig('kc-no-leases', {user: 'no-leases'})])
      expect((JSON.parse(denied.stdout) as DoctorJson).checks[0]).toMatchObject({status: 'skip', message: expect.stringContaining('a repair running now, or one left half-done, is not seen')})
      expect(denied.code).toBe(0)
    } finally {
      await sim.stop()
    }
  })
})

describe('doctor on what a migration leaves behind: IPAM and Services', () => {
  it('calico.ipam names the address with two owners, the pod outside every pool and a leaked allocation, each with its fix; services.dual-stack groups by manager', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      const running = (name: string, ips: string[]) => ({apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace: 'default'}, spec: {nodeName: 'worker-1', containers: [{name: 'c', image: 'nginx:1.27'}]},
        status: {phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ip})), hostIPs: [{ip: '10.0.0.11'}, {ip: 'fd00:10::11'}], conditions: [{type: 'Ready', status: 'True'}]}})
      s.objects!.push(running('left-behind', ['10.244.1.200', 'fd00:99::7']), running('twin-a', ['10.244.1.201', 'fd00:10:244:1::201']), running('twin-b', ['10.244.1.202', 'fd00:10:244:1::201']))
      s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', metadata: {name: 'fd00-99---122'},
        spec: {cidr: 'fd00:99::/122', affinity: 'host:worker-1', allocations: [null, 0], unallocated: [], attributes: [{handle_id: 'k8s-pod-network.1', secondary: {namespace: 'default', pod: 'gone-1', node: 'worker-1'}}]}})
      objectOf(s, 'Service', 'svc-hellok8s').spec = {selector: {app: 'hello-k8s'}, ports: [{port: 80, targetPort: 8080}]}
      s.objects!.push({apiVersion: 'v1', kind: 'Service', metadata: {name: 'shop-api', namespace: 'default', annotations: {'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': 'default'}},
        spec: {selector: {app: 'shop'}, ports: [{port: 80}]}})
    })
    try {
      const {report: r} = await doctor(sim, '--only', 'calico.ipam,services.dual-stack')
      const [ipam, services] = r.checks
      expect(ipam!.status).toBe('fail')
      expect(ipam!.message).toMatch(/^1 address\(es\) with two owners: fd00:10:244:1::201: held by default\/twin-a and default\/twin-b; 1 pod address\(es\) in no IPPool .*: default\/left-behind \(fd00:99::7\); 1 address\(es\) allocated to pods that are gone \(leaked\): fd00:99::1 \(default\/gone-1, gone\); 1 IPAM block\(s\) of no IPPool \(a deleted pool's\): fd00:99::\/122 \(1 allocated\)$/)
      expect(ipam!.remediation).toContain('kubectl dualstack pods recreate --outside-pools -A')
      expect(ipam!.remediation).toContain('calicoctl ipam release --from-report report.json')
      expect(services!.status).toBe('warn')
      expect(services!.message).toMatch(/^2 of \d+ Service\(s\) are SingleStack \(one ClusterIP family\): default \[Helm release "shop" in default\]: shop-api; default: svc-hellok8s$/)
      expect(services!.remediation).toContain('kubectl dualstack services dual -A --dry-run')
      expect(services!.remediation).toContain(`kubectl -n NAMESPACE patch svc NAME -p '{"spec":{"ipFamilyPolicy":"PreferDualStack"}}'`)
      expect(services!.remediation).toContain('default [Helm release "shop" in default]: set ipFamilyPolicy: PreferDualStack where they are defined: change the Service in the chart\'s values')
    } finally {
      await sim.stop()
    }
  })
})

describe('doctor with a pool Argo CD manages', () => {
  it('the NAT outgoing fix is a change in Git, naming the application and the field, not a kubectl patch Argo CD would revert', async () => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      objectOf(s, 'IPPool', 'default-ipv6-ippool').metadata.annotations = {'argocd.argoproj.io/tracking-id': 'calico:crd.projectcalico.org/IPPool:/default-ipv6-ippool'}
    })
    try {
      const {report: r} = await doctor(sim, '--only', 'calico.ippool')
      const byId = Object.fromEntries(r.checks.map((x) => [x.id, x]))
      expect(byId['calico.ippool.nat-outgoing']!.remediation).toBe('default-ipv6-ippool is managed by Argo CD application "calico" (annotation argocd.argoproj.io/tracking-id), which would put a kubectl change back: ' +
        'in the IPPool default-ipv6-ippool manifest of Argo CD application "calico" (its source in Git) change spec.natOutgoing from false to true, then sync application "calico" (argocd app sync calico); a change made with kubectl is put back by Argo CD')
      expect(byId['calico.ippool.cidr-match']!.remediation).toContain('change spec.cidr from 2001:0:0:1::/104 to 2001:0:0:2::/104, then sync application "calico"')
    } finally {
      await sim.stop()
    }
  })
})

describe('doctor with a node whose forwarding cannot be read', () => {
  it('the table names it and why, next to the node with forwarding off', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.nodes[1]!.sysctls = {'net.ipv6.conf.all.forwarding': '0'}
      s.nodes[2]!.ready = false
    })
    try {
      const result = await runPlugin(['doctor', '--only', 'node.ipv6-forwarding', '--kubeconfig', sim.kubeconfig])
      const names = sim.server.sim.scenario.nodes.map((n) => n.name)
      expect(result.stdout).toContain(`✖ fail  node.ipv6-forwarding  net.ipv6.conf.all.forwarding is 0 on 1 of 3 nodes: ${names[1]}; could not read forwarding on 1 of 3 nodes (${names[2]}): no Running hostNetwork pod (calico-node) on the node to read it through`)
    } finally {
      await sim.stop()
    }
  })
})
