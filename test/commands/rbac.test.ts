// Least privilege: each command run as a user bound to exactly the roles rbac/ ships for it (the YAML is
// read and turned into the simulated API server's RBAC rules). With them it works; with less, a check says
// `error` naming what is missing and the others run; a repair refuses before its first write.
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {parseAllDocuments} from 'yaml'

import {ROOT, runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import type {RbacRule, UserSpec} from '../sim/scenario.js'

interface Doc {
  kind: string
  metadata: {name: string; namespace?: string}
  rules?: Array<{apiGroups: string[]; resources: string[]; verbs: string[]}>
  roleRef?: {name: string}
}

/** The rules that binding the files' roles as they bind them gives: RoleBindings limit them to their namespace. */
function rulesOf(...files: string[]): RbacRule[] {
  const docs = files.flatMap((file) => parseAllDocuments(readFileSync(path.join(ROOT, 'rbac', file), 'utf8')).map((d) => d.toJS() as Doc))
  const roles = new Map(docs.filter((d) => d.kind === 'ClusterRole').map((d) => [d.metadata.name, d.rules ?? []]))
  return docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding').flatMap((binding) => {
    const rules = roles.get(binding.roleRef!.name)
    if (!rules) throw new Error(`${binding.metadata.name} binds ${binding.roleRef!.name}, which rbac/ does not define`)
    return rules.map((rule) => ({verbs: rule.verbs, apiGroups: rule.apiGroups, resources: rule.resources,
      ...(binding.kind === 'RoleBinding' ? {namespaces: [binding.metadata.namespace!]} : {})}))
  })
}

function without(rules: RbacRule[], verb: string, resource: string): RbacRule[] {
  return rules.map((rule) => (rule.resources.includes(resource) ? {...rule, verbs: rule.verbs.filter((v) => v !== verb)} : rule))
}

const USERS: UserSpec[] = [
  {name: 'reader', token: 'reader-token', rules: rulesOf('read.yaml')},
  {name: 'prober', token: 'prober-token', rules: rulesOf('read.yaml', 'probe.yaml')},
  {name: 'repairer', token: 'repairer-token', rules: rulesOf('read.yaml', 'repair.yaml')},
  {name: 'half-repairer', token: 'half-repairer-token', rules: without(rulesOf('read.yaml', 'repair.yaml'), 'update', 'ippools')},
  {name: 'no-lease', token: 'no-lease-token', rules: without(rulesOf('read.yaml', 'repair.yaml'), 'create', 'leases')},
]

interface DoctorJson {
  checks: Array<{id: string; status: string; message: string}>
}

