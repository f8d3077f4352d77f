// Real faults in the middle of a repair, on a real control plane: the API server frozen (SIGSTOP) past the
// request timeout and resumed, the API server restarted, etcd restarted (ippool fix); the API server
// restarted under calico-restart and pods recreate. Each run waits the fault out and ends by itself with the
// pool as it was or as wanted, nothing lost, and no Lease left behind.
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import path from 'node:path'

import {runbookUnused} from '../commands/ops-helpers.js'
import type {AuditEvent, RealCluster} from '../control-plane/cluster.js'
import {PLUGIN, runKubectl, runPlugin, testEnv} from '../sim/harness.js'
import {cniWithoutIpv6, enableCniIpv6, LONG_TEST, poolSpecs, RUNBOOK_IPV6_POOL as ORIGINAL, RUNBOOK_IPV6_WANTED as DESIRED, START_TIMEOUT, startReal} from './harness.js'

async function ipv6Pools(cluster: RealCluster): Promise<Array<{name: string; spec: Record<string, unknown>}>> {
  return Object.entries(await poolSpecs(cluster)).filter(([, spec]) => String(spec.cidr).includes(':')).map(([name, spec]) => ({name, spec}))
}

/**
 * Starts the plugin, waits (bounded) until the audit log shows `trigger`, runs `fault` while the plugin still
 * runs, and returns how the plugin ended. The plugin is killed if it has not ended 2 minutes later.
 */
async function runWithFault(cluster: RealCluster, args: string[], trigger: (e: AuditEvent) => boolean, fault: () => Promise<void>): Promise<{code: number | null; stdout: string; stderr: string; faultedWhileRunning: boolean}> {
  const child = spawn(PLUGIN, args, {env: testEnv()})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const deadline = Date.now() + 20_000
  while (child.exitCode === null && Date.now() < deadline && !cluster.writes().some(trigger)) await new Promise((resolve) => setTimeout(resolve, 5))
  const faultedWhileRunning = child.exitCode === null && cluster.writes().some(trigger)
  await fault()
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000)
  const code = await exited
  clearTimeout(killer)
  return {code, stdout, stderr, faultedWhileRunning}
}

/** `ippool fix --yes` with `fault` once the audit log shows the pool's delete: the middle of the repair. */
function fixWithFault(cluster: RealCluster, fault: () => Promise<void>) {
  const backups = mkdtempSync(path.join(cluster.dir, 'backup-'))
  return runWithFault(cluster, ['ippool', 'fix', '--yes', '--request-timeout', '2s', '--backup-dir', backups, '--kubeconfig', cluster.kubeconfig],
    (e) => e.verb === 'delete' && e.objectRef?.resource === 'ippools' && !e.requestURI.includes('dryRun'), fault)
}

/**
 * The invariant: one IPv6 pool, as it was or as wanted, reached by the run itself: its steps wait out an API
 * server that does not answer (bounded), so it ends fixed (exit 0) or rolled back (exit 1), never half-way
 * with a journal for --resume. No Lease is left.
 */
async function expectOriginalOrDesired(cluster: RealCluster, run: {code: number | null; stdout: string; stderr: string}): Promise<void> {
  const pools = await ipv6Pools(cluster)
  const ending = /^(fixed|rolled-back): /m.exec(run.stdout)?.[1]
  expect({code: run.code, ending, stderr: run.stderr}).toMatchObject(ending === 'rolled-back' ? {code: 1, ending} : {code: 0, ending: 'fixed'})
  expect(pools).toHaveLength(1)
  expect(pools[0]!.spec).toEqual(ending === 'fixed' ? DESIRED : ORIGINAL)
  const leases = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'leases', '-n', 'kube-system', '-o', 'json'])
  const journals = (JSON.parse(leases.stdout).items as Array<{metadata: {name: string; annotations?: Record<string, string>}}>).filter((l) => l.metadata.name.includes('dualstack'))
  expect(journals).toEqual([])
}

