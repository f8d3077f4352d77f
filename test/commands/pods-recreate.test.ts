// pods recreate on a cluster whose pods predate dual-stack: the CNI assigned IPv4 only, then both families.
import {answerAtTerminal, runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import {viaOperator, type Scenario} from '../sim/scenario.js'
import {isReady} from '../sim/controllers.js'
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

describe('pods recreate --outside-pools: what a pool recreated with another range under its pods leaves to move', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', (s) => {
      s.objects!.push({apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'web', namespace: 'shop'},
        spec: {replicas: 2, selector: {matchLabels: {app: 'web'}}, template: {metadata: {labels: {app: 'web'}}, spec: {containers: [{name: 'web', image: 'nginx:1.27'}]}}}})
    })
  })
  afterAll(() => sim.stop())

  it('ippool fix --strategy recreate --force names it; it selects the pods left outside every pool and moves them into the new range', async () => {
    const fixed = await runPlugin(['ippool', 'fix', '--cidr', 'fd00:10:244:80::/57', '--strategy', 'recreate', '--force', '--yes', '-o', 'json', '--kubeconfig', sim.kubeconfig,
      '--backup-dir', sim.dir])
    expect(fixed.code).toBe(0)
    expect((JSON.parse(fixed.stdout) as {notes: string[]}).notes.join('\n')).toMatch(/outside every pool, until recreated: kubectl dualstack pods recreate --outside-pools -A/)
    const planned = await recreate(sim, '--outside-pools', '-n', 'shop', '--dry-run')
    expect(planned.report.groups.map((g) => [`${g.owner?.kind}/${g.owner?.name}`, g.action, g.pods.length])).toEqual([['Deployment/web', 'rollout-restart', 2]])
    const moved = await recreate(sim, '--outside-pools', '-n', 'shop', '--yes')
    expect({code: moved.code, result: moved.report.result}).toEqual({code: 0, result: 'recreated'})
    const v6 = podsOf(sim, 'shop', 'web-').filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => (p.status?.podIPs as Array<{ip: string}>).map((i) => i.ip).find((ip) => ip.includes(':')))
    expect(v6.length).toBe(2)
    expect(v6.every((ip) => /^fd00:10:244:(8|9|a|b|c|d|e|f)[0-9a-f]:/.test(ip ?? ''))).toBe(true)
    expect((await recreate(sim, '--outside-pools', '-n', 'shop', '--dry-run')).report.result).toBe('nothing')
  })
})

describe('pods recreate --single-stack where recreated pods would not get IPv6 either', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', beforeDualStack)
  })
  afterAll(() => sim.stop())

  it('the CNI config does not assign IPv6: refused (exit 1) naming why and what to do first; nothing restarted, also without --dry-run', async () => {
    const before = sim.server.sim.writes().length
    for (const args of [['--dry-run'], ['--yes']]) {
      const {code, report} = await recreate(sim, '--single-stack', '-A', ...args)
      expect({code, result: report.result}).toEqual({code: 1, result: 'refused'})
      expect(report.message).toMatch(/^\d+ pod\(s\) lack IPv6, and recreated pods would not get it either: calico-config's cni_network_config does not assign IPv6 /)
      expect(report.notes).toEqual([expect.stringContaining('"assign_ipv6": "true"')])
      expect(report.notes[0]).toContain('kubectl dualstack calico-restart')
    }
    const table = await runPlugin(['pods', 'recreate', '--single-stack', '-A', '--yes', '--kubeconfig', sim.kubeconfig])
    expect(table.code).toBe(1)
    expect(table.stdout).toContain('assign_ipv6')
    expect(sim.server.sim.writes().length).toBe(before)
  })

  it('no enabled IPv6 pool: refused, saying to create it with ippool fix first', async () => {
    enableIpv6InCni(sim)
    const c = sim.server.sim
    const type = c.type('crd.projectcalico.org/v1', 'IPPool')
    const pool = c.store.get(type, undefined, 'default-ipv6-ippool')!
    c.store.write(type, {...pool, spec: {...pool.spec, disabled: true}})
    const before = c.writes().length
    const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '--yes')
    expect({code, result: report.result}).toEqual({code: 1, result: 'refused'})
    expect(report.message).toMatch(/lack IPv6, and recreated pods would not get it either: there is no enabled IPv6 IPPool/)
    expect(report.notes).toEqual([expect.stringContaining('kubectl dualstack ippool fix')])
    expect(c.writes().length).toBe(before)
  })
})

