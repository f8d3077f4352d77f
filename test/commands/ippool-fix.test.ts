// ippool fix on simulated clusters, through the real binary: each strategy, each refusal, each step's
// failure (the pool always ends as it was or as wanted), the lock, the journal, and doctor afterwards.
import {existsSync, mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {createServer, type AddressInfo} from 'node:net'
import path from 'node:path'
import {parse} from 'yaml'

import {runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import {viaOperator, type Scenario} from '../sim/scenario.js'
import type {Obj} from '../sim/store.js'
import {poolOf, runbookUnused, withoutBarePods} from './ops-helpers.js'

interface FixJson {
  pool: string
  family: string
  from: Record<string, unknown> | null
  to: {name: string; spec: Record<string, unknown>} | null
  wrong: Array<{field: string; from: unknown; to: unknown; source?: string}>
  strategy: string | null
  impact: {pods: string[]; tunnels: string[]; ipamBlocks?: number}
  actions: Array<{kind: string; status: string; message?: string}>
  backup: string | null
  result: string
  message: string
  left: string[]
  hint?: string
}

const ORIGINAL = {cidr: '2001:0:0:1::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()'}
const DESIRED = {cidr: '2001:0:0:2::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}

async function fix(sim: RunningSim, ...args: string[]): Promise<{code: number; report: FixJson; stderr: string}> {
  // Inside the sim's directory, which stop() removes.
  const backups = mkdtempSync(path.join(sim.dir, 'backup-'))
  const result = await runPlugin(['ippool', 'fix', '-o', 'json', '--kubeconfig', sim.kubeconfig, '--backup-dir', backups, ...args])
  let report: FixJson
  try {
    report = JSON.parse(result.stdout) as FixJson
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`)
  }
  return {code: result.code, report, stderr: result.stderr}
}

async function doctorPools(sim: RunningSim): Promise<{code: number; statuses: Record<string, string>}> {
  const result = await runPlugin(['doctor', '--only', 'calico.ippool', '-o', 'json', '--kubeconfig', sim.kubeconfig])
  const report = JSON.parse(result.stdout) as {checks: Array<{id: string; status: string}>}
  return {code: result.code, statuses: Object.fromEntries(report.checks.map((c) => [c.id, c.status]))}
}

describe('ippool fix: the runbook\'s stale pool, nothing using it', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', runbookUnused)
  })
  afterAll(() => sim.stop())

  it('--dry-run plans a recreate and writes nothing at all', async () => {
    const before = sim.server.sim.requests.length
    const {code, report} = await fix(sim, '--dry-run')
    expect(code).toBe(0)
    expect(report).toMatchObject({pool: 'default-ipv6-ippool', family: 'ipv6', strategy: 'recreate', result: 'planned', backup: null})
    expect(report.from).toMatchObject(ORIGINAL)
    expect(report.to).toEqual({name: 'default-ipv6-ippool', spec: DESIRED})
    expect(report.actions.map((a) => a.kind)).toEqual(['backup', 'delete-pool', 'create-pool', 'verify-pool'])
    expect(report.impact.pods).toEqual([])
    // Only reads, and the access reviews that tell whether this user could apply the plan.
    expect(sim.server.sim.requests.slice(before).filter((r) => !['get', 'list'].includes(r.verb) && r.resource !== 'selfsubjectaccessreviews')).toEqual([])
  })

  it('recreates the pool as calico-node would write it, with a backup; doctor\'s pool checks then pass; a second run does nothing', async () => {
    expect((await doctorPools(sim)).code).toBe(1)
    const before = sim.server.sim.requests.length
    const {code, report, stderr} = await fix(sim, '--yes')
    expect(stderr).toContain('[2/4] delete IPPool default-ipv6-ippool')
    expect(code).toBe(0)
    expect(report.result).toBe('fixed')
    expect(report.actions.every((a) => a.status === 'done')).toBe(true)
    expect(poolOf(sim, 'default-ipv6-ippool')?.spec).toEqual(DESIRED)
    // The backup is the original with every field written out (disabled too), ready for kubectl apply.
    const backup = parse(readFileSync(report.backup!, 'utf8')) as Obj
    expect(backup).toEqual({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool'}, spec: {...ORIGINAL, disabled: false}})
    const writes = sim.server.sim.requests.slice(before).filter((r) => sim.server.sim.writes().includes(r))
    // The last update marks the recreated pool done: a journal that reuses this run's id cannot undo it.
    expect(writes.filter((w) => w.resource === 'ippools').map((w) => w.verb)).toEqual(['delete', 'create', 'update'])
    // The Lease came and went.
    expect(writes.filter((w) => w.resource === 'leases').map((w) => w.verb)).toEqual(expect.arrayContaining(['create', 'delete']))
    expect(sim.server.sim.store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'))).toEqual([])
    expect(await doctorPools(sim)).toEqual({code: 0, statuses: {'calico.ippool.ipv4': 'pass', 'calico.ippool.ipv6': 'pass', 'calico.ippool.cidr-match': 'pass',
      'calico.ippool.nat-outgoing': 'pass', 'calico.ippool.block-size': 'pass'}})

    const writesBefore = sim.server.sim.writes().length
    const again = await fix(sim, '--yes')
    expect(again.code).toBe(0)
    expect(again.report.result).toBe('unchanged')
    expect(again.report.message).toContain('nothing to do')
    expect(sim.server.sim.writes().length).toBe(writesBefore)
  })
})

describe('ippool fix: only NAT outgoing is wrong', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      poolIn(s, 'default-ipv6-ippool').spec.cidr = '2001:0:0:2::/104'
    })
  })
  afterAll(() => sim.stop())

  it('patches the pool in place: no delete, pods keep their addresses', async () => {
    const before = sim.server.sim.writes().length
    const {code, report} = await fix(sim, '--yes')
    expect(code).toBe(0)
    expect(report).toMatchObject({strategy: 'patch', result: 'fixed'})
    expect(report.actions.map((a) => a.kind)).toEqual(['backup', 'update-pool', 'verify-pool'])
    // The update, then the run's mark cleared once it is over.
    expect(sim.server.sim.writes().slice(before).filter((w) => w.resource === 'ippools').map((w) => w.verb)).toEqual(['update', 'update'])
    expect(poolOf(sim, 'default-ipv6-ippool')?.spec.natOutgoing).toBe(true)
  })
})

describe('ippool fix: a pool in use', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', withoutBarePods)
  })
  afterAll(() => sim.stop())

  it('refuses to recreate it under its pods (exit 1, nothing written)', async () => {
    const before = sim.server.sim.writes().length
    const {code, report} = await fix(sim, '--strategy', 'recreate', '--yes')
    expect(code).toBe(1)
    expect(report.result).toBe('refused')
    expect(report.message).toMatch(/^1 pod\(s\) hold addresses from default-ipv6-ippool \(2001:0:0:1::\/104\)/)
    expect(report.hint).toContain('--strategy migrate')
    expect(sim.server.sim.writes().length).toBe(before)
  })

  it('migrates: new pool, old one disabled, the pods moved by their owners, the old pool deleted once empty', async () => {
    const {code, report} = await fix(sim, '--recreate-pods', '--yes')
    expect(code).toBe(0)
    expect(report).toMatchObject({strategy: 'migrate', result: 'fixed', left: []})
    expect(report.impact.pods).toEqual([expect.stringMatching(/^kube-system\/calico-kube-controllers-/)])
    expect(report.actions.map((a) => [a.kind, a.status])).toEqual([['backup', 'done'], ['create-pool', 'done'], ['update-pool', 'done'], ['verify-pool', 'done'],
      ['recreate-pods', 'done'], ['delete-pool-if-unused', 'done']])
    expect(poolOf(sim, 'default-ipv6-ippool')).toBeUndefined()
    expect(poolOf(sim, 'default-ipv6-ippool-2001-0-0-2---104')?.spec).toEqual(DESIRED)
    const kcc = sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod'), 'kube-system').find((p) => p.metadata.name.startsWith('calico-kube-controllers-'))!
    expect(kcc.status.podIPs.map((p: {ip: string}) => p.ip)).toEqual([expect.stringMatching(/^3\.2\./), expect.stringMatching(/^2001:0:0:2:/)])
    expect((await doctorPools(sim)).code).toBe(0)
    // A rerun counts the pool it names: calico-kube-controllers now holds an address of the new one.
    const rerun = await runPlugin(['ippool', 'fix', '--dry-run', '--kubeconfig', sim.kubeconfig])
    expect(rerun.stdout).toMatch(/^Impact: 1 pod\(s\) and 0 node tunnel address\(es\) hold addresses of 2001:0:0:2::\/104/m)
    expect(rerun.stdout).toMatch(/^ {2}pods: kube-system\/calico-kube-controllers-/m)
  })
})

describe('ippool fix --recreate-pods: a PodDisruptionBudget blocks an eviction', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      withoutBarePods(s)
      s.objects!.push(
        {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'orphan-x1', namespace: 'default', labels: {app: 'orphan'},
          ownerReferences: [{apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'orphan', uid: '00000000-0000-0000-0000-000000000001', controller: true}]},
        spec: {containers: [{name: 'c', image: 'busybox:1.36'}]}},
        {apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: {name: 'orphan', namespace: 'default'}, spec: {minAvailable: 1, selector: {matchLabels: {app: 'orphan'}}}},
      )
    })
  })
  afterAll(() => sim.stop())

  it('fails (exit 1) with what is left and how to finish, never "fixed": the new pool stays, the old one disabled', async () => {
    const {code, report} = await fix(sim, '--recreate-pods', '--yes')
    expect({code, result: report.result}).toEqual({code: 1, result: 'failed'})
    expect(report.message).toMatch(/owner\(s\) not recreated: ReplicaSet default\/orphan: eviction blocked by a PodDisruptionBudget.*finish with: kubectl dualstack ippool fix --resume$/)
    expect(report.actions.map((a: {kind: string; status: string}) => [a.kind, a.status])).toEqual([['backup', 'done'], ['create-pool', 'done'], ['update-pool', 'done'], ['verify-pool', 'done'],
      ['recreate-pods', 'failed'], ['delete-pool-if-unused', 'skipped']])
    expect(poolOf(sim, 'default-ipv6-ippool')?.spec?.disabled).toBe(true)
    expect(poolOf(sim, 'default-ipv6-ippool-2001-0-0-2---104')?.spec).toEqual(DESIRED)
  })
})

describe('ippool fix: a migration finished by a later run', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', withoutBarePods)
  })
  afterAll(() => sim.stop())

  it('migrate; pods recreate --in-pool moves the pods; ippool fix again deletes the emptied old pool with a backup and says the migration is complete', async () => {
    expect((await fix(sim, '--yes')).report.left.join('\n')).toContain('stays disabled: 1 pod(s) still hold its addresses')
    const stillHeld = await fix(sim, '--dry-run')
    expect(stillHeld.report).toMatchObject({result: 'unchanged'})
    // The impact line names the pool whose holders it counted: the disabled old one, not the new one.
    const text = await runPlugin(['ippool', 'fix', '--dry-run', '--kubeconfig', sim.kubeconfig])
    expect(text.stdout).toMatch(/^Impact: 1 pod\(s\) and 0 node tunnel address\(es\) hold addresses of 2001:0:0:1::\/104/m)
    expect(text.stdout).toContain('kubectl dualstack pods recreate --in-pool default-ipv6-ippool -A, then run ippool fix again')
    expect((await runPlugin(['pods', 'recreate', '--in-pool', 'default-ipv6-ippool', '-A', '--yes', '--kubeconfig', sim.kubeconfig])).code).toBe(0)
    const dryRun = await fix(sim, '--dry-run')
    expect(dryRun.report.actions.map((a) => a.kind)).toEqual(['backup', 'delete-pool-if-unused'])
    const before = sim.server.sim.writes().length
    const {code, report} = await fix(sim, '--yes')
    expect(code).toBe(0)
    expect(report.message).toBe('IPPool default-ipv6-ippool-2001-0-0-2---104 is 2001:0:0:2::/104, as calico-node would create it; the migration is complete: IPPool default-ipv6-ippool (2001:0:0:1::/104) is deleted')
    expect(sim.server.sim.writes().slice(before).filter((w) => w.resource === 'ippools').map((w) => `${w.verb} ${w.name}`)).toEqual(['delete default-ipv6-ippool'])
    expect(poolOf(sim, 'default-ipv6-ippool')).toBeUndefined()
    expect(parse(readFileSync(report.backup!, 'utf8'))).toMatchObject({metadata: {name: 'default-ipv6-ippool'}, spec: {disabled: true}})
    expect((await fix(sim, '--yes')).report.result).toBe('unchanged')
  })
})

describe('ippool fix: the runbook cluster as it is (bare pods hold addresses)', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18')
  })
  afterAll(() => sim.stop())

  it('auto picks migrate; bare pods are listed, not deleted, and the old pool stays disabled', async () => {
    const {code, report} = await fix(sim, '--recreate-pods', '--yes')
    expect(code).toBe(0)
    expect(report.strategy).toBe('migrate')
    expect(report.left.join('\n')).toContain('hello-k8s, netshoot not recreated (a bare pod is gone for good once deleted)')
    expect(report.left.join('\n')).toContain('IPPool default-ipv6-ippool (2001:0:0:1::/104) stays disabled: 2 pod(s) still hold its addresses')
    expect(poolOf(sim, 'default-ipv6-ippool')?.spec.disabled).toBe(true)
    expect(sim.server.sim.store.get(sim.server.sim.type('v1', 'Pod'), 'default', 'hello-k8s')).toBeDefined()
    expect((await doctorPools(sim)).code).toBe(0)
  })
})

describe('ippool fix: pools it must not change', () => {
  it('refuses a pool the Tigera operator owns, saying how to change the Installation', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.calicoOperator = true
      s.objects = s.objects!.filter((o) => o.metadata.name !== 'calico-config')
      const ds = s.objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'calico-node')!
      ds.metadata.namespace = 'calico-system'
      s.objects.push({apiVersion: 'operator.tigera.io/v1', kind: 'Installation', metadata: {name: 'default'},
        spec: {calicoNetwork: {ipPools: [{cidr: '10.244.0.0/16'}, {cidr: 'fd00:10:244::/56', natOutgoing: 'Enabled'}]}}})
    })
    try {
      const {code, report} = await fix(sim, '--cidr', 'fd00:99::/56', '--yes', '--force')
      expect(code).toBe(1)
      expect(report.result).toBe('refused')
      expect(report.message).toContain('is managed by the Tigera operator')
      expect(report.hint).toContain('kubectl edit installation default')
      expect(sim.server.sim.writes().filter((w) => w.resource === 'ippools')).toEqual([])
    } finally {
      await sim.stop()
    }
  })

  it('refuses a pool Argo CD manages unless --force, naming the application', async () => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      runbookUnused(s)
      poolIn(s, 'default-ipv6-ippool').metadata.annotations = {'argocd.argoproj.io/tracking-id': 'calico:crd.projectcalico.org/IPPool:/default-ipv6-ippool'}
    })
    try {
      const refused = await fix(sim, '--yes')
      expect(refused.code).toBe(1)
      expect(refused.report.message).toBe('IPPool default-ipv6-ippool is managed by Argo CD application "calico" (annotation argocd.argoproj.io/tracking-id), which would put it back')
      // What to change in Git: the application, the manifest and each field, from and to.
      expect(refused.report.hint).toBe('in the IPPool default-ipv6-ippool manifest of Argo CD application "calico" (its source in Git) change spec.cidr from 2001:0:0:1::/104 to 2001:0:0:2::/104, ' +
        'spec.natOutgoing from false to true, then sync application "calico" (argocd app sync calico); a change made with kubectl is put back by Argo CD; or pass --force')
      expect(refused.report.wrong).toEqual([
        {field: 'cidr', from: ORIGINAL.cidr, to: DESIRED.cidr, source: 'CALICO_IPV6POOL_CIDR=2001:0:0:2::/104'},
        {field: 'natOutgoing', from: false, to: true, source: 'CALICO_IPV6POOL_NAT_OUTGOING=true'},
      ])
      expect(refused.report.from).toMatchObject(ORIGINAL)
      expect(refused.report.to).toMatchObject({name: 'default-ipv6-ippool', spec: DESIRED})
      expect(sim.server.sim.writes().filter((w) => w.resource === 'ippools')).toEqual([])
      const forced = await fix(sim, '--yes', '--force')
      expect(forced.report.result).toBe('fixed')
    } finally {
      await sim.stop()
    }
  })

  it('refuses a --cidr over the Service range (kube-apiserver\'s flag) or the nodes\' InternalIPs as bad usage, naming what it overlaps; nothing written', async () => {
    const sim = await startSim('healthy-dual-stack')
    try {
      const service = await runPlugin(['ippool', 'fix', '--cidr', 'fd00:10:96::/112', '--dry-run', '--kubeconfig', sim.kubeconfig])
      expect(service).toMatchObject({code: 2, stderr: 'error: --cidr fd00:10:96::/112 overlaps the Service range fd00:10:96::/112 (kube-apiserver --service-cluster-ip-range, pod kube-apiserver-cp-1); ' +
        'a pod pool must not overlap the Service ranges or the nodes\' addresses: pass a range outside them\n'})
      const nodes = await runPlugin(['ippool', 'fix', '--cidr', 'fd00:10::/64', '--yes', '--kubeconfig', sim.kubeconfig])
      expect(nodes.code).toBe(2)
      expect(nodes.stderr).toMatch(/^error: --cidr fd00:10::\/64 overlaps node cp-1's InternalIP fd00:10::10, node worker-1's InternalIP fd00:10::11, node worker-2's InternalIP fd00:10::12; /)
      const v4 = await runPlugin(['ippool', 'fix', '--family', 'ipv4', '--cidr', '10.96.0.0/12', '--yes', '--kubeconfig', sim.kubeconfig])
      expect(v4.code).toBe(2)
      expect(v4.stderr).toMatch(/^error: --cidr 10.96.0.0\/12 overlaps the Service range 10.96.0.0\/16 /)
      expect(sim.server.sim.writes().filter((w) => w.resource === 'ippools' || w.resource === 'leases')).toEqual([])
    } finally {
      await sim.stop()
    }
  })

  it('where kube-apiserver is not a pod (RKE), the Service range is the ClusterIP a dry-run Service gets', async () => {
    const sim = await startSim('runbook-rke-1.18', runbookUnused)
    try {
      const result = await runPlugin(['ippool', 'fix', '--cidr', '2001:0:0:3::/104', '--yes', '--kubeconfig', sim.kubeconfig])
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/^error: --cidr 2001:0:0:3::\/104 overlaps the Service range \(a dry-run Service got the ClusterIP 2001:0:0:3::[0-9a-f]+ from it\); /)
      expect(sim.server.sim.writes().filter((w) => w.resource === 'ippools')).toEqual([])
    } finally {
      await sim.stop()
    }
  })

  it('refuses a --cidr that overlaps another pool; rejects a malformed or wrong-family --cidr as bad usage', async () => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      runbookUnused(s)
      s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'extra-ipv6'},
        spec: {cidr: '2001:0:0:5::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: '!all()', disabled: true}})
    })
    try {
      const {code, report} = await fix(sim, '--cidr', '2001:0:0:5::/112', '--yes')
      expect(code).toBe(1)
      expect(report.message).toBe('the new pool would not be valid: 2001:0:0:5::/112 overlaps IPPool extra-ipv6 (2001:0:0:5::/104)')
      const bad = await runPlugin(['ippool', 'fix', '--cidr', '2001:zz::/64', '--kubeconfig', sim.kubeconfig])
      expect(bad).toMatchObject({code: 2, stderr: 'error: --cidr "2001:zz::/64" is not a CIDR; e.g. --cidr fd00:10:244::/56\n'})
      const family = await runPlugin(['ippool', 'fix', '--cidr', '10.0.0.0/16', '--kubeconfig', sim.kubeconfig])
      expect(family).toMatchObject({code: 2, stderr: 'error: --cidr 10.0.0.0/16 is IPv4 but --family is ipv6; pass --family ipv4\n'})
      expect(sim.server.sim.writes().filter((w) => w.resource === 'ippools')).toEqual([])
    } finally {
      await sim.stop()
    }
  })
})

/** Calico by the Tigera operator: the Installation asks for an IPv6 pool with natOutgoing Enabled; the pool has it false. */
const OPERATOR_POOLS = [{cidr: '10.244.0.0/16', encapsulation: 'None', natOutgoing: 'Enabled'}, {cidr: 'fd00:10:244::/56', encapsulation: 'None', natOutgoing: 'Enabled'}]
const OPERATOR_NAT_REFUSAL = 'IPPool default-ipv6-ippool is managed by the Tigera operator from the Installation "default" (spec.calicoNetwork.ipPools[1]): it is not changed behind the operator\'s back; ' +
  'it differs from the Installation in natOutgoing false (spec.calicoNetwork.ipPools[1].natOutgoing: Enabled); the operator reconciles the pools it manages to the Installation, so a change made only to the IPPool is reverted'

describe('ippool fix on a Tigera operator install (calico-node in calico-system, NO_DEFAULT_POOLS)', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', viaOperator(OPERATOR_POOLS))
    const type = sim.server.sim.type('crd.projectcalico.org/v1', 'IPPool')
    const pool = poolOf(sim, 'default-ipv6-ippool')!
    sim.server.sim.store.write(type, {...pool, spec: {...pool.spec, natOutgoing: false}})
  })
  afterAll(() => sim.stop())

  it('doctor fails calico.ippool.nat-outgoing with the Installation\'s field as the fix, not calico-node\'s env', async () => {
    const result = await runPlugin(['doctor', '--only', 'calico.ippool.nat-outgoing', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    const [check] = (JSON.parse(result.stdout) as {checks: Array<{status: string; message: string; remediation: string}>}).checks
    expect(check!.status).toBe('fail')
    expect(check!.remediation).toContain('kubectl edit installation default: spec.calicoNetwork.ipPools[1].natOutgoing is Enabled')
    expect(check!.remediation).toContain('a change made only to the IPPool is reverted')
    expect(check!.remediation).not.toContain('CALICO_IPV6POOL')
    expect(check!.remediation).not.toContain('kubectl patch')
  })

  it('--dry-run reads the pool wanted from the Installation and refuses to patch the operator\'s pool, naming the field; --cidr gives the same answer', async () => {
    const dry = await fix(sim, '--dry-run')
    expect(dry.code).toBe(1)
    expect(dry.report).toMatchObject({result: 'refused', pool: 'default-ipv6-ippool', message: OPERATOR_NAT_REFUSAL,
      to: {name: 'default-ipv6-ippool', spec: {cidr: 'fd00:10:244::/56', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}},
      wrong: [{field: 'natOutgoing', from: false, to: true, source: 'spec.calicoNetwork.ipPools[1].natOutgoing: Enabled'}]})
    expect(dry.report.hint).toContain('kubectl get tigerastatus ippools')
    expect(dry.report.hint).toContain('spec.calicoNetwork.ipPools[1].natOutgoing with kubectl edit installation default')
    // The Installation's own CIDR: the same answer, not "already what calico-node would create".
    const same = await fix(sim, '--dry-run', '--cidr', 'fd00:10:244::/56')
    expect({code: same.code, result: same.report.result, message: same.report.message}).toEqual({code: 1, result: 'refused', message: OPERATOR_NAT_REFUSAL})
    const other = await fix(sim, '--yes', '--cidr', 'fd00:99::/56')
    expect({code: other.code, result: other.report.result}).toEqual({code: 1, result: 'refused'})
    expect(other.report.message).toContain('--cidr fd00:99::/56 is not its CIDR there (spec.calicoNetwork.ipPools[1].cidr is fd00:10:244::/56)')
    expect(other.report.hint).toContain('spec.calicoNetwork.ipPools[1].natOutgoing, spec.calicoNetwork.ipPools[1].cidr with kubectl edit installation default')
    expect(sim.server.sim.writes().filter((w) => w.resource === 'ippools')).toEqual([])
  })

  it('a pool that is what the Installation asks is unchanged, said so', async () => {
    const type = sim.server.sim.type('crd.projectcalico.org/v1', 'IPPool')
    const pool = poolOf(sim, 'default-ipv6-ippool')!
    sim.server.sim.store.write(type, {...pool, spec: {...pool.spec, natOutgoing: true}})
    const {code, report} = await fix(sim, '--dry-run')
    expect({code, result: report.result, message: report.message}).toEqual({code: 0, result: 'unchanged',
      message: 'nothing to do: IPPool default-ipv6-ippool already is what the Installation "default" asks (fd00:10:244::/56)'})
    const doctor = await runPlugin(['doctor', '--only', 'calico.ippool', '--kubeconfig', sim.kubeconfig])
    expect(doctor.code).toBe(0)
  })
})

describe('ippool fix on a Tigera operator install whose Installation has no IPv6 pool', () => {
  it('refuses, saying to add one to the Installation', async () => {
    const sim = await startSim('healthy-dual-stack', viaOperator(OPERATOR_POOLS.slice(0, 1)))
    try {
      const {code, report} = await fix(sim, '--dry-run', '--cidr', 'fd00:10:244::/56')
      expect({code, result: report.result}).toEqual({code: 1, result: 'refused'})
      expect(report.message).toMatch(/^the Installation "default" has no IPv6 pool in spec\.calicoNetwork\.ipPools/)
      expect(report.hint).toContain('kubectl edit installation default')
    } finally {
      await sim.stop()
    }
  })
})

describe('ippool fix through the Calico API server', () => {
  it('writes through projectcalico.org/v3 when it is served', async () => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      runbookUnused(s)
      s.calicoApiServer = true
    })
    try {
      const {code, report} = await fix(sim, '--yes')
      expect(code).toBe(0)
      expect(report.result).toBe('fixed')
      const poolWritePaths = sim.server.sim.writes().filter((w) => w.resource === 'ippools').map((w) => `${w.verb} ${w.path.split('?')[0]}`)
      expect(poolWritePaths).toEqual(['delete /apis/projectcalico.org/v3/ippools/default-ipv6-ippool', 'create /apis/projectcalico.org/v3/ippools', 'update /apis/projectcalico.org/v3/ippools/default-ipv6-ippool'])
      expect(poolOf(sim, 'default-ipv6-ippool')?.spec).toEqual(DESIRED)
    } finally {
      await sim.stop()
    }
  })
})

describe('ippool fix when a step fails', () => {
  // Each case: the fault, the message, and each action's status after the rollback (backup, delete, create, verify).
  const afterCreate = ['done', 'undone', 'failed', 'skipped']
  const cases: Array<[string, (s: Scenario) => void, RegExp, string[]]> = [
    ['the delete answers 500', (s) => (s.faults = [{verb: 'delete', resource: 'ippools', code: 500, times: 1}]), /delete IPPool default-ipv6-ippool failed: the API server failed: injected fault: HTTP 500/,
      ['done', 'failed', 'skipped', 'skipped']],
    ['the create answers 403', (s) => (s.faults = [{verb: 'create', resource: 'ippools', code: 403, times: 1}]),
      /create IPPool default-ipv6-ippool .* failed: forbidden: .*User "admin" cannot create resource "ippools" in API group "crd.projectcalico.org"/, afterCreate],
  ]
  it.each(cases)('%s: rolled back, the original pool is there, exit 1', async (_name, faults, message, statuses) => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      runbookUnused(s)
      faults(s)
    })
    try {
      const {code, report} = await fix(sim, '--yes')
      expect(code).toBe(1)
      expect(report.result).toBe('rolled-back')
      expect(report.message).toMatch(message)
      expect(report.message).toContain('everything done was undone')
      expect(report.actions.map((a) => a.status)).toEqual(statuses)
      expect(poolOf(sim, 'default-ipv6-ippool')?.spec).toEqual(ORIGINAL)
      expect(existsSync(report.backup!)).toBe(true)
      expect(sim.server.sim.store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'))).toEqual([])
    } finally {
      await sim.stop()
    }
  })

  it.each<[string, Scenario['faults']]>([
    ['the create is dropped (the connection closed)', [{verb: 'create', resource: 'ippools', drop: true, times: 1}]],
    ['the create times out (--request-timeout) and lands late', [{verb: 'create', resource: 'ippools', latencyMs: 2500, times: 1}]],
  ])('%s: the step waits it out and runs again (it re-reads first), and the fix lands once', async (_name, faults) => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      runbookUnused(s)
      s.faults = faults
    })
    try {
      const result = await runPlugin(['ippool', 'fix', '--yes', '-o', 'json', '--request-timeout', '1s', '--kubeconfig', sim.kubeconfig, '--backup-dir', sim.dir])
      const report = JSON.parse(result.stdout) as {result: string}
      expect({code: result.code, result: report.result}).toEqual({code: 0, result: 'fixed'})
      expect(result.stderr).toMatch(/\[3\/4\] create IPPool default-ipv6-ippool .*\n {2}(the API server closed the connection|request timed out after 1s) .*; trying again for up to \d+s\n\[4\/4\] verify/)
      // A late create that lands after the retry changes nothing: the pool is the one this run made.
      await new Promise((resolve) => setTimeout(resolve, 2000))
      expect(poolOf(sim, 'default-ipv6-ippool')?.spec).toEqual(DESIRED)
      expect(sim.server.sim.store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'))).toEqual([])
    } finally {
      await sim.stop()
    }
  })

  it('a timeout of the whole run (--timeout) before the new pool is verified rolls back', async () => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      runbookUnused(s)
      s.faults = [{verb: 'create', resource: 'ippools', latencyMs: 1500, times: 1}]
    })
    try {
      const {code, report} = await fix(sim, '--yes', '--timeout', '1s')
      expect(code).toBe(1)
      expect(report).toMatchObject({result: 'rolled-back'})
      expect(report.message).toMatch(/^timed out after 1s \(--timeout\)/)
      expect(poolOf(sim, 'default-ipv6-ippool')?.spec).toEqual(ORIGINAL)
    } finally {
      await sim.stop()
    }
  })
})

describe('ippool fix: a cluster it cannot reach', () => {
  it('exits 3 with one line, before anything was written', async () => {
    const sim = await startSim('runbook-rke-1.18')
    try {
      const port = await closedPort()
      const dead = sim.writeKubeconfig('kc-dead', {server: `https://127.0.0.1:${port}`})
      const result = await runPlugin(['ippool', 'fix', '--yes', '--kubeconfig', dead])
      expect(result.code).toBe(3)
      expect(result.stderr).toMatch(/^error: cannot connect to the API server: connection refused \(context "sim", server https:\/\/127\.0\.0\.1:\d+\); check that the cluster is running/)
      expect(result.stderr.split('\n')).toHaveLength(2)
      const viewer = sim.writeKubeconfig('kc-viewer', {user: 'nobody'})
      const denied = await runPlugin(['ippool', 'fix', '--yes', '--kubeconfig', viewer])
      expect(denied.code).toBe(3)
      expect(denied.stderr).toMatch(/^error: forbidden: .*User "nobody" cannot (get|list) resource "\w+"/)
      expect(sim.server.sim.writes()).toEqual([])
    } finally {
      await sim.stop()
    }
  })
})

