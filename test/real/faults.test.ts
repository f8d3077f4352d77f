// Real faults in the middle of a repair, on a real control plane: the API server frozen (SIGSTOP) past the
// request timeout and resumed, the API server restarted, etcd restarted. Each run ends with the pool as it
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
