// Across a fleet of real control planes: --all-contexts and --context twice, each cluster its own
// kube-apiserver; and the same doctor on a simulated and a real copy of each scenario, check by check.
import path from 'node:path'

import type {RealCluster} from '../control-plane/cluster.js'
import {fleetKubeconfig, runPlugin, startSim} from '../sim/harness.js'
import {START_TIMEOUT, startReal, type DoctorJson} from './harness.js'

async function doctorStatuses(kubeconfig: string): Promise<{exit: number; checks: Record<string, string>}> {
  const result = await runPlugin(['doctor', '-o', 'json', '--kubeconfig', kubeconfig])
  return {exit: result.code, checks: Object.fromEntries((JSON.parse(result.stdout) as DoctorJson).checks.map((c) => [c.id, c.status]))}
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
    expect(result.stdout).toMatch(new RegExp(`prod-eu\\s+${healthy.server.replaceAll('.', '\\.')}\\s+0\\s+23 passed, 0 warned, 0 failed`))
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
        // The version checks differ by design: the simulated copy keeps the scenario's release (1.18, 1.31), the real one runs what the tier builds
        // (status.hostIPs comes with 1.28, ipFamilyPolicy with 1.20).
        const versioned = new Set(['k8s.version', 'k8s.feature-gate', 'node.host-ips', 'services.dual-stack'])
        const comparable = (run: {exit: number; checks: Record<string, string>}) => ({scenario: name, exit: run.exit, checks: Object.fromEntries(Object.entries(run.checks).filter(([id]) => !versioned.has(id)))})
        expect(comparable(onReal)).toEqual(comparable(simulated))
        // Not alike by both failing to run: each judged every check.
        expect(Object.values(onReal.checks)).not.toContain('error')
      } finally {
        await sim.stop()
      }
    }
  })
})