describe('pods recreate --single-stack on a Tigera operator install whose Installation has no IPv6 pool', () => {
  it('refused, saying to add the pool to the Installation', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      beforeDualStack(s)
      viaOperator([{cidr: '10.244.0.0/16', encapsulation: 'None', natOutgoing: 'Enabled'}])(s)
    })
    try {
      const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '--dry-run')
      expect({code, result: report.result}).toEqual({code: 1, result: 'refused'})
      expect(report.message).toMatch(/lack IPv6, and recreated pods would not get it either: the Installation "default" has no IPv6 pool/)
      expect(report.notes).toEqual([expect.stringContaining('kubectl edit installation default')])
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

  it('the plan says what each action does to its pods: a bare pod evicted is gone for good', async () => {
    const {stdout} = await runPlugin(['pods', 'recreate', '--single-stack', '-n', 'shop', '--evict-bare', '--dry-run', '--kubeconfig', sim.kubeconfig])
    const row = (owner: string) => stdout.split('\n').find((l) => l.includes(owner)) ?? ''
    expect(row('Deployment/web')).toContain('rollout restart (the Deployment replaces its pods)')
    expect(row('ReplicaSet/orphan')).toContain('evict one by one (the ReplicaSet replaces each)')
    expect(row('<none>')).toContain('evict (gone for good: nothing recreates it)')
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

  it('--evict-bare evicts the bare pod, and says it was evicted, not recreated (nothing brings it back)', async () => {
    const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'app=one-off', '--evict-bare', '--yes')
    expect(report.groups).toEqual([expect.objectContaining({action: 'evict', status: 'removed', message: 'evicted, and not recreated (nothing recreates a bare pod): one-off'})])
    expect(report.result).not.toBe('recreated')
    expect(code).toBe(1)
    expect(report.notes).toEqual(['bare pod(s) in shop: evicted, and not recreated (nothing recreates a bare pod): one-off; create them again yourself if they are still wanted'])
    expect(podsOf(sim, 'shop', 'one-off')).toHaveLength(0)
  })

  it('-o json is always one JSON document: without --yes and without a terminal it is the error, as data (exit 2)', async () => {
    const result = await runPlugin(['pods', 'recreate', '--single-stack', '-n', 'shop', '-l', 'app=orphan', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stdout)).toEqual({error: {message: expect.stringContaining('without confirmation: standard input is not a terminal'), hint: 'review the plan (--dry-run), then pass --yes', exitCode: 2}})
    expect(result.stderr).toMatch(/^error: refusing to change/)
    const missing = await runPlugin(['pods', 'recreate', '--single-stack', '--output=json', '--kubeconfig', '/nonexistent/kubeconfig'])
    expect({code: missing.code, error: JSON.parse(missing.stdout).error.exitCode}).toEqual({code: 2, error: 2})
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

function pauseDeployment(sim: RunningSim, name: string): void {
  const type = sim.server.sim.type('apps/v1', 'Deployment')
  const deployment = sim.server.sim.store.get(type, 'shop', name)!
  sim.server.sim.store.write(type, {...deployment, spec: {...deployment.spec, paused: true}})
}

/** Which pods of an app were evicted and which new ones became Ready, in the order the store saw it. */
function recordReplacements(sim: RunningSim, app: string): {events: string[]; stop: () => void} {
  const events: string[] = []
  const original = new Set(sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod'), 'shop').filter((p) => p.metadata.labels?.app === app).map((p) => p.metadata.name))
  const ready = new Set<string>()
  const stop = sim.server.sim.store.subscribe((event) => {
    const pod = event.object
    if (pod.kind !== 'Pod' || pod.metadata.labels?.app !== app) return
    if (event.type === 'DELETED' && original.has(pod.metadata.name)) events.push('evicted')
    if (event.type !== 'DELETED' && !original.has(pod.metadata.name) && isReady(pod) && !ready.has(pod.metadata.name)) {
      ready.add(pod.metadata.name)
      events.push('replacement Ready')
    }
  })
  return {events, stop}
}

describe('pods recreate: pods of a bare ReplicaSet are evicted one at a time, each replacement Ready before the next', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', (s) => {
      beforeDualStack(s)
      // Pods created after the start take 1.5 s to run, as a kubelet does.
      s.podStartMs = 1500
      s.unpullableImages = ['registry.example/cache:missing']
      for (const app of ['cache', 'queue']) {
        s.objects!.push({apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: {name: app, namespace: 'shop'}, spec: {replicas: 2, selector: {matchLabels: {app}},
          template: {metadata: {labels: {app}}, spec: {containers: [{name: app, image: 'redis:7.4'}]}}}})
      }
    })
    enableIpv6InCni(sim)
  })
  afterAll(() => sim.stop())

  it('waits for each replacement to be Ready before evicting the next pod; the new pods have both families', async () => {
    const {events, stop} = recordReplacements(sim, 'cache')
    const started = Date.now()
    const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'app=cache', '--yes')
    stop()
    expect(code).toBe(0)
    expect(report.result).toBe('recreated')
    expect(report.groups).toEqual([expect.objectContaining({owner: {kind: 'ReplicaSet', name: 'cache'}, action: 'evict', status: 'evicted',
      message: expect.stringMatching(/^2 pod\(s\) evicted one at a time, each replacement Ready before the next: replaced cache-\w+ by cache-\w+, cache-\w+ by cache-\w+$/)})])
    expect(events).toEqual(['evicted', 'replacement Ready', 'evicted', 'replacement Ready'])
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000)
    const cache = podsOf(sim, 'shop', 'cache-')
    expect(cache).toHaveLength(2)
    for (const pod of cache) expect(pod.status.podIPs).toHaveLength(2)
  })

  it('a replacement that stays Pending stops the run there: the next pod is not evicted, and the run fails naming why', async () => {
    const rsType = sim.server.sim.type('apps/v1', 'ReplicaSet')
    const rs = sim.server.sim.store.get(rsType, 'shop', 'queue')!
    // The ReplicaSet's template now has an image that cannot be pulled: running pods keep theirs, new ones stay Pending.
    sim.server.sim.store.write(rsType, {...rs, spec: {...rs.spec, template: {...rs.spec.template, spec: {containers: [{name: 'queue', image: 'registry.example/cache:missing'}]}}}})
    const before = podsOf(sim, 'shop', 'queue-').map((p) => p.metadata.name).sort()
    const since = sim.server.sim.requests.length
    const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'app=queue', '--yes', '--ready-timeout', '3s')
    expect(code).toBe(1)
    expect(report.result).toBe('incomplete')
    const [group] = report.groups
    expect(group).toMatchObject({status: 'failed', message: expect.stringMatching(
      /^queue-\w+ evicted; not replaced by a Ready pod after 3s: its replacement queue-\w+ is Pending: ImagePullBackOff: Back-off pulling image "registry.example\/cache:missing"; not evicted: queue-\w+$/)})
    expect(report.message).toMatch(/^stopped: ReplicaSet shop\/queue queue-\w+ evicted; not replaced by a Ready pod after 3s/)
    const evictions = sim.server.sim.requests.slice(since).filter((r) => r.subresource === 'eviction')
    expect(evictions).toHaveLength(1)
    const after = podsOf(sim, 'shop', 'queue-').map((p) => p.metadata.name)
    expect(after.filter((n) => before.includes(n))).toHaveLength(1)
  })
})

