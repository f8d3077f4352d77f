// pods recreate on a cluster whose pods predate dual-stack: the CNI assigned IPv4 only, then both families.
import {runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import type {Scenario} from '../sim/scenario.js'
import type {Obj} from '../sim/store.js'

interface RecreateJson {
  groups: Array<{namespace: string; owner?: {kind: string; name: string}; pods: string[]; action: string; status: string; message?: string}>
  result: string
  message: string
  notes: string[]
}

/** IPv4-only CNI at first; a shop namespace with a Deployment, a bare pod, and a pod of a bare ReplicaSet behind a PDB. */
function beforeDualStack(s: Scenario): void {
  const cm = s.objects!.find((o) => o.metadata.name === 'calico-config')! as Obj & {data: Record<string, string>}
  cm.data.cni_network_config = cm.data.cni_network_config!.replace('"assign_ipv6": "true"', '"assign_ipv6": "false"')
  const template = {metadata: {labels: {app: 'web'}}, spec: {containers: [{name: 'web', image: 'nginx:1.27'}]}}
  s.objects!.push(
    {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'web', namespace: 'shop'}, spec: {replicas: 2, selector: {matchLabels: {app: 'web'}}, template}},
    {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'one-off', namespace: 'shop', labels: {app: 'one-off'}}, spec: {containers: [{name: 'c', image: 'busybox:1.36'}]}},
    {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'orphan-x1', namespace: 'shop', labels: {app: 'orphan'},
      ownerReferences: [{apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'orphan', uid: '00000000-0000-0000-0000-000000000001', controller: true}]},
    spec: {containers: [{name: 'c', image: 'busybox:1.36'}]}},
    {apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: {name: 'orphan', namespace: 'shop'}, spec: {minAvailable: 1, selector: {matchLabels: {app: 'orphan'}}}},
    {apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: {name: 'db', namespace: 'shop'}, spec: {replicas: 2, serviceName: 'db', selector: {matchLabels: {app: 'db'}},
      template: {metadata: {labels: {app: 'db', tier: 'backend'}}, spec: {containers: [{name: 'db', image: 'postgres:17'}]}}}},
    {apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {name: 'agent', namespace: 'shop'}, spec: {selector: {matchLabels: {app: 'agent'}},
      template: {metadata: {labels: {app: 'agent', tier: 'backend'}}, spec: {containers: [{name: 'agent', image: 'fluent-bit:3.2'}]}}}},
  )
}

function enableIpv6InCni(sim: RunningSim): void {
  const c = sim.server.sim
  const type = c.type('v1', 'ConfigMap')
  const cm = c.store.get(type, 'kube-system', 'calico-config')!
  c.store.write(type, {...cm, data: {...(cm as Obj & {data: Record<string, string>}).data,
    cni_network_config: (cm as Obj & {data: Record<string, string>}).data.cni_network_config!.replace('"assign_ipv6": "false"', '"assign_ipv6": "true"')}})
}

async function recreate(sim: RunningSim, ...args: string[]): Promise<{code: number; report: RecreateJson; stderr: string}> {
  const result = await runPlugin(['pods', 'recreate', '-o', 'json', '--kubeconfig', sim.kubeconfig, ...args])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as RecreateJson, stderr: result.stderr}
}

function podsOf(sim: RunningSim, namespace: string, prefix: string): Obj[] {
  return sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod'), namespace).filter((p) => p.metadata.name.startsWith(prefix))
}

describe('pods recreate --in-pool without Calico', () => {
  it('says Calico is not installed, not that the pool is missing', async () => {
    const sim = await startSim('no-calico')
    try {
      const result = await runPlugin(['pods', 'recreate', '--in-pool', 'default-ipv6-ippool', '-A', '--kubeconfig', sim.kubeconfig])
      expect(result.code).toBe(1)
      expect(result.stderr).toBe('error: Calico\'s CRDs are not installed (the API server does not serve crd.projectcalico.org/v1); install Calico 3.11 or later with Calico IPAM first (kubectl dualstack doctor --only calico.installed)\n')
    } finally {
      await sim.stop()
    }
  })
})

