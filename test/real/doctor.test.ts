// doctor on a real control plane: every check against the real API server (its version, its dry-run
// allocator, RBAC, the nodes' podCIDRs from the real node IPAM controller, exec through the kubelet endpoint).
import type {RealCluster} from '../control-plane/cluster.js'
import {runPlugin} from '../sim/harness.js'
import {START_TIMEOUT, startReal, type DoctorJson} from './harness.js'

async function doctor(cluster: RealCluster): Promise<{code: number; statuses: Record<string, string>; report: DoctorJson}> {
  const result = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
  const report = JSON.parse(result.stdout) as DoctorJson
  return {code: result.code, report, statuses: Object.fromEntries(report.checks.map((c) => [c.id, c.status]))}
}

describe('doctor on a real control plane: a healthy dual-stack cluster', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack')
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('passes every check, reading the real server\'s version and allocating through its dry run', async () => {
    const since = cluster.writes().length
    const {code, statuses, report} = await doctor(cluster)
    // Read-only, by the audit log: its one write is the dry-run Service.
    const writes = cluster.writes().slice(since)
    expect(writes.map((e) => `${e.verb} ${e.objectRef?.resource} ${e.requestURI.includes('dryRun=All') ? 'dry-run' : 'REAL'}`)).toEqual(['create services dry-run'])
    expect(Object.entries(statuses).filter(([, status]) => status !== 'pass')).toEqual([])
    expect(code).toBe(0)
    expect(report.checks.find((c) => c.id === 'k8s.version')!.message).toContain(`v${cluster.version}`)
    expect(report.checks.find((c) => c.id === 'apiserver.service-cidr')!.message).toMatch(/10\.96\.\S+ and fd00:10:96:/)
    // The podCIDRs come from the real node IPAM controller (--allocate-node-cidrs), one of each family per node.
    expect(report.checks.find((c) => c.id === 'controller.node-cidrs')!.message).toBe('all 3 nodes have an IPv4 and an IPv6 podCIDR')
    // The forwarding sysctl was read by exec through the real API server and the kubelet endpoint.
    expect(report.checks.find((c) => c.id === 'node.ipv6-forwarding')!.message).toBe('net.ipv6.conf.all.forwarding = 1 on all 3 nodes')
  })
})

describe('doctor on a real control plane: the runbook\'s broken cluster', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18')
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('fails exactly what is broken: node-2\'s forwarding, the stale IPv6 pool and its NAT, the single-stack pods', async () => {
    const {code, statuses, report} = await doctor(cluster)
    expect(code).toBe(1)
    expect(Object.entries(statuses).filter(([, status]) => status === 'fail').map(([id]) => id).sort()).toEqual(
      ['calico.ippool.cidr-match', 'calico.ippool.nat-outgoing', 'node.ipv6-forwarding', 'workloads.pod-ips'])
    expect(Object.values(statuses)).not.toContain('error')
    expect(report.checks.find((c) => c.id === 'node.ipv6-forwarding')!.message).toMatch(/is 0 on 1 of 3 nodes: node-2/)
    expect(report.checks.find((c) => c.id === 'workloads.pod-ips')!.message).toMatch(/default\/legacy-web-7d4b9c-x2x9k, kube-system\/coredns-ffd79f768-v9blv, kube-system\/metrics-server-6987c87c8b-rxpjx/)
  })
})