describe('pods recreate: owners it must not act on are listed with why, before any write', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', (s) => {
      beforeDualStack(s)
      const template = (app: string) => ({metadata: {labels: {app, tier: 'stuck'}}, spec: {containers: [{name: app, image: 'nginx:1.27'}]}})
      s.objects!.push(
        {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'frozen', namespace: 'shop'}, spec: {replicas: 1, selector: {matchLabels: {app: 'frozen'}}, template: template('frozen')}},
        {apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: {name: 'ledger', namespace: 'shop'}, spec: {replicas: 2, serviceName: 'ledger', updateStrategy: {type: 'OnDelete'},
          selector: {matchLabels: {app: 'ledger'}}, template: template('ledger')}},
        {apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {name: 'node-exporter', namespace: 'shop'}, spec: {updateStrategy: {type: 'OnDelete'},
          selector: {matchLabels: {app: 'node-exporter'}}, template: template('node-exporter')}},
        {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'late', namespace: 'shop'}, spec: {replicas: 1, selector: {matchLabels: {app: 'late'}},
          template: {metadata: {labels: {app: 'late'}}, spec: {containers: [{name: 'late', image: 'nginx:1.27'}]}}}},
        {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'report-28d1c', namespace: 'shop', labels: {app: 'report'},
          ownerReferences: [{apiVersion: 'batch/v1', kind: 'Job', name: 'report', uid: '00000000-0000-0000-0000-000000000002', controller: true}]},
        spec: {containers: [{name: 'c', image: 'busybox:1.36'}]}},
        {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'coredns-bare', namespace: 'kube-system', labels: {app: 'coredns-bare'}}, spec: {containers: [{name: 'coredns', image: 'coredns/coredns:1.11.3'}]}},
      )
    })
    enableIpv6InCni(sim)
    // Paused once it runs (as kubectl rollout pause does): a Deployment created paused has no pods at all.
    pauseDeployment(sim, 'frozen')
  })
  afterAll(() => sim.stop())

  it('a paused Deployment and OnDelete StatefulSets and DaemonSets are listed with the kubectl that does it: nothing patched, no timeout', async () => {
    const since = sim.server.sim.requests.length
    const started = Date.now()
    const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'tier=stuck', '--yes', '--ready-timeout', '20s')
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(code).toBe(1)
    expect(report.result).toBe('incomplete')
    expect(report.groups.map((g) => [`${g.owner!.kind}/${g.owner!.name}`, g.action, g.status])).toEqual([
      ['DaemonSet/node-exporter', 'list', 'listed'], ['Deployment/frozen', 'list', 'listed'], ['StatefulSet/ledger', 'list', 'listed']])
    const pods = report.groups.map((g) => g.pods.join(', '))
    // Each says why, and the kubectl that does it instead.
    expect(report.notes).toEqual([
      `DaemonSet shop/node-exporter: ${pods[0]} not recreated (its updateStrategy is OnDelete: the DaemonSet controller replaces a pod only once it is deleted, so a restart never rolls); delete its pods one at a time, each once the previous one's replacement is Ready (kubectl delete pod POD -n shop), or set its updateStrategy to RollingUpdate`,
      `Deployment shop/frozen: ${pods[1]} not recreated (the Deployment is paused, and kubectl refuses to restart a paused Deployment); resume it first (kubectl rollout resume deployment/frozen -n shop), then run this again`,
      `StatefulSet shop/ledger: ${pods[2]} not recreated (its updateStrategy is OnDelete: the StatefulSet controller replaces a pod only once it is deleted, so a restart never rolls); delete its pods one at a time, each once the previous one's replacement is Ready (kubectl delete pod POD -n shop), or set its updateStrategy to RollingUpdate`,
    ])
    expect(pods[2]).toBe('ledger-0, ledger-1')
    expect(sim.server.sim.writes().slice(since).filter((r) => r.resource !== 'selfsubjectaccessreviews')).toEqual([])
    // The plan (and JSON) carries what to do instead.
    const plan = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'tier=stuck', '--dry-run')
    expect(plan.report.groups.map((g) => (g as {remedy?: string}).remedy)).toEqual([
      'delete its pods one at a time, each once the previous one\'s replacement is Ready (kubectl delete pod POD -n shop), or set its updateStrategy to RollingUpdate',
      'resume it first (kubectl rollout resume deployment/frozen -n shop), then run this again',
      'delete its pods one at a time, each once the previous one\'s replacement is Ready (kubectl delete pod POD -n shop), or set its updateStrategy to RollingUpdate',
    ])
    const deployment = sim.server.sim.store.get(sim.server.sim.type('apps/v1', 'Deployment'), 'shop', 'frozen')!
    expect(deployment.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined()
  })

  it('a Deployment paused while the plan waits at the prompt is read again before the patch: refused, not patched', async () => {
    const since = sim.server.sim.requests.length
    const {code, output} = await answerAtTerminal(['pods', 'recreate', '--single-stack', '-n', 'shop', '-l', 'app=late', '--ready-timeout', '20s', '--kubeconfig', sim.kubeconfig], 'to continue:', 'sim',
      async () => pauseDeployment(sim, 'late'))
    expect(output).toContain('  - Deployment shop/late: not restarted: the Deployment is paused, and kubectl refuses to restart a paused Deployment; resume it first (kubectl rollout resume deployment/late -n shop), then run this again')
    expect(code).toBe(1)
    expect(sim.server.sim.requests.slice(since).filter((r) => r.verb === 'patch')).toEqual([])
  })

  it('a Job\'s pod and a bare pod in kube-system are listed with why, even with --evict-bare', async () => {
    const since = sim.server.sim.requests.length
    const {code, report} = await recreate(sim, '--single-stack', '-A', '-l', 'app in (report,coredns-bare)', '--evict-bare', '--yes')
    expect(code).toBe(1)
    expect(report.groups.map((g) => [g.namespace, g.owner?.kind ?? '<bare>', g.action])).toEqual([['kube-system', '<bare>', 'list'], ['shop', 'Job', 'list']])
    expect(report.notes).toEqual([
      'bare pod(s) in kube-system: coredns-bare not recreated (a bare pod in kube-system is usually a static or critical one (CoreDNS was one), and nothing recreates it once evicted); recreate it yourself from its manifest, or pass --evict-bare-in-kube-system with --evict-bare',
      'Job shop/report: report-28d1c not recreated (evicting a Job\'s pod counts as a failure against its backoffLimit; with backoffLimit 0 the Job fails); let it finish (the pods of Jobs created later get both families), or delete the Job and create it again yourself',
    ])
    expect(sim.server.sim.requests.slice(since).filter((r) => r.subresource === 'eviction')).toEqual([])
    expect(podsOf(sim, 'shop', 'report-')).toHaveLength(1)
    expect(podsOf(sim, 'kube-system', 'coredns-bare')).toHaveLength(1)
  })

  it('--evict-bare-in-kube-system (with --evict-bare) evicts the bare pod in kube-system; alone it is bad usage', async () => {
    expect((await runPlugin(['pods', 'recreate', '--single-stack', '-A', '--evict-bare-in-kube-system', '--kubeconfig', sim.kubeconfig])).code).toBe(2)
    const {report} = await recreate(sim, '--single-stack', '-n', 'kube-system', '-l', 'app=coredns-bare', '--evict-bare', '--evict-bare-in-kube-system', '--yes')
    expect(report.groups).toEqual([expect.objectContaining({action: 'evict', status: 'removed'})])
    expect(podsOf(sim, 'kube-system', 'coredns-bare')).toHaveLength(0)
  })
})

