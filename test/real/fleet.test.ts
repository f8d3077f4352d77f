// Across a fleet of real control planes: --all-contexts and --context twice, each cluster its own
// kube-apiserver; and the same doctor on a simulated and a real copy of each scenario, check by check.
import {writeFileSync} from 'node:fs'
import path from 'node:path'

import {parse, stringify} from 'yaml'

import type {RealCluster} from '../control-plane/cluster.js'
import {runPlugin, startSim} from '../sim/harness.js'
import {START_TIMEOUT, startReal} from './harness.js'

interface Kubeconfig {
  clusters: Array<{name: string; cluster: Record<string, unknown>}>
  users: Array<{name: string; user: Record<string, unknown>}>
}

function fleetKubeconfig(file: string, members: Record<string, string>): string {
  const merged = {apiVersion: 'v1', kind: 'Config', 'current-context': Object.keys(members)[0], clusters: [] as unknown[], users: [] as unknown[], contexts: [] as unknown[]}
  for (const [name, text] of Object.entries(members)) {
    const one = parse(text) as Kubeconfig
    merged.clusters.push({name, cluster: one.clusters[0]!.cluster})
    merged.users.push({name, user: one.users[0]!.user})
    merged.contexts.push({name, context: {cluster: name, user: name}})
  }
  writeFileSync(file, stringify(merged))
  return file
}

async function doctorStatuses(kubeconfig: string): Promise<Record<string, string>> {
  const result = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', kubeconfig])
  return Object.fromEntries((JSON.parse(result.stdout) as {checks: Array<{id: string; status: string}>}).checks.map((c) => [c.id, c.status]))
}

describe('a fleet of two real control planes', () => {
  let runbook: RealCluster
  let healthy: RealCluster
  let kubeconfig: string
  beforeAll(async () => {
    runbook = await startReal('runbook-rke-1.18')
    healthy = await startReal('healthy-dual-stack')
    const text = (cluster: RealCluster) => cluster.kubectl(cluster.kubeconfig, ['config', 'view', '--raw'])
    kubeconfig = fleetKubeconfig(path.join(healthy.dir, 'fleet'), {'prod-eu': text(healthy), legacy: text(runbook)})
  }, 2 * START_TIMEOUT)
  afterAll(async () => {
    await Promise.all([runbook?.stop(), healthy?.stop()])
  })

  it('doctor --all-contexts: one row per cluster, each judged by its own API server; exit 1 (the worst)', async () => {
    const result = await runPlugin(['doctor', '--all-contexts', '--kubeconfig', kubeconfig])
    expect(result.code).toBe(1)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^CONTEXT\s+SERVER\s+EXIT\s+RESULT$/)
    expect(result.stdout).toMatch(new RegExp(`legacy\\s+${runbook.server.replaceAll('.', '\\.')}\\s+1\\s+\\d+ passed, \\d+ warned, 4 failed`))
    expect(result.stdout).toMatch(new RegExp(`prod-eu\\s+${healthy.server.replaceAll('.', '\\.')}\\s+0\\s+19 passed, 0 warned, 0 failed`))
  })

  it('pod-ips --require-dual with --context twice: the runbook cluster\'s three single-stack pods, the healthy one clean', async () => {
    const result = await runPlugin(['pod-ips', '-A', '--require-dual', '--context', 'prod-eu', '--context', 'legacy', '--kubeconfig', kubeconfig])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/legacy\s+\S+\s+1\s+\d+ pods: .*; 3 running pod\(s\) not dual-stack/)
    expect(result.stdout).toMatch(/prod-eu\s+\S+\s+0\s+\d+ pods: /)
  })

  it('doctor judges the simulated and the real copy of each scenario alike, check by check', async () => {
    for (const [name, real] of [['healthy-dual-stack', healthy], ['runbook-rke-1.18', runbook]] as const) {
      const sim = await startSim(name)
      try {
        const simulated = await doctorStatuses(sim.kubeconfig)
        const onReal = await doctorStatuses(real.kubeconfig)
        // The version checks differ by design: the simulated copy keeps the scenario's release (1.18, 1.31), the real one runs what the tier builds.
        const versioned = new Set(['k8s.version', 'k8s.feature-gate'])
        const comparable = (statuses: Record<string, string>) => Object.fromEntries(Object.entries(statuses).filter(([id]) => !versioned.has(id)))
        expect({scenario: name, checks: comparable(onReal)}).toEqual({scenario: name, checks: comparable(simulated)})
      } finally {
        await sim.stop()
      }
    }
  })
})