describe('the roles in rbac/, on the healthy cluster', () => {
  let sim: RunningSim
  const as = (user: string) => sim.writeKubeconfig(user, {user})
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack', (s) => {
      s.users = [{name: 'admin', token: 'admin-token', admin: true}, ...USERS]
    })
  })
  afterAll(() => sim.stop())

  it('read.yaml: pod-ips works', async () => {
    const result = await runPlugin(['pod-ips', '-A', '--kubeconfig', as('reader')])
    expect(result).toMatchObject({code: 0, stderr: ''})
    expect(result.stdout).toMatch(/\bdual\b/)
  })

  it('read.yaml: doctor runs every check; the two that need probe.yaml say error, naming the verb and resource', async () => {
    const result = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', as('reader')])
    const checks = (JSON.parse(result.stdout) as DoctorJson).checks
    const errored = checks.filter((c) => c.status === 'error')
    expect(errored.map((c) => c.id).sort()).toEqual(['apiserver.service-cidr', 'node.ipv6-forwarding'])
    expect(errored.find((c) => c.id === 'node.ipv6-forwarding')!.message).toMatch(/cannot create resource "pods\/exec"/)
    expect(errored.find((c) => c.id === 'apiserver.service-cidr')!.message).toMatch(/cannot create resource "services"/)
    expect(checks.filter((c) => c.status === 'pass').length).toBeGreaterThan(10)
    // The repairs' Lease is readable with read.yaml: a repair left half-done is seen.
    expect(checks.find((c) => c.id === 'repairs.unfinished')).toMatchObject({status: 'pass', message: 'no Lease kube-system/kubectl-dualstack: no repair is running or left half-done'})
  })

  it('read.yaml + probe.yaml: doctor has no errors, svc-check and connectivity work and leave nothing behind', async () => {
    const doctor = JSON.parse((await runPlugin(['doctor', '-o', 'json', '--kubeconfig', as('prober')])).stdout) as DoctorJson
    expect(doctor.checks.filter((c) => c.status === 'error')).toEqual([])
    expect((await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--kubeconfig', as('prober')])).code).toBe(0)
    const connectivity = await runPlugin(['connectivity', '--kubeconfig', as('prober')])
    expect(connectivity.code).toBe(0)
    const namespaces = sim.server.sim.store.list(sim.server.sim.type('v1', 'Namespace')).map((n) => n.metadata.name)
    expect(namespaces.filter((n: string) => n.startsWith('dualstack-'))).toEqual([])
  })

  it('read.yaml + repair.yaml: services dual converts a Service (no probe.yaml: a Service with both families proves the cluster gives them)', async () => {
    sim.server.sim.apply({apiVersion: 'v1', kind: 'Service', metadata: {name: 'legacy', namespace: 'default'}, spec: {ports: [{port: 80}]}})
    const denied = await runPlugin(['services', 'dual', 'legacy', '-n', 'default', '--yes', '--kubeconfig', as('reader')])
    expect(denied.code).toBe(3)
    expect(denied.stderr).toMatch(/^error: services dual needs permissions that user "reader" does not have: .*patch services in default/)
    const result = await runPlugin(['services', 'dual', 'legacy', '-n', 'default', '--yes', '--kubeconfig', as('repairer')])
    expect(result.stderr).not.toMatch(/forbidden|error/)
    expect(result.code).toBe(0)
    expect(sim.server.sim.store.get(sim.server.sim.type('v1', 'Service'), 'default', 'legacy')!.spec.clusterIPs).toHaveLength(2)
  })

  it('read.yaml alone: svc-check cannot create its pod, and says so in one line', async () => {
    const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--kubeconfig', as('reader')])
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/^error: forbidden: .*cannot create resource "pods"/)
  })
})

describe('the repair role, on the runbook cluster', () => {
  let sim: RunningSim
  const as = (user: string) => sim.writeKubeconfig(user, {user})
  const writesBy = (user: string) => sim.server.sim.writes().filter((r) => r.user === user)
  beforeEach(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      s.users = [{name: 'admin', token: 'admin-token', admin: true}, ...USERS]
    })
  })
  afterEach(() => sim.stop())

  it('read.yaml + repair.yaml: ippool fix and calico-restart work', async () => {
    const fix = await runPlugin(['ippool', 'fix', '--yes', '--kubeconfig', as('repairer')])
    expect(fix.stderr).not.toMatch(/forbidden|error/)
    expect(fix.code).toBe(0)
    const restart = await runPlugin(['calico-restart', '--yes', '--timeout', '30s', '--kubeconfig', as('repairer')])
    expect(restart.code).toBe(0)
  })

  it('without update on ippools: ippool fix refuses before its first write, naming what is missing (exit 3)', async () => {
    const result = await runPlugin(['ippool', 'fix', '--yes', '--kubeconfig', as('half-repairer')])
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/^error: ippool fix needs permissions that user "half-repairer" does not have: update ippools\.crd\.projectcalico\.org \(checked before any change; nothing was written\); bind the kubectl-dualstack-repair ClusterRole/)
    expect(writesBy('half-repairer')).toEqual([])
    const dryRun = await runPlugin(['ippool', 'fix', '--dry-run', '--kubeconfig', as('half-repairer')])
    expect(dryRun.code).toBe(0)
    expect(dryRun.stdout).toContain('could not apply this plan: missing update ippools.crd.projectcalico.org')
  })

  it('without create on the Lease: calico-restart refuses before deleting any pod', async () => {
    const result = await runPlugin(['calico-restart', '--yes', '--kubeconfig', as('no-lease')])
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/create leases\.coordination\.k8s\.io in kube-system/)
    expect(writesBy('no-lease')).toEqual([])
  })
})