describe('pods recreate takes the repairs\' Lease', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', beforeDualStack)
    enableIpv6InCni(sim)
  })
  afterAll(() => sim.stop())

  const lease = (spec: Record<string, unknown>, journal?: unknown) => {
    const c = sim.server.sim
    const type = c.type('coordination.k8s.io/v1', 'Lease')
    if (c.store.get(type, 'kube-system', 'kubectl-dualstack')) c.store.delete(type, 'kube-system', 'kubectl-dualstack')
    c.store.create(type, {apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: {name: 'kubectl-dualstack', namespace: 'kube-system',
      ...(journal ? {annotations: {'dualstack.kubectl.io/journal': JSON.stringify(journal)}} : {})}, spec})
  }

  it('is refused while another repair holds it, or left an ippool fix half-done (naming how to finish it); nothing is recreated', async () => {
    const now = new Date().toISOString().replace('Z', '000Z')
    lease({holderIdentity: 'alice@laptop (pid 1, calico-restart)', leaseDurationSeconds: 60, acquireTime: now, renewTime: now})
    const held = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'app=web', '--yes')
    expect({code: held.code, result: held.report.result, message: held.report.message}).toEqual({code: 1, result: 'refused', message: expect.stringContaining('is held by alice@laptop (pid 1, calico-restart)')})
    lease({}, {version: 2, format: 'kubectl-dualstack/journal', command: 'ippool fix', state: 'failed', resumable: true, steps: [], commitAt: 0, done: 0})
    const unfinished = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'app=web', '--yes')
    expect({code: unfinished.code, result: unfinished.report.result, notes: unfinished.report.notes}).toEqual({code: 1, result: 'refused', notes: ['finish it first: kubectl dualstack ippool fix --resume (or --rollback)']})
    expect(sim.server.sim.writes().filter((w) => w.resource !== 'leases')).toEqual([])
  })

  it('takes the Lease while it runs and releases it when done', async () => {
    const c = sim.server.sim
    c.store.delete(c.type('coordination.k8s.io/v1', 'Lease'), 'kube-system', 'kubectl-dualstack')
    const {code, report} = await recreate(sim, '--single-stack', '-n', 'shop', '-l', 'app=web', '--yes')
    expect({code, result: report.result}).toEqual({code: 0, result: 'recreated'})
    expect(c.writes().filter((w) => w.resource === 'leases').map((w) => w.verb)).toEqual(expect.arrayContaining(['create', 'delete']))
    expect(c.store.list(c.type('coordination.k8s.io/v1', 'Lease'), 'kube-system')).toEqual([])
  })
})
