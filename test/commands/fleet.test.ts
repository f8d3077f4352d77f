// Across a fleet: --context more than once, or --all-contexts. The clusters run concurrently; one row per
// cluster, the detail keyed by context, the worst exit status, an unreachable cluster reported alone.
import {createServer} from 'node:net'
import path from 'node:path'

import {fleetKubeconfig, runPlugin, startSim, type RunningSim} from '../sim/harness.js'

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('a fleet of three: the runbook cluster, a healthy one, and one that is down', () => {
  let runbook: RunningSim
  let healthy: RunningSim
  let kubeconfig: string
  beforeAll(async () => {
    ;[runbook, healthy] = await Promise.all([startSim('runbook-rke-1.18'), startSim('healthy-dual-stack')])
    kubeconfig = fleetKubeconfig(path.join(healthy.dir, 'fleet'), {
      'prod-eu': healthy.server.kubeconfig(),
      'legacy': runbook.server.kubeconfig(),
      'down': healthy.server.kubeconfig({server: `https://127.0.0.1:${await closedPort()}`}),
    })
  })
  afterAll(async () => {
    await Promise.all([runbook.stop(), healthy.stop()])
  })

  it('doctor --all-contexts: one row per cluster, the one that is down included; exit is the worst (3)', async () => {
    const result = await runPlugin(['doctor', '--all-contexts', '--kubeconfig', kubeconfig])
    expect(result.code).toBe(3)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^CONTEXT\s+SERVER\s+EXIT\s+RESULT$/)
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['down', 'legacy', 'prod-eu'])
    expect(result.stdout).toMatch(/down\s+https:\/\/127\.0\.0\.1:\d+\s+3\s+error: cannot connect to the API server: connection refused/)
    expect(result.stdout).toMatch(/legacy\s+\S+\s+1\s+\d+ passed, \d+ warned, 4 failed/)
    expect(result.stdout).toMatch(/prod-eu\s+\S+\s+0\s+\d+ passed, 0 warned, 0 failed/)
  })

  it('doctor -o json with --context twice: the detail keyed by context; exit 1', async () => {
    const result = await runPlugin(['doctor', '-o', 'json', '--context', 'prod-eu', '--context', 'legacy', '--kubeconfig', kubeconfig])
    expect(result.code).toBe(1)
    const model = JSON.parse(result.stdout) as {clusters: Record<string, {exitCode: number; report?: {checks: Array<{id: string; status: string}>}}>}
    expect(Object.keys(model.clusters).sort()).toEqual(['legacy', 'prod-eu'])
    expect(model.clusters.legacy!.exitCode).toBe(1)
    expect(model.clusters.legacy!.report!.checks.find((c) => c.id === 'node.ipv6-forwarding')!.status).toBe('fail')
    expect(model.clusters['prod-eu']!.report!.checks.every((c) => c.status !== 'fail')).toBe(true)
  })

  it('doctor -o junit: every cluster\'s checks, under its context', async () => {
    const result = await runPlugin(['doctor', '-o', 'junit', '--all-contexts', '--kubeconfig', kubeconfig])
    expect(result.stdout).toContain('classname="legacy.doctor.Nodes" name="node.ipv6-forwarding"')
    expect(result.stdout).toContain('classname="prod-eu.doctor.Nodes" name="node.ipv6-forwarding"')
    expect(result.stdout).toMatch(/<testcase classname="down" name="cluster">\n\s+<error message="cannot connect/)
  })

  it('pod-ips and svc-check across contexts; -o plain is refused with several', async () => {
    const pods = await runPlugin(['pod-ips', '-A', '--require-dual', '--context', 'prod-eu', '--context', 'legacy', '--kubeconfig', kubeconfig])
    expect(pods.code).toBe(1)
    expect(pods.stdout).toMatch(/legacy\s+\S+\s+1\s+\d+ pods: .*; 3 running pod\(s\) not dual-stack/)
    expect(pods.stdout).toMatch(/prod-eu\s+\S+\s+0\s+\d+ pods: /)
    const svc = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '-o', 'json', '--context', 'prod-eu', '--context', 'legacy', '--kubeconfig', kubeconfig])
    const model = JSON.parse(svc.stdout) as {clusters: Record<string, {exitCode: number; summary: string}>}
    expect(model.clusters['prod-eu']).toMatchObject({exitCode: 0, summary: expect.stringMatching(/all \d+ tests passed/)})
    expect(Object.keys(model.clusters).sort()).toEqual(['legacy', 'prod-eu'])
    const plain = await runPlugin(['pod-ips', '-A', '-o', 'plain', '--all-contexts', '--kubeconfig', kubeconfig])
    expect(plain.code).toBe(2)
    expect(plain.stderr).toMatch(/^error: -o plain shows one cluster; with several contexts/)
  })

  it('pod-ips: each row counts the pods the single-cluster run counts', async () => {
    const fleet = await runPlugin(['pod-ips', '--context', 'prod-eu', '--context', 'legacy', '--kubeconfig', kubeconfig])
    for (const context of ['prod-eu', 'legacy']) {
      const single = await runPlugin(['pod-ips', '--context', context, '--kubeconfig', kubeconfig])
      const summary = single.stdout.trimEnd().split('\n').at(-1)!
      expect(summary).toMatch(/^[1-9]\d* pods: /)
      expect(fleet.stdout).toContain(`${summary}`)
    }
  })

  it('one --context is the single-cluster run, as before', async () => {
    const result = await runPlugin(['pod-ips', '-A', '--context', 'legacy', '--kubeconfig', kubeconfig])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^NAMESPACE\s+NAME\s+NODE/)
  })
})