describe('ippool fix: backups', () => {
  it('writes to ~/.kube/dualstack-backups by default', async () => {
    const sim = await startSim('runbook-rke-1.18', runbookUnused)
    const home = mkdtempSync(path.join(sim.dir, 'home-'))
    try {
      const result = await runPlugin(['ippool', 'fix', '--yes', '--kubeconfig', sim.kubeconfig], {HOME: home})
      expect(result.code).toBe(0)
      const files = readdirSync(path.join(home, '.kube', 'dualstack-backups'))
      expect(files).toEqual([expect.stringMatching(/^ippool-default-ipv6-ippool-sim-\d{4}-\d{2}-\d{2}T\d{9}Z\.yaml$/)])
      expect(result.stdout).toContain(`Backup: ${path.join(home, '.kube', 'dualstack-backups', files[0]!)}`)
    } finally {
      await sim.stop()
    }
  })

  it('a backup directory that cannot be made (under /proc) or a --timeout of 0s is bad usage before the Lease: exit 2 at once, nothing written', async () => {
    const sim = await startSim('runbook-rke-1.18', runbookUnused)
    try {
      const started = Date.now()
      const proc = await runPlugin(['ippool', 'fix', '--yes', '--backup-dir', '/proc/kubectl-dualstack/backups', '--kubeconfig', sim.kubeconfig])
      expect({code: proc.code, stderr: proc.stderr}).toEqual({code: 2, stderr: expect.stringMatching(/^error: cannot use the backup directory \/proc\/kubectl-dualstack\/backups: ENOENT.*; pass --backup-dir DIR with a writable directory\n$/)})
      expect(Date.now() - started).toBeLessThan(10_000)
      const zero = await runPlugin(['ippool', 'fix', '--yes', '--timeout', '0s', '--kubeconfig', sim.kubeconfig])
      expect({code: zero.code, stderr: zero.stderr}).toEqual({code: 2, stderr: expect.stringMatching(/^error: --timeout 0s leaves no time to wait for what the repair changes; /)})
      expect(sim.server.sim.writes()).toEqual([])
    } finally {
      await sim.stop()
    }
  })
})

/** A port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

function poolIn(s: Scenario, name: string): Obj {
  const pool = s.objects!.find((o) => o.kind === 'IPPool' && o.metadata.name === name)
  if (!pool) throw new Error(`no pool ${name}`)
  return pool
}

