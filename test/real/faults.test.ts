// Real faults in the middle of a repair, on a real control plane: the API server frozen (SIGSTOP) past the
// request timeout and resumed, the API server restarted, etcd restarted (ippool fix); the API server
// restarted under calico-restart. Each run ends with the pool as it
// was or as wanted (after --resume or --rollback when the run itself could not finish), nothing lost,
// and no Lease left behind.
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import path from 'node:path'
import {isDeepStrictEqual} from 'node:util'

import {runbookUnused} from '../commands/ops-helpers.js'
import type {RealCluster} from '../control-plane/cluster.js'
import {PLUGIN, runKubectl, runPlugin, testEnv} from '../sim/harness.js'
import {START_TIMEOUT, startReal} from './harness.js'

const ORIGINAL = {cidr: '2001:0:0:1::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()'}
const DESIRED = {cidr: '2001:0:0:2::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}

async function ipv6Pools(cluster: RealCluster): Promise<Array<{name: string; spec: Record<string, unknown>}>> {
  for (let attempt = 0; ; attempt++) {
    const result = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'ippools.crd.projectcalico.org', '-o', 'json'])
    if (result.code === 0) {
      return (JSON.parse(result.stdout).items as Array<{metadata: {name: string}; spec: Record<string, unknown>}>)
        .filter((p) => String(p.spec.cidr).includes(':')).map((p) => ({name: p.metadata.name, spec: p.spec}))
    }
    if (attempt > 40) throw new Error(result.stderr)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** Runs `ippool fix --yes` and calls `fault` once the audit log shows the pool's delete: the middle of the repair. */
async function fixWithFault(cluster: RealCluster, fault: () => Promise<void>): Promise<{code: number | null; stdout: string; stderr: string; faulted: boolean}> {
  const backups = mkdtempSync(path.join(cluster.dir, 'backup-'))
  const child = spawn(PLUGIN, ['ippool', 'fix', '--yes', '--request-timeout', '2s', '--backup-dir', backups, '--kubeconfig', cluster.kubeconfig], {env: testEnv()})
  let stderr = ''
  let stdout = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  let faulted = false
  const deadline = Date.now() + 20_000
  while (child.exitCode === null && Date.now() < deadline) {
    if (cluster.writes().some((e) => e.verb === 'delete' && e.objectRef?.resource === 'ippools' && !e.requestURI.includes('dryRun'))) {
      await fault()
      faulted = true
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const code = await exited
  return {code, stdout, stderr, faulted}
}

/**
 * The invariant: one IPv6 pool, as it was or as wanted. A run that could not put it back itself (the server
 * gone during its rollback too) says so and names the command that does; that command, run as told once the
 * server answers, finishes it. No Lease is left.
 */
async function expectOriginalOrDesired(cluster: RealCluster, run: {code: number | null; stdout: string; stderr: string}): Promise<void> {
  let pools = await ipv6Pools(cluster)
  const settled = pools.length === 1 && [ORIGINAL, DESIRED].some((spec) => isDeepStrictEqual(spec, pools[0]!.spec))
  if (!settled) {
    expect(run.code).not.toBe(0)
    const advice = /run 'kubectl dualstack ippool fix (--rollback|--resume)' when the cluster answers again/.exec(run.stdout + run.stderr)
    expect(advice).not.toBeNull()
    const finished = await runPlugin(['ippool', 'fix', advice![1]!, '--yes', '--kubeconfig', cluster.kubeconfig])
    // An asked-for rollback that put everything back is `rolled-back` (exit 1, as documented); a resume that finished is `fixed`.
    expect(finished.code).toBe(advice![1] === '--rollback' ? 1 : 0)
    expect(finished.stdout).toMatch(advice![1] === '--rollback' ? /^rolled-back: --rollback asked for; everything done was undone/m : /^fixed/m)
    pools = await ipv6Pools(cluster)
  }
  expect(pools).toHaveLength(1)
  expect([ORIGINAL, DESIRED]).toContainEqual(pools[0]!.spec)
  const leases = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'leases', '-n', 'kube-system', '-o', 'json'])
  const journals = (JSON.parse(leases.stdout).items as Array<{metadata: {name: string; annotations?: Record<string, string>}}>).filter((l) => l.metadata.name.includes('dualstack'))
  expect(journals).toEqual([])
}

describe('ippool fix while the API server is frozen past the request timeout', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', runbookUnused)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('ends as it was or as wanted', async () => {
    const run = await fixWithFault(cluster, async () => {
      cluster.signal('kube-apiserver', 'SIGSTOP')
      await new Promise((resolve) => setTimeout(resolve, 5000))
      cluster.signal('kube-apiserver', 'SIGCONT')
    })
    expect(run.faulted).toBe(true)
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /)
    await expectOriginalOrDesired(cluster, run)
  })
})

describe('ippool fix while the API server restarts', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', runbookUnused)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('ends as it was or as wanted', async () => {
    const run = await fixWithFault(cluster, () => cluster.restart('kube-apiserver'))
    expect(run.faulted).toBe(true)
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /)
    await expectOriginalOrDesired(cluster, run)
  })
})

describe('ippool fix while etcd restarts', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', runbookUnused)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('ends as it was or as wanted', async () => {
    const run = await fixWithFault(cluster, () => cluster.restart('etcd'))
    expect(run.faulted).toBe(true)
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /)
    await expectOriginalOrDesired(cluster, run)
  })
})

describe('calico-restart while the API server restarts', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack')
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('every node ends with a Ready calico-node, the run says what happened, and no Lease is left for the next operator', async () => {
    const child = spawn(PLUGIN, ['calico-restart', '--yes', '--request-timeout', '2s', '--kubeconfig', cluster.kubeconfig], {env: testEnv()})
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const deadline = Date.now() + 20_000
    while (child.exitCode === null && Date.now() < deadline && !cluster.writes().some((e) => e.verb === 'delete' && e.objectRef?.resource === 'pods')) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await cluster.restart('kube-apiserver')
    const code = await exited
    expect(output).not.toMatch(/unexpected error|\n\s+at /)
    // The real DaemonSet controller brings back whatever was deleted; the plugin does not leave a node without one.
    let ready: string[] = []
    for (let i = 0; i < 100 && ready.length < 3; i++) {
      const pods = JSON.parse((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node', '-o', 'json'])).stdout || '{"items":[]}') as
        {items: Array<{spec: {nodeName: string}; status: {conditions?: Array<{type: string; status: string}>}}>}
      ready = pods.items.filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((p) => p.spec.nodeName).sort()
      if (ready.length < 3) await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(ready).toEqual(['cp-1', 'worker-1', 'worker-2'])
    // Its waits watch and resume across the restart: it finishes (as seen here), or says where it stopped.
    expect(output).toMatch(code === 0 ? /^restarted: 3 calico-node pod\(s\) restarted node by node/m : /^(failed|interrupted)/m)
    const again = await runPlugin(['calico-restart', '--dry-run', '--kubeconfig', cluster.kubeconfig])
    expect(again).toMatchObject({code: 0})
  })
})