describe('pods recreate --single-stack', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', beforeDualStack)
    enableIpv6InCni(sim)
  })
  afterAll(() => sim.stop())

  it('--dry-run groups the pods by owner and changes nothing', async () => {
    const before = sim.server.sim.writes().length
    const {code, report} = await recreate(sim, '--single-stack', '-A', '--dry-run')
    expect(code).toBe(0)
    expect(report.result).toBe('planned')
    const shop = report.groups.filter((g) => g.namespace === 'shop').map((g) => [g.owner ? `${g.owner.kind}/${g.owner.name}` : '<bare>', g.action, g.pods.length])
    expect(shop).toEqual([['DaemonSet/agent', 'rollout-restart', 3], ['Deployment/web', 'rollout-restart', 2], ['ReplicaSet/orphan', 'evict', 1],
      ['StatefulSet/db', 'rollout-restart', 2], ['<bare>', 'list', 1]])
    expect(sim.server.sim.writes().length).toBe(before)
  })

  it('-n shop -l app=web: the Deployment is restarted and its new pods have both families', async () => {
    const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'app=web', '--yes')
    expect(code).toBe(0)
    expect(report).toMatchObject({result: 'recreated', message: '1 owner(s) recreated'})
    const web = podsOf(sim, 'shop', 'web-')
    expect(web).toHaveLength(2)
    for (const pod of web) expect(pod.status.podIPs).toHaveLength(2)
    expect(sim.server.sim.requests.some((r) => r.verb === 'patch' && r.resource === 'deployments' && r.name === 'web')).toBe(true)
  })

  it('a StatefulSet and a DaemonSet are rolled and waited for like kubectl rollout status', async () => {
    const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'tier=backend', '--yes')
    expect(code).toBe(0)
    expect(report.groups.map((g) => [`${g.owner!.kind}/${g.owner!.name}`, g.status])).toEqual([['DaemonSet/agent', 'restarted'], ['StatefulSet/db', 'restarted']])
    expect(podsOf(sim, 'shop', 'db-').map((p) => p.metadata.name).sort()).toEqual(['db-0', 'db-1'])
    for (const pod of [...podsOf(sim, 'shop', 'db-'), ...podsOf(sim, 'shop', 'agent-')]) expect(pod.status.podIPs).toHaveLength(2)
  })

  it('a PodDisruptionBudget that allows no disruption blocks the eviction: reported, not forced; bare pods listed; exit 1', async () => {
    const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '--yes')
    expect(code).toBe(1)
    expect(report.result).toBe('incomplete')
    const orphan = report.groups.find((g) => g.owner?.name === 'orphan')!
    expect(orphan.status).toBe('blocked')
    expect(orphan.message).toContain('Cannot evict pod as it would violate the pod\'s disruption budget.')
    expect(podsOf(sim, 'shop', 'orphan-x1')).toHaveLength(1)
    expect(report.groups.find((g) => !g.owner)!.status).toBe('listed')
    expect(podsOf(sim, 'shop', 'one-off')).toHaveLength(1)
  })

  it('--evict-bare evicts the bare pod (nothing brings it back)', async () => {
    const {report} = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'app=one-off', '--evict-bare', '--yes')
    expect(report.groups).toEqual([expect.objectContaining({action: 'evict', status: 'evicted'})])
    expect(podsOf(sim, 'shop', 'one-off')).toHaveLength(0)
  })

  it('bad usage: neither or both selections, -A with -n, an unknown pool', async () => {
    expect((await runPlugin(['pods', 'recreate', '--kubeconfig', sim.kubeconfig])).code).toBe(2)
    expect((await runPlugin(['pods', 'recreate', '--single-stack', '--in-pool', 'x', '--kubeconfig', sim.kubeconfig])).code).toBe(2)
    expect((await runPlugin(['pods', 'recreate', '--single-stack', '-A', '-n', 'shop', '--kubeconfig', sim.kubeconfig])).code).toBe(2)
    const unknown = await runPlugin(['pods', 'recreate', '--in-pool', 'nope', '-A', '--kubeconfig', sim.kubeconfig])
    expect(unknown).toMatchObject({code: 2, stderr: 'error: IPPool nope not found; see: kubectl get ippools.crd.projectcalico.org\n'})
    const noTty = await runPlugin(['pods', 'recreate', '--single-stack', '-n', 'kube-system', '--kubeconfig', sim.kubeconfig])
    expect(noTty.code).toBe(2)
    expect(noTty.stderr).toContain('without confirmation: standard input is not a terminal')
  })
})
