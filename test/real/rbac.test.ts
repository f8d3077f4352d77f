// Least privilege against the real authorizer: rbac/ applied with the real kubectl to a manifest install
// (Calico in kube-system, no calico-system namespace), each command run as a user in exactly the groups the
// shipped bindings name. The real API server answers 403 for a namespace that does not exist, where the
// simulator used to answer 404: that is what broke doctor here before.
import {readdirSync} from 'node:fs'
import path from 'node:path'

import type {RealCluster} from '../control-plane/cluster.js'
import {ROOT, runPlugin} from '../sim/harness.js'
import {viaOperator} from '../sim/scenario.js'
import {LONG_TEST, START_TIMEOUT, startReal, type DoctorJson} from './harness.js'

const USERS = [
  {name: 'reader', groups: ['kubectl-dualstack:read']},
  {name: 'prober', groups: ['kubectl-dualstack:read', 'kubectl-dualstack:probe']},
  {name: 'repairer', groups: ['kubectl-dualstack:read', 'kubectl-dualstack:repair']},
]

function applyRbac(cluster: RealCluster): string {
  // What the README tells a manifest install to run: every file at the top of rbac/, as they are.
  expect(readdirSync(path.join(ROOT, 'rbac')).filter((f) => f.endsWith('.yaml')).sort()).toEqual(['probe.yaml', 'read.yaml', 'repair.yaml'])
  return cluster.kubectl(cluster.kubeconfig, ['apply', '-f', path.join(ROOT, 'rbac')])
}

