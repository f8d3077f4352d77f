// The repairs on a real control plane: the real API server's validation, conflicts and audit log, and the
// real DaemonSet, Deployment and ReplicaSet controllers doing what the plugin asks of them.
import {mkdtempSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {parse} from 'yaml'

import {runbookUnused, withoutBarePods} from '../commands/ops-helpers.js'
import type {AuditEvent, RealCluster} from '../control-plane/cluster.js'
import {answerAtTerminal, runKubectl, runPlugin} from '../sim/harness.js'
import {viaOperator} from '../sim/scenario.js'
import {cniWithoutIpv6, enableCniIpv6, kubectlJson, LONG_TEST, poolSpecs as pools, RUNBOOK_IPV6_POOL as ORIGINAL, RUNBOOK_IPV6_WANTED as DESIRED, START_TIMEOUT, startReal} from './harness.js'

async function fix(cluster: RealCluster, ...args: string[]) {
  const backups = mkdtempSync(path.join(cluster.dir, 'backup-'))
  const result = await runPlugin(['ippool', 'fix', '-o', 'json', '--kubeconfig', cluster.kubeconfig, '--backup-dir', backups, ...args], {}, )
  try {
    return {code: result.code, stderr: result.stderr, report: JSON.parse(result.stdout)}
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`)
  }
}

/** What the audit log holds of admin's writes since `since`, as "verb resource[/subresource] name" (dry runs marked). */
function writesSince(cluster: RealCluster, since: number): string[] {
  return cluster.writes().slice(since).map((e: AuditEvent) =>
    `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef?.name ?? ''}${e.requestURI.includes('dryRun=All') ? ' (dry run)' : ''}`.trim())
}

describe('ippool fix on a real control plane: the runbook\'s stale pool, nothing using it', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', runbookUnused)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('--dry-run plans the recreate and the audit log shows no write that was not a dry run', async () => {
    const since = cluster.writes().length
    const {code, report} = await fix(cluster, '--dry-run')
    expect(code).toBe(0)
    expect(report).toMatchObject({pool: 'default-ipv6-ippool', strategy: 'recreate', result: 'planned'})
    expect(report.from).toMatchObject(ORIGINAL)
    expect(writesSince(cluster, since).filter((w) => !w.endsWith('(dry run)'))).toEqual([])
    expect((await pools(cluster))['default-ipv6-ippool']).toEqual(ORIGINAL)
  })

  it('--yes recreates it through the real API server: one DELETE and one POST of the pool (and the update that marks it done), the Lease taken and released, the backup restores by itself', async () => {
    const since = cluster.writes().length
    const {code, report, stderr} = await fix(cluster, '--yes')
    expect({code, result: report.result, stderr}).toMatchObject({code: 0, result: 'fixed'})
    expect((await pools(cluster))['default-ipv6-ippool']).toEqual(DESIRED)
    const writes = writesSince(cluster, since).filter((w) => !w.endsWith('(dry run)'))
    // The last update marks the recreated pool done (a journal reusing this run's id cannot undo it).
    expect(writes.filter((w) => w.includes(' ippools '))).toEqual(['delete ippools default-ipv6-ippool', 'create ippools default-ipv6-ippool', 'update ippools default-ipv6-ippool'])
    expect(writes.filter((w) => w.includes(' leases ')).map((w) => w.split(' ')[0])).toEqual(expect.arrayContaining(['create', 'delete']))
    expect((await kubectlJson(cluster, 'get', 'leases', '-n', 'kube-system')).items.filter((l: {metadata: {name: string}}) => l.metadata.name.includes('dualstack'))).toEqual([])
    const backup = parse(readFileSync(report.backup, 'utf8')) as {spec: Record<string, unknown>}
    expect(backup.spec).toEqual({...ORIGINAL, disabled: false})
    // doctor's pool checks pass against the real server afterwards.
    const doctor = await runPlugin(['doctor', '--only', 'calico.ippool', '--kubeconfig', cluster.kubeconfig])
    expect(doctor.code).toBe(0)
  })

  it('with no IPv6 pool at all (deleted by hand): creates it exactly as calico-node would, one POST (then the update that marks it done)', async () => {
    expect((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'delete', 'ippools.crd.projectcalico.org', 'default-ipv6-ippool', '--ignore-not-found'])).code).toBe(0)
    const since = cluster.writes().length
    const {code, report} = await fix(cluster, '--yes')
    expect({code, strategy: report.strategy, result: report.result}).toEqual({code: 0, strategy: 'create', result: 'fixed'})
    expect(writesSince(cluster, since).filter((w) => w.includes(' ippools '))).toEqual(['create ippools default-ipv6-ippool', 'update ippools default-ipv6-ippool'])
    expect((await pools(cluster))['default-ipv6-ippool']).toEqual(DESIRED)
  })
})

describe('ippool fix on a real control plane: a pool in use by a Deployment', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', withoutBarePods)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('migrates with --recreate-pods: the real Deployment controller moves calico-kube-controllers to the new pool, then the old pool is deleted', async () => {
    const {code, report, stderr} = await fix(cluster, '--recreate-pods', '--yes')
    expect({code, stderr}).toMatchObject({code: 0})
    expect(report).toMatchObject({strategy: 'migrate', result: 'fixed', left: []})
    const after = await pools(cluster)
    expect(after['default-ipv6-ippool']).toBeUndefined()
    expect(after['default-ipv6-ippool-2001-0-0-2---104']).toEqual(DESIRED)
    const pods = await kubectlJson(cluster, 'get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-kube-controllers')
    expect(pods.items).toHaveLength(1)
    expect(pods.items[0].status.podIPs.map((p: {ip: string}) => p.ip)).toEqual([expect.stringMatching(/^3\.2\./), expect.stringMatching(/^2001:0:0:2:/)])
  }, LONG_TEST)
})

describe('calico-restart on a real control plane', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18')
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('--yes: the real DaemonSet controller replaces each calico-node pod, node by node, then calico-kube-controllers', async () => {
    const before = await kubectlJson(cluster, 'get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node')
    const since = cluster.writes().length
    const result = await runPlugin(['calico-restart', '--yes', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as {result: string; nodes: Array<{node: string; pod: string; newPod?: string; status: string}>}
    expect(report.result).toBe('restarted')
    expect(report.nodes.map((n) => n.node)).toEqual(['node-1', 'node-2', 'node-3'])
    const after = await kubectlJson(cluster, 'get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node')
    const names = (list: {items: Array<{metadata: {name: string}}>}) => list.items.map((p) => p.metadata.name).sort()
    expect(names(after)).toEqual(report.nodes.map((n) => n.newPod).sort())
    expect(names(after).some((n) => names(before).includes(n))).toBe(false)
    const podDeletes = writesSince(cluster, since).filter((w) => w.startsWith('delete pods '))
    expect(podDeletes.map((w) => w.split(' ')[2])).toEqual([...report.nodes.map((n) => n.pod), expect.stringMatching(/^calico-kube-controllers-/)])
  })

  it('a finalizer holds node-2\'s deleted pod Terminating: the real DaemonSet controller makes no new pod there, the report names the pod, its finalizer and the command that releases it, and that command does', async () => {
    const calicoNode = async () => (await kubectlJson(cluster, 'get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node')).items as Array<{metadata: {name: string; deletionTimestamp?: string; finalizers?: string[]}; spec: {nodeName: string}}>
    const held = (await calicoNode()).find((p) => p.spec.nodeName === 'node-2')!.metadata.name
    const patched = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'patch', 'pod', held, '-n', 'kube-system', '--type', 'merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}'])
    expect(patched.code).toBe(0)
    const result = await runPlugin(['calico-restart', '--yes', '-o', 'json', '--timeout', '10s', '--kubeconfig', cluster.kubeconfig])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as {result: string; nodes: Array<{node: string; status: string; reason?: string}>}
    expect(report.nodes.map((n) => n.status)).toEqual(['restarted', 'failed', 'skipped'])
    const reason = report.nodes[1]!.reason!
    expect(reason).toMatch(new RegExp(`^no new pod was created on node-2: pod kube-system/${held}, deleted at \\S+, is still Terminating \\(its finalizers example\\.com/hold hold it\\)`))
    // The real server agrees: the pod is there, Terminating, and it is node-2's only calico-node pod.
    const onNode2 = (await calicoNode()).filter((p) => p.spec.nodeName === 'node-2')
    expect(onNode2.map((p) => [p.metadata.name, Boolean(p.metadata.deletionTimestamp), p.metadata.finalizers])).toEqual([[held, true, ['example.com/hold']]])
    // The command the report gives releases it, and the DaemonSet controller then replaces it.
    const command = /release it: kubectl (.+)$/.exec(reason)![1]!
    expect(command).toBe(`-n kube-system patch pod ${held} --type merge -p '{"metadata":{"finalizers":null}}'`)
    const released = await runKubectl(['--kubeconfig', cluster.kubeconfig, '-n', 'kube-system', 'patch', 'pod', held, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}'])
    expect(released.code).toBe(0)
    const deadline = Date.now() + 60_000
    for (;;) {
      const now = (await calicoNode()).filter((p) => p.spec.nodeName === 'node-2')
      if (now.length === 1 && now[0]!.metadata.name !== held) break
      if (Date.now() > deadline) throw new Error(`node-2 has ${JSON.stringify(now.map((p) => p.metadata))}`)
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }, LONG_TEST)
})

describe('pods recreate on a real control plane: pods from before the CNI assigned IPv6', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', cniWithoutIpv6)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('--single-stack -A --yes: the real Deployment controller recreates the owned pods with both families; bare pods are listed, not deleted', async () => {
    const stacks = async () => Object.fromEntries((JSON.parse((await runPlugin(['pod-ips', '-A', '-o', 'json', '--kubeconfig', cluster.kubeconfig])).stdout) as {items: Array<{namespace: string; name: string; stack: string; hostNetwork: boolean}>}).items
      .filter((p) => !p.hostNetwork).map((p) => [`${p.namespace}/${p.name}`, p.stack]))
    const before = await stacks()
    expect(Object.values(before).every((stack) => stack === 'ipv4')).toBe(true)
    // The runbook's step 2 done: the CNI config now assigns IPv6. Running pods keep one address until recreated.
    await enableCniIpv6(cluster)

    const result = await runPlugin(['pods', 'recreate', '--single-stack', '-A', '--yes', '--kubeconfig', cluster.kubeconfig])
    expect(result.stderr).not.toMatch(/unexpected error|at .*\.js:\d+/)
    // Exit 1: the bare pods were only listed (as documented), the owners all recreated.
    expect(result.code).toBe(1)
    // The plan shown first has no result line of its own (it printed an empty `planned: `).
    expect(result.stdout).not.toMatch(/^planned: *$/m)
    const after = await stacks()
    const owned = Object.entries(after).filter(([name]) => /^kube-system\/(coredns|calico-kube-controllers)-/.test(name))
    expect(owned.length).toBe(3)
    expect(owned.every(([, stack]) => stack === 'dual')).toBe(true)
    // The replacements are new pods, made by the real ReplicaSet controller.
    expect(owned.some(([name]) => name in before)).toBe(false)
    // Bare pods are not deleted (they would be gone for good): still there, still single-stack, and named.
    expect(after['default/hello-k8s']).toBe('ipv4')
    expect(after['default/netshoot']).toBe('ipv4')
    expect(result.stdout + result.stderr).toMatch(/hello-k8s/)
  }, LONG_TEST)
})

describe('pods recreate on a real control plane: the real eviction API and a PodDisruptionBudget that blocks', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', (s) => {
      cniWithoutIpv6(s)
      const labels = {app: 'orphan'}
      // A ReplicaSet of its own (no Deployment): its pods are recreated through the eviction API, which honours the budget.
      s.objects!.push(
        {apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: {name: 'orphan', namespace: 'shop'}, spec: {replicas: 1, selector: {matchLabels: labels},
          template: {metadata: {labels}, spec: {containers: [{name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53'}]}}}},
        {apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: {name: 'orphan', namespace: 'shop'}, spec: {minAvailable: 1, selector: {matchLabels: labels}}},
      )
    })
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('the budget allows no disruption: the eviction is refused by the real API server, reported as blocked, never forced; exit 1', async () => {
    await enableCniIpv6(cluster)
    // The disruption controller has worked out the budget (0 disruptions allowed) before the run.
    for (let i = 0; i < 100; i++) {
      const pdb = await kubectlJson(cluster, 'get', 'pdb', 'orphan', '-n', 'shop')
      if (pdb.status?.currentHealthy === 1) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const before = (await kubectlJson(cluster, 'get', 'pods', '-n', 'shop', '-l', 'app=orphan')).items.map((p: {metadata: {name: string}}) => p.metadata.name)
    const since = cluster.writes().length
    const result = await runPlugin(['pods', 'recreate', '--single-stack', '-n', 'shop', '--yes', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as {result: string; groups: Array<{owner?: {name: string}; status: string; message?: string}>}
    expect(report.result).toBe('incomplete')
    const orphan = report.groups.find((g) => g.owner?.name === 'orphan')!
    expect(orphan.status).toBe('blocked')
    expect(orphan.message).toContain('Cannot evict pod as it would violate the pod\'s disruption budget.')
    const after = (await kubectlJson(cluster, 'get', 'pods', '-n', 'shop', '-l', 'app=orphan')).items.map((p: {metadata: {name: string}}) => p.metadata.name)
    expect(after).toEqual(before)
    // The refusal is the API server's (429 on pods/eviction, asked again a few times as kubectl drain does); nothing was deleted behind it.
    const writes = cluster.writes().slice(since)
    const evictions = writes.filter((e) => e.objectRef?.subresource === 'eviction').map((e) => e.responseStatus?.code)
    expect(evictions.length).toBeGreaterThan(0)
    expect(new Set(evictions)).toEqual(new Set([429]))
    expect(writes.filter((e) => e.verb === 'delete' && e.objectRef?.resource !== 'leases')).toEqual([])
  }, LONG_TEST)

  it('--dry-run of calico-restart and pods recreate: the audit log shows no write that was not a dry run', async () => {
    const since = cluster.writes().length
    expect((await runPlugin(['calico-restart', '--dry-run', '--kubeconfig', cluster.kubeconfig])).code).toBe(0)
    expect((await runPlugin(['pods', 'recreate', '--single-stack', '-A', '--dry-run', '--kubeconfig', cluster.kubeconfig])).code).toBe(0)
    expect(writesSince(cluster, since).filter((w) => !w.endsWith('(dry run)'))).toEqual([])
  })
})

describe('ippool fix on a real control plane: only NAT outgoing is wrong', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', (s) => {
      s.objects!.find((o) => o.kind === 'IPPool' && o.metadata.name === 'default-ipv6-ippool')!.spec.cidr = '2001:0:0:2::/104'
      s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'extra-ipv6'},
        spec: {cidr: '2001:0:0:5::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: '!all()', disabled: true}})
    })
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('patches the pool in place with its resourceVersion (the update, and the one that clears the mark of the run; no delete); pods keep their addresses', async () => {
    const podsBefore = (await runPlugin(['pod-ips', '-A', '-o', 'plain', '--kubeconfig', cluster.kubeconfig])).stdout
    const since = cluster.writes().length
    const {code, report} = await fix(cluster, '--yes')
    expect(code).toBe(0)
    expect(report).toMatchObject({strategy: 'patch', result: 'fixed'})
    // The update, then the run's mark cleared once it is over.
    expect(writesSince(cluster, since).filter((w) => w.includes(' ippools '))).toEqual(['update ippools default-ipv6-ippool', 'update ippools default-ipv6-ippool'])
    expect((await pools(cluster))['default-ipv6-ippool']).toEqual({...DESIRED, disabled: false})
    expect((await runPlugin(['pod-ips', '-A', '-o', 'plain', '--kubeconfig', cluster.kubeconfig])).stdout).toBe(podsBefore)
  })

  it('refuses a --cidr that overlaps another pool (exit 1), and a malformed or wrong-family one as bad usage (exit 2), writing nothing', async () => {
    const since = cluster.writes().length
    const {code, report} = await fix(cluster, '--cidr', '2001:0:0:5::/112', '--yes')
    expect(code).toBe(1)
    expect(report.message).toBe('the new pool would not be valid: 2001:0:0:5::/112 overlaps IPPool extra-ipv6 (2001:0:0:5::/104)')
    const bad = await runPlugin(['ippool', 'fix', '--cidr', '2001:zz::/64', '--kubeconfig', cluster.kubeconfig])
    expect(bad).toMatchObject({code: 2, stderr: 'error: --cidr "2001:zz::/64" is not a CIDR; e.g. --cidr fd00:10:244::/56\n'})
    const family = await runPlugin(['ippool', 'fix', '--cidr', '10.0.0.0/16', '--kubeconfig', cluster.kubeconfig])
    expect(family).toMatchObject({code: 2, stderr: 'error: --cidr 10.0.0.0/16 is IPv4 but --family is ipv6; pass --family ipv4\n'})
    expect(writesSince(cluster, since).filter((w) => !w.endsWith('(dry run)') && !w.includes(' leases '))).toEqual([])
  })
})

describe('ippool fix on a real control plane: someone else writes the pool while the repair runs', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', (s) => {
      s.objects!.find((o) => o.kind === 'IPPool' && o.metadata.name === 'default-ipv6-ippool')!.spec.cidr = '2001:0:0:2::/104'
    })
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('another writer labels the pool while the plan waits at the prompt: the run reads it again before writing, so the fix lands and the label is kept', async () => {
    const backups = mkdtempSync(path.join(cluster.dir, 'backup-'))
    const since = cluster.writes().length
    const {code, output} = await answerAtTerminal(['ippool', 'fix', '--backup-dir', backups, '--kubeconfig', cluster.kubeconfig], 'to continue:', 'default-ipv6-ippool', async () => {
      expect((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'label', 'ippools.crd.projectcalico.org', 'default-ipv6-ippool', 'team=network'])).code).toBe(0)
    })
    const pool = await kubectlJson(cluster, 'get', 'ippools.crd.projectcalico.org', 'default-ipv6-ippool')
    expect(pool.metadata.labels).toMatchObject({team: 'network'})
    expect([{...ORIGINAL, cidr: '2001:0:0:2::/104'}, {...DESIRED, disabled: false}]).toContainEqual(pool.spec)
    // The other writer's patch, then the run's update with the resourceVersion it read after the prompt: no lost update.
    expect(writesSince(cluster, since).filter((w) => w.includes(' ippools '))).toEqual(['patch ippools default-ipv6-ippool', 'update ippools default-ipv6-ippool', 'update ippools default-ipv6-ippool'])
    expect(code).toBe(0)
    expect(output).toContain('fixed: IPPool default-ipv6-ippool is 2001:0:0:2::/104 with natOutgoing true')
    expect(pool.spec.natOutgoing).toBe(true)
  })
})

describe('ippool fix on a real control plane: another writer between two steps of a migration', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', withoutBarePods)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('the old pool labelled the moment the new one appears: the label is kept and the disable re-applied over it (a 409 on metadata only is re-read, not rolled back)', async () => {
    let labelled: Promise<unknown> | undefined
    // The agent sees the new pool's creation on its watch and labels the old pool at once, before the run disables it.
    cluster.agent!.onChange = (kind, type, obj) => {
      if (kind === 'IPPool' && type === 'ADDED' && obj.metadata.name === 'default-ipv6-ippool-2001-0-0-2---104' && !labelled) {
        labelled = cluster.agent!.api.request('PATCH', '/apis/crd.projectcalico.org/v1/ippools/default-ipv6-ippool', {metadata: {labels: {team: 'network'}}}, 'application/merge-patch+json')
      }
    }
    const {code, report} = await fix(cluster, '--yes')
    // On a loaded machine the agent's watch can deliver the creation after the run has ended: wait for it, so
    // that the label is always written (then after the disable, which must keep it as well).
    for (const until = Date.now() + 15_000; !labelled && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 50))
    cluster.agent!.onChange = undefined
    expect(labelled).toBeDefined()
    await labelled
    const after = await pools(cluster)
    const old = await kubectlJson(cluster, 'get', 'ippools.crd.projectcalico.org', 'default-ipv6-ippool')
    expect(old.metadata.labels).toMatchObject({team: 'network'})
    expect({code, result: report.result}).toEqual({code: 0, result: 'fixed'})
    expect(after['default-ipv6-ippool']?.disabled).toBe(true)
    expect(after['default-ipv6-ippool-2001-0-0-2---104']).toEqual(DESIRED)
  }, LONG_TEST)
})

describe('ippool fix on a real control plane: a migration finished in three runs, as an operator does it', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', withoutBarePods)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('migrate, move the pods with pods recreate, then ippool fix again deletes the emptied old pool with a backup: the migration is complete', async () => {
    const first = await fix(cluster, '--yes')
    expect(first.report).toMatchObject({strategy: 'migrate', result: 'fixed'})
    expect(first.report.left.join('\n')).toContain('IPPool default-ipv6-ippool (2001:0:0:1::/104) stays disabled: 1 pod(s) still hold its addresses')
    expect((await pools(cluster))['default-ipv6-ippool']).toMatchObject({disabled: true})
    // A rerun counts the pool it names (the disabled old one) and keeps the -A of its advice.
    const rerun = await runPlugin(['ippool', 'fix', '--dry-run', '--kubeconfig', cluster.kubeconfig])
    expect(rerun.stdout).toMatch(/^Impact: 1 pod\(s\) and 0 node tunnel address\(es\) hold addresses of 2001:0:0:1::\/104/m)
    expect(rerun.stdout).toContain('kubectl dualstack pods recreate --in-pool default-ipv6-ippool -A, then run ippool fix again')

    const moved = await runPlugin(['pods', 'recreate', '--in-pool', 'default-ipv6-ippool', '-A', '--yes', '--kubeconfig', cluster.kubeconfig])
    expect(moved.code).toBe(0)
    // The old pod's address goes back to IPAM when its sandbox is torn down (the CNI's DEL), a moment after the pod is gone.
    let plan: {strategy: string; actions: Array<{kind: string}>} | undefined
    for (let i = 0; i < 50; i++) {
      plan = (await fix(cluster, '--dry-run')).report
      if (plan!.strategy === 'migrate') break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(plan!.actions.map((a) => a.kind)).toEqual(['backup', 'delete-pool-if-unused'])

    const since = cluster.writes().length
    const last = await fix(cluster, '--yes')
    expect(last.code).toBe(0)
    expect(last.report.result).toBe('fixed')
    expect(last.report.message).toBe('IPPool default-ipv6-ippool-2001-0-0-2---104 is 2001:0:0:2::/104, as calico-node would create it; the migration is complete: IPPool default-ipv6-ippool (2001:0:0:1::/104) is deleted')
    expect(writesSince(cluster, since).filter((w) => w.includes(' ippools '))).toEqual(['delete ippools default-ipv6-ippool'])
    expect(Object.keys(await pools(cluster)).sort()).toEqual(['default-ipv4-ippool', 'default-ipv6-ippool-2001-0-0-2---104'])
    // The backup brings the old pool back as it was (disabled) with kubectl apply, should it be wanted.
    const backup = parse(readFileSync(last.report.backup, 'utf8')) as {metadata: {name: string}; spec: Record<string, unknown>}
    expect(backup).toMatchObject({metadata: {name: 'default-ipv6-ippool'}, spec: {cidr: '2001:0:0:1::/104', disabled: true}})

    const again = await fix(cluster, '--yes')
    expect(again.report.result).toBe('unchanged')
    expect((await runPlugin(['doctor', '--only', 'calico.ippool', '--kubeconfig', cluster.kubeconfig])).code).toBe(0)
  }, LONG_TEST)
})

describe('ippool fix and doctor on a real control plane: a Tigera operator install whose IPv6 pool lacks the Installation\'s natOutgoing', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', viaOperator([
      {cidr: '10.244.0.0/16', encapsulation: 'None', natOutgoing: 'Enabled'},
      {cidr: 'fd00:10:244::/56', encapsulation: 'None', natOutgoing: 'Enabled'},
    ]))
    // The pool as it is on the issue's cluster: natOutgoing false, though the Installation asks Enabled.
    cluster.kubectl(cluster.kubeconfig, ['patch', 'ippools.crd.projectcalico.org', 'default-ipv6-ippool', '--type', 'merge', '-p', '{"spec":{"natOutgoing":false}}'])
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('doctor\'s fix names the Installation\'s field; ippool fix reads the pool wanted from the Installation and refuses to patch the operator\'s pool, whatever --cidr; nothing written', async () => {
    const since = cluster.writes().length
    const doctor = await runPlugin(['doctor', '--only', 'calico.ippool.nat-outgoing', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
    const [check] = (JSON.parse(doctor.stdout) as {checks: Array<{status: string; remediation: string}>}).checks
    expect(check!.status).toBe('fail')
    expect(check!.remediation).toContain('kubectl edit installation default: spec.calicoNetwork.ipPools[1].natOutgoing is Enabled')
    expect(check!.remediation).not.toContain('CALICO_IPV6POOL')

    const refusal = 'IPPool default-ipv6-ippool is managed by the Tigera operator from the Installation "default" (spec.calicoNetwork.ipPools[1]): it is not changed behind the operator\'s back; ' +
      'it differs from the Installation in natOutgoing false (spec.calicoNetwork.ipPools[1].natOutgoing: Enabled); the operator reconciles the pools it manages to the Installation, so a change made only to the IPPool is reverted'
    const dry = await fix(cluster, '--dry-run')
    expect({code: dry.code, result: dry.report.result, message: dry.report.message}).toEqual({code: 1, result: 'refused', message: refusal})
    expect(dry.report.to).toEqual({name: 'default-ipv6-ippool', spec: {cidr: 'fd00:10:244::/56', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}})
    const same = await fix(cluster, '--dry-run', '--cidr', 'fd00:10:244::/56')
    expect({code: same.code, message: same.report.message}).toEqual({code: 1, message: refusal})
    const other = await fix(cluster, '--yes', '--cidr', 'fd00:99::/56')
    expect({code: other.code, result: other.report.result}).toEqual({code: 1, result: 'refused'})
    expect(other.report.message).toContain('spec.calicoNetwork.ipPools[1].cidr is fd00:10:244::/56')
    expect(writesSince(cluster, since).filter((w) => !w.endsWith('(dry run)'))).toEqual([])
    expect((await pools(cluster))['default-ipv6-ippool']).toMatchObject({natOutgoing: false})
  })

  it('--cidr over the Service range is bad usage, read from the real API server\'s ServiceCIDR (1.33+)', async () => {
    const result = await runPlugin(['ippool', 'fix', '--cidr', 'fd00:10:96::/112', '--dry-run', '--kubeconfig', cluster.kubeconfig])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: --cidr fd00:10:96::\/112 overlaps the Service range fd00:10:96::\/112 \(ServiceCIDR kubernetes\); /)
  })
})