/** The faults: what each does to the running control plane, once the repair is half-way. */
const FAULTS: Array<[string, (cluster: RealCluster) => Promise<void>]> = [
  ['the API server is frozen past the request timeout', async (cluster) => {
    cluster.signal('kube-apiserver', 'SIGSTOP')
    await new Promise((resolve) => setTimeout(resolve, 5000))
    cluster.signal('kube-apiserver', 'SIGCONT')
  }],
  ['the API server restarts', (cluster) => cluster.restart('kube-apiserver')],
  ['etcd restarts', (cluster) => cluster.restart('etcd')],
]

describe.each(FAULTS)('ippool fix while %s', (_fault, inject) => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', runbookUnused)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('ends as it was or as wanted', async () => {
    const run = await fixWithFault(cluster, () => inject(cluster))
    expect(run.faultedWhileRunning).toBe(true)
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /)
    await expectOriginalOrDesired(cluster, run)
  }, LONG_TEST)
})

describe('calico-restart while the API server restarts', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack')
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('every node ends with a Ready calico-node, the run itself finishes (it waits out the restart), and no Lease is left for the next operator', async () => {
    const run = await runWithFault(cluster, ['calico-restart', '--yes', '--request-timeout', '2s', '--kubeconfig', cluster.kubeconfig],
      (e) => e.verb === 'delete' && e.objectRef?.resource === 'pods', () => cluster.restart('kube-apiserver'))
    expect(run.faultedWhileRunning).toBe(true)
    const {code} = run
    const output = run.stdout + run.stderr
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
    // Its waits watch and resume across the restart, and a step that meets the API server down waits it out: it finishes.
    expect({code, restarted: /^restarted: 3 calico-node pod\(s\) restarted node by node/m.test(output)}).toEqual({code: 0, restarted: true})
    const again = await runPlugin(['calico-restart', '--dry-run', '--kubeconfig', cluster.kubeconfig])
    expect(again).toMatchObject({code: 0})
  }, LONG_TEST)
})

describe('pods recreate while the API server restarts', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', cniWithoutIpv6)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('every Deployment ends available and the run itself finishes (it waits out the restart)', async () => {
    await enableCniIpv6(cluster)
    const args = ['pods', 'recreate', '--single-stack', '-n', 'kube-system', '--yes', '--request-timeout', '2s', '--kubeconfig', cluster.kubeconfig]
    const run = await runWithFault(cluster, args, (e) => e.verb === 'patch' && e.objectRef?.resource === 'deployments', () => cluster.restart('kube-apiserver'))
    expect(run.faultedWhileRunning).toBe(true)
    const {code} = run
    const output = run.stdout + run.stderr
    expect(output).not.toMatch(/unexpected error|\n\s+at /)
    // A step that meets the API server down waits it out and runs again: the run finishes.
    expect({code, recreated: /^recreated: 2 owner\(s\) recreated/m.test(output), output}).toMatchObject({code: 0, recreated: true})
    const deployments = JSON.parse((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'deployments', '-n', 'kube-system', '-o', 'json'])).stdout) as
      {items: Array<{metadata: {name: string}; spec: {replicas: number}; status: {availableReplicas?: number; updatedReplicas?: number}}>}
    expect(deployments.items.map((d) => [d.metadata.name, d.status.availableReplicas, d.status.updatedReplicas])).toEqual(deployments.items.map((d) => [d.metadata.name, d.spec.replicas, d.spec.replicas]))
    const stacks = JSON.parse((await runPlugin(['pod-ips', '-n', 'kube-system', '-o', 'json', '--kubeconfig', cluster.kubeconfig])).stdout) as {items: Array<{name: string; stack: string; hostNetwork: boolean}>}
    expect(stacks.items.filter((p) => !p.hostNetwork && /^(coredns|calico-kube-controllers)-/.test(p.name)).every((p) => p.stack === 'dual')).toBe(true)
  }, LONG_TEST)
})