describe('rbac/ on a real control plane: the healthy manifest install', () => {
  let cluster: RealCluster
  const as = (user: string) => cluster.writeKubeconfig(`${user}.kubeconfig`, {user})
  let applied: string
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', undefined, {users: USERS})
    applied = applyRbac(cluster)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('kubectl apply -f rbac/ applies cleanly where there is no calico-system namespace', () => {
    expect(applied).toMatch(/clusterrole\.rbac\.authorization\.k8s\.io\/kubectl-dualstack-read created/)
    expect(applied).not.toMatch(/calico-system/)
  })

  it('read.yaml: pod-ips works; doctor runs every check, and only the two that need probe.yaml say error', async () => {
    const pods = await runPlugin(['pod-ips', '-A', '--kubeconfig', as('reader')])
    expect(pods).toMatchObject({code: 0, stderr: ''})
    const doctor = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', as('reader')])
    const checks = (JSON.parse(doctor.stdout) as DoctorJson).checks
    const errored = checks.filter((c) => c.status === 'error')
    expect(errored.map((c) => c.id).sort()).toEqual(['apiserver.service-cidr', 'node.ipv6-forwarding'])
    expect(errored.find((c) => c.id === 'node.ipv6-forwarding')!.message).toMatch(/cannot create resource "pods\/exec"/)
    expect(errored.find((c) => c.id === 'apiserver.service-cidr')!.message).toMatch(/cannot create resource "services"/)
    expect(checks.filter((c) => c.status === 'pass').length).toBe(21)
    // get on the repairs' Lease (by name, in Calico's namespace) is read.yaml's: a repair left half-done is seen.
    expect(checks.find((c) => c.id === 'repairs.unfinished')).toMatchObject({status: 'pass', message: 'no Lease kube-system/kubectl-dualstack: no repair is running or left half-done'})
  })

  it('read.yaml + probe.yaml: doctor has no errors; svc-check and connectivity work and leave nothing behind', async () => {
    const doctor = JSON.parse((await runPlugin(['doctor', '-o', 'json', '--kubeconfig', as('prober')])).stdout) as DoctorJson
    expect(doctor.checks.filter((c) => c.status !== 'pass')).toEqual([])
    expect((await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--kubeconfig', as('prober')])).code).toBe(0)
    const connectivity = await runPlugin(['connectivity', '--kubeconfig', as('prober')])
    expect(connectivity).toMatchObject({code: 0})
  })

  it('read.yaml alone: svc-check cannot create its pod, and says so in one line (exit 3)', async () => {
    const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--kubeconfig', as('reader')])
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/^error: forbidden: .*cannot create resource "pods"/)
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('the ClusterRole kubectl-dualstack-probe (rbac/probe.yaml) grants it')
  })
})

describe('rbac/ on a real control plane: the repair role on the runbook cluster', () => {
  let cluster: RealCluster
  const as = (user: string) => cluster.writeKubeconfig(`${user}.kubeconfig`, {user})
  beforeAll(async () => {
    cluster = await startReal('runbook-rke-1.18', undefined, {users: USERS})
    applyRbac(cluster)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('read.yaml alone: the dry runs work (a dry run needs only read access), see the Lease (read.yaml may get it) and note what a real run would lack', async () => {
    const since = cluster.writes('reader').length
    const fix = await runPlugin(['ippool', 'fix', '--dry-run', '-o', 'json', '--kubeconfig', as('reader')])
    expect({code: fix.code, stderr: fix.stderr}).toEqual({code: 0, stderr: ''})
    const report = JSON.parse(fix.stdout) as {result: string; notes: string[]}
    expect(report.result).toBe('planned')
    expect(report.notes).toEqual(expect.arrayContaining([
      expect.stringMatching(/^user "reader" could not apply this plan: missing get leases\.coordination\.k8s\.io in kube-system, .*delete ippools\.crd\.projectcalico\.org/),
    ]))
    expect(report.notes.join('\n')).not.toContain('may not read the Lease')
    const restart = await runPlugin(['calico-restart', '--dry-run', '-o', 'json', '--kubeconfig', as('reader')])
    expect({code: restart.code, stderr: restart.stderr}).toEqual({code: 0, stderr: ''})
    expect((JSON.parse(restart.stdout) as {warnings: string[]}).warnings.join('\n')).not.toContain('may not read the Lease')
    const recreate = await runPlugin(['pods', 'recreate', '--single-stack', '-A', '--dry-run', '-o', 'json', '--kubeconfig', as('reader')])
    expect({code: recreate.code, stderr: recreate.stderr}).toEqual({code: 0, stderr: ''})
    const recreated = JSON.parse(recreate.stdout) as {result: string; notes: string[]}
    expect(recreated.result).toBe('planned')
    expect(recreated.notes.join('\n')).toMatch(/user "reader" could not recreate these: missing /)
    expect(cluster.writes('reader').slice(since).filter((e) => e.objectRef?.resource !== 'selfsubjectaccessreviews')).toEqual([])
  })

  it('read.yaml + repair.yaml: ippool fix --dry-run, ippool fix and calico-restart work; the audit log shows them as that user', async () => {
    const dryRun = await runPlugin(['ippool', 'fix', '--dry-run', '--kubeconfig', as('repairer')])
    expect(dryRun).toMatchObject({code: 0})
    expect(dryRun.stdout).not.toContain('could not apply this plan')
    const fix = await runPlugin(['ippool', 'fix', '--yes', '--kubeconfig', as('repairer')])
    expect(fix.stderr).not.toMatch(/forbidden/)
    expect(fix.code).toBe(0)
    const restart = await runPlugin(['calico-restart', '--yes', '--timeout', '60s', '--kubeconfig', as('repairer')])
    expect(restart.code).toBe(0)
    const recreate = await runPlugin(['pods', 'recreate', '--single-stack', '-A', '--dry-run', '--kubeconfig', as('repairer')])
    expect(recreate).toMatchObject({code: 0})
    expect(recreate.stdout + recreate.stderr).not.toMatch(/forbidden|could not apply/)
    const writes = cluster.writes('repairer').filter((e) => !e.requestURI.includes('dryRun'))
    // The migration's create and disable, then, once it is over, the new pool marked done and the old one's mark cleared.
    expect(writes.filter((e) => e.objectRef?.resource === 'ippools').map((e) => `${e.verb} ${e.responseStatus?.code}`)).toEqual(['create 201', 'update 200', 'update 200', 'update 200'])
    expect(writes.filter((e) => e.objectRef?.resource === 'pods' && e.verb === 'delete')).toHaveLength(4)
  }, LONG_TEST)

  it('read.yaml alone: the repairs refuse before their first write, in one line naming the shipped role (exit 3)', async () => {
    const since = cluster.writes('reader').length
    // The pool was fixed above: with nothing to do, reading is all it takes (read.yaml may get the Lease).
    const fix = await runPlugin(['ippool', 'fix', '--yes', '--kubeconfig', as('reader')])
    expect(fix).toMatchObject({code: 0, stderr: ''})
    expect(fix.stdout).toContain('nothing to do')
    // Refused by the access check (before any write), naming what is missing and the role to bind.
    const restart = await runPlugin(['calico-restart', '--yes', '--kubeconfig', as('reader')])
    expect(restart.code).toBe(3)
    expect(restart.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(restart.stderr).toMatch(/^error: calico-restart needs permissions that user "reader" does not have: .*create leases\.coordination\.k8s\.io in kube-system.* \(checked before any change; nothing was written\); bind the kubectl-dualstack-repair ClusterRole \(rbac\/repair\.yaml\)/)
    expect(cluster.writes('reader').slice(since).filter((e) => e.objectRef?.resource !== 'selfsubjectaccessreviews')).toEqual([])
  })
})

describe('rbac/ on a real control plane: a Tigera operator install (Calico in calico-system)', () => {
  let cluster: RealCluster
  const as = (user: string) => cluster.writeKubeconfig(`${user}.kubeconfig`, {user})
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', viaOperator([
      {cidr: '10.244.0.0/16', encapsulation: 'None', natOutgoing: 'Enabled'},
      {cidr: 'fd00:10:244::/56', encapsulation: 'None', natOutgoing: 'Enabled'},
    ]), {users: USERS})
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('kubectl apply -f rbac/ -f rbac/operator/ applies; doctor as read + probe passes every check, calico-node exec\'d in calico-system', async () => {
    applyRbac(cluster)
    expect(cluster.kubectl(cluster.kubeconfig, ['apply', '-f', path.join(ROOT, 'rbac', 'operator')])).toMatch(/rolebinding\.rbac\.authorization\.k8s\.io\/kubectl-dualstack-read-config (created|unchanged)/)
    const doctor = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', as('prober')])
    const checks = (JSON.parse(doctor.stdout) as DoctorJson).checks
    expect(checks.filter((c) => c.status !== 'pass' && c.status !== 'skip')).toEqual([])
    expect(checks.find((c) => c.id === 'calico.installed')!.message).toMatch(/operator/i)
    expect(checks.find((c) => c.id === 'node.ipv6-forwarding')!.message).toBe('net.ipv6.conf.all.forwarding = 1 on all 3 nodes')
  })

  it('without rbac/operator/: the checks that read calico-system\'s ConfigMaps say error, naming the file that binds the role there', async () => {
    applyRbac(cluster)
    cluster.kubectl(cluster.kubeconfig, ['delete', '--ignore-not-found', '-f', path.join(ROOT, 'rbac', 'operator')])
    const doctor = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', as('prober')])
    const errored = (JSON.parse(doctor.stdout) as DoctorJson).checks.filter((c) => c.status === 'error')
    expect(errored.map((c) => c.id)).toContain('calico.node-env')
    for (const check of errored) {
      expect(check.message).toMatch(/cannot list resource "configmaps" in API group "" in the namespace "calico-system"/)
      expect(check.remediation).toMatch(/^the ClusterRole kubectl-dualstack-read-config \(rbac\/operator\/calico-system\.yaml\) grants it/)
    }
  })
})
