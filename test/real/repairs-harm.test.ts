// Repairs that never harm, on a real control plane: a pool of the name a migration wants that someone else
// made, a run killed while the real Deployment controller moves pods to the new pool, dry runs of --resume
// and --rollback (the audit log shows they write nothing), a rollback that must not take the new pool from
// the pods on it, and the printed restore (kubectl apply -f BACKUP) putting a disabled pool back by itself.
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {withoutBarePods} from '../commands/ops-helpers.js'
import type {AuditEvent, RealCluster} from '../control-plane/cluster.js'
import {interruptPlugin, PLUGIN, runKubectl, runPlugin, testEnv} from '../sim/harness.js'
import {LONG_TEST, poolSpecs as pools, RUNBOOK_IPV6_POOL as ORIGINAL, RUNBOOK_IPV6_WANTED as DESIRED, START_TIMEOUT, startReal} from './harness.js'

const NEW_POOL = 'default-ipv6-ippool-2001-0-0-2---104-2'
const THEIRS = 'default-ipv6-ippool-2001-0-0-2---104'

async function fix(cluster: RealCluster, ...args: string[]) {
  const result = await runPlugin(['ippool', 'fix', '-o', 'json', '--kubeconfig', cluster.kubeconfig, ...args])
  try {
    return {code: result.code, stderr: result.stderr, report: JSON.parse(result.stdout)}
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`)
  }
}

/** Writes that were not dry runs since `since`, as "verb resource name". */
function realWrites(cluster: RealCluster, since: number): string[] {
  return cluster.writes().slice(since).filter((e) => !e.requestURI.includes('dryRun=All'))
    .map((e: AuditEvent) => `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef?.name ?? ''}`.trim())
}

/** Runs the plugin and SIGKILLs it the moment the audit log shows `trigger`: a run that stopped half-way, for real. */
async function killedAt(cluster: RealCluster, args: string[], trigger: (e: AuditEvent) => boolean): Promise<{stderr: string; killed: boolean}> {
  const child = spawn(PLUGIN, args, {env: testEnv()})
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const deadline = Date.now() + 60_000
  while (child.exitCode === null && Date.now() < deadline && !cluster.writes().some(trigger)) await new Promise((resolve) => setTimeout(resolve, 5))
  const killed = child.exitCode === null
  child.kill('SIGKILL')
  await exited
  return {stderr, killed}
}

describe('ippool fix on a real control plane: repairs that never harm what they must protect', () => {
  let cluster: RealCluster
  let backups: string
  let backup: string
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', withoutBarePods)
    backups = mkdtempSync(path.join(cluster.dir, 'backup-'))
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('a pool with the name the migration would give its new pool, made by someone else: the plan picks a free name and never touches theirs', async () => {
    const theirs = {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: THEIRS}, spec: {cidr: '2001:0:0:99::/104', disabled: true}}
    const file = path.join(cluster.dir, 'theirs.json')
    writeFileSync(file, JSON.stringify(theirs))
    const created = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'create', '-f', file])
    expect(created.code).toBe(0)
    const since = cluster.writes().length
    const {code, report} = await fix(cluster, '--dry-run')
    expect(code).toBe(0)
    expect(report).toMatchObject({strategy: 'migrate', to: {name: NEW_POOL}, result: 'planned'})
    expect(realWrites(cluster, since)).toEqual([])
  })

  it('killed while the real Deployment controller moves the pods: --resume --dry-run and --rollback --dry-run write nothing, need no --yes, and count who holds each pool now', async () => {
    const run = await killedAt(cluster, ['ippool', 'fix', '--recreate-pods', '--yes', '--backup-dir', backups, '--kubeconfig', cluster.kubeconfig],
      (e) => e.verb === 'patch' && e.objectRef?.resource === 'deployments' && e.objectRef?.name === 'calico-kube-controllers')
    expect(run.killed).toBe(true)
    backup = /backup written: (\S+)/.exec(run.stderr)![1]!
    // The controller finishes the rollout the run started: the pod moves to the new pool.
    expect((await runKubectl(['--kubeconfig', cluster.kubeconfig, '-n', 'kube-system', 'rollout', 'status', 'deployment/calico-kube-controllers', '--timeout', '60s'])).code).toBe(0)

    const since = cluster.writes().length
    const resume = await fix(cluster, '--resume', '--dry-run', '--yes')
    expect({code: resume.code, result: resume.report.result}).toEqual({code: 0, result: 'planned'})
    expect(resume.report.message).toMatch(/^dry run: nothing was written; would resume: a previous ippool fix \(migrate of default-ipv6-ippool, started .*\) stopped half-way: 4 of 6 steps done, next: recreate the pods/)
    const rollback = await fix(cluster, '--rollback', '--dry-run')
    expect({code: rollback.code, result: rollback.report.result}).toEqual({code: 0, result: 'planned'})
    // Counted now: the pod the rollout moved holds an address of the new pool.
    expect(rollback.report.impact).toMatchObject({cidr: '2001:0:0:2::/104', pods: [expect.stringMatching(/^kube-system\/calico-kube-controllers-/)]})
    // What it would undo, newest first: not the forward step a resume takes.
    expect(rollback.report.message).toMatch(new RegExp(`4 of 6 steps done, to undo: disable IPPool default-ipv6-ippool \\(no new addresses come from it\\); create IPPool ${NEW_POOL} `))
    expect(realWrites(cluster, since)).toEqual([])
    expect((await pools(cluster))[NEW_POOL]).toEqual(DESIRED)
  }, LONG_TEST)

  it('--rollback does not take the new pool from the pod on it: it is disabled and named with what to move; the old pool is enabled again, theirs untouched', async () => {
    const since = cluster.writes().length
    const {code, report} = await fix(cluster, '--rollback', '--yes')
    expect({code, result: report.result}).toEqual({code: 1, result: 'rolled-back'})
    expect(report.left.join('\n')).toMatch(new RegExp(`IPPool ${NEW_POOL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(2001:0:0:2::/104\\) is left disabled, not deleted: 1 pod\\(s\\) hold its addresses \\(kube-system/calico-kube-controllers-.*\\); move them with kubectl dualstack pods recreate --in-pool`))
    const after = await pools(cluster)
    expect(after['default-ipv6-ippool']).toEqual(ORIGINAL)
    expect(after[NEW_POOL]).toEqual({...DESIRED, disabled: true})
    expect(after[THEIRS]).toEqual({cidr: '2001:0:0:99::/104', disabled: true})
    const writes = realWrites(cluster, since).filter((w) => w.includes(' ippools '))
    expect(writes.some((w) => w.startsWith('delete '))).toBe(false)
    expect(writes.some((w) => w.endsWith(THEIRS))).toBe(false)
  }, LONG_TEST)

  it('the printed restore, kubectl apply -f BACKUP, puts a disabled pool back by itself (the backup writes disabled: false)', async () => {
    expect((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'patch', 'ippools.crd.projectcalico.org', 'default-ipv6-ippool', '--type', 'merge', '-p', '{"spec":{"disabled":true}}'])).code).toBe(0)
    const applied = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'apply', '-f', backup])
    expect(applied.code).toBe(0)
    expect((await pools(cluster))['default-ipv6-ippool']).toEqual({...ORIGINAL, disabled: false})
  })
})

describe('ippool fix --recreate-pods on a real control plane: a PodDisruptionBudget blocks an eviction', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', (s) => {
      withoutBarePods(s)
      const labels = {app: 'orphan'}
      s.objects!.push(
        {apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: {name: 'orphan', namespace: 'default'}, spec: {replicas: 1, selector: {matchLabels: labels},
          template: {metadata: {labels}, spec: {containers: [{name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53'}]}}}},
        {apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: {name: 'orphan', namespace: 'default'}, spec: {minAvailable: 1, selector: {matchLabels: labels}}},
      )
    })
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('the real eviction API refuses (429): the run fails (exit 1) saying what is left and to finish with --resume, never "fixed"', async () => {
    expect((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'wait', '--for=condition=Ready', 'pod', '-l', 'app=orphan', '-n', 'default', '--timeout', '60s'])).code).toBe(0)
    const since = cluster.writes().length
    const {code, report} = await fix(cluster, '--recreate-pods', '--yes', '--backup-dir', mkdtempSync(path.join(cluster.dir, 'backup-')))
    expect({code, result: report.result}).toEqual({code: 1, result: 'failed'})
    expect(report.message).toMatch(/ReplicaSet default\/orphan: eviction blocked by a PodDisruptionBudget.*finish with: kubectl dualstack ippool fix --resume$/)
    expect(realWrites(cluster, since).filter((w) => w.startsWith('create pods/eviction'))).not.toEqual([])
    expect(cluster.writes().slice(since).filter((e) => e.objectRef?.subresource === 'eviction').every((e) => e.responseStatus?.code === 429)).toBe(true)
    const after = await pools(cluster)
    expect(after['default-ipv6-ippool']).toEqual({...ORIGINAL, disabled: true})
    expect(after['default-ipv6-ippool-2001-0-0-2---104']).toEqual(DESIRED)
  }, LONG_TEST)
})

describe('calico-restart on a real control plane: Ctrl-C while a node is waited for', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack')
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('no further node is restarted, the Lease is released (not left for the next operator), exit 130; the next run works', async () => {
    // worker-1's kubelet (the agent) leaves new pods Pending from now on: its new calico-node never gets Ready.
    const nodes = (cluster.agent as unknown as {options: {scenario: {nodes: Array<{name: string; podsPending?: {reason: string; message: string}}>}}}).options.scenario.nodes
    nodes.find((n) => n.name === 'worker-1')!.podsPending = {reason: 'ContainerCreating', message: 'waiting for the CNI'}
    const since = cluster.writes().length
    const podDeletes = () => cluster.writes().slice(since).filter((e) => e.verb === 'delete' && e.objectRef?.resource === 'pods')
    const {code, stderr} = await interruptPlugin(['calico-restart', '--yes', '--timeout', '60s', '--kubeconfig', cluster.kubeconfig], () => podDeletes().length >= 2)
    expect({code, stderr}).toMatchObject({code: 130, stderr: expect.stringContaining('[2/4] restart calico-node on worker-1')})
    expect(stderr).not.toContain('[3/4]')
    expect(podDeletes()).toHaveLength(2)
    const leases = JSON.parse((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'leases', '-n', 'kube-system', '-o', 'json'])).stdout) as {items: Array<{metadata: {name: string}}>}
    expect(leases.items.filter((l) => l.metadata.name === 'kubectl-dualstack')).toEqual([])
    delete nodes.find((n) => n.name === 'worker-1')!.podsPending
    const again = await runPlugin(['calico-restart', '--yes', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
    expect({code: again.code, result: (JSON.parse(again.stdout) as {result: string}).result}).toEqual({code: 0, result: 'restarted'})
  }, LONG_TEST)
})
