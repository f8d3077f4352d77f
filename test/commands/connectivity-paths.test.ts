// connectivity's paths beyond pod to pod (issue 21, "Paths" and "Also"), on the simulated cluster: each passes
// on the healthy dual-stack cluster and fails with the fault that breaks it; --test chooses them; an exec
// that times out says so; the images are pinned and --image-registry rewrites them.
import type {ConnectivityReport} from '../../src/connectivity/run.js'
import {runPlugin, startSim, type RunningSim} from '../sim/harness.js'

type Report = ConnectivityReport

async function connectivity(sim: RunningSim, ...args: string[]): Promise<{code: number; report: Report; stderr: string}> {
  const result = await runPlugin(['connectivity', ...args, '-o', 'json', '--kubeconfig', sim.kubeconfig])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr}
}

describe('connectivity: an exec that never returns', () => {
  it('fails its test with "timed out after Ns", not an empty message', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.faults = [{verb: 'exec', hang: true, times: 1}]
    })
    try {
      const {code, report} = await connectivity(sim, '--family', 'ipv4', '--nodes', 'worker-1', '--timeout', '1s')
      expect(code).toBe(1)
      const failed = report.results.filter((r) => r.status === 'fail')
      expect(failed).toHaveLength(1)
      expect(failed[0]!.message).toMatch(/^timed out after 13s \(the exec in pod dualstack-client-[0-9a-f]{6}-\w+ did not return\)$/)
    } finally {
      await sim.stop()
    }
  }, 60_000)
})

describe('svc-check: an exec that never returns', () => {
  it('fails its test with "timed out after Ns" too', async () => {
    const sim = await startSim('healthy-dual-stack', (s) => {
      s.faults = [{verb: 'exec', hang: true, times: 1}]
    })
    try {
      const result = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '--family', 'ipv4', '--timeout', '1s', '-o', 'json', '--kubeconfig', sim.kubeconfig])
      expect(result.code).toBe(1)
      const report = JSON.parse(result.stdout) as {results: Array<{kind: string; status: string; message: string}>}
      const failed = report.results.filter((r) => r.status === 'fail')
      expect(failed.map((r) => r.kind)).toEqual(['ping'])
      expect(failed[0]!.message).toMatch(/^no reply \(pod hello-k8s on cp-1\): timed out after 13s \(the exec in pod [\w-]+ did not return\)/)
    } finally {
      await sim.stop()
    }
  }, 60_000)
})

describe('connectivity: its images', () => {
  it('are pinned by default; --image-registry pulls every one from the mirror, keeping repository and tag; a bad registry is exit 2', async () => {
    const sim = await startSim('healthy-dual-stack')
    const images = () => sim.server.sim.store.list(sim.server.sim.type('apps/v1', 'DaemonSet'))
      .filter((d) => d.metadata.namespace?.startsWith('dualstack-')).flatMap((d) => d.spec.template.spec.containers.map((c: {image: string}) => c.image)).sort()
    try {
      const pinned = await connectivity(sim, '--family', 'ipv4', '--nodes', 'worker-1', '--keep')
      expect(pinned.code).toBe(0)
      expect(pinned.report.workload.images).toEqual({client: 'docker.io/nicolaka/netshoot:v0.13', server: 'registry.k8s.io/e2e-test-images/agnhost:2.52'})
      expect(images().every((image) => !image.endsWith(':latest') && /:[\w.-]+$/.test(image))).toBe(true)

      const mirrored = await connectivity(sim, '--family', 'ipv4', '--nodes', 'worker-1', '--image-registry', 'registry.internal:5000/mirror/', '--image', 'busybox:1.36', '--keep')
      expect(mirrored.code).toBe(0)
      expect(images()).toEqual(expect.arrayContaining(['registry.internal:5000/mirror/e2e-test-images/agnhost:2.52', 'registry.internal:5000/mirror/library/busybox:1.36']))
      expect(mirrored.report.workload.images).toEqual({client: 'registry.internal:5000/mirror/library/busybox:1.36', server: 'registry.internal:5000/mirror/e2e-test-images/agnhost:2.52'})

      const bad = await runPlugin(['connectivity', '--image-registry', 'https://registry.internal', '--kubeconfig', sim.kubeconfig])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toBe('error: --image-registry https://registry.internal has a scheme: give the registry as a host, e.g. registry.internal:5000/mirror\n')
    } finally {
      await sim.stop()
    }
  }, 60_000)
})

describe('connectivity --test', () => {
  it('runs only the tests it chooses, says so, and refuses a bad expression in one line (exit 2) before touching the cluster', async () => {
    const sim = await startSim('healthy-dual-stack')
    try {
      const {code, report} = await connectivity(sim, '--test', 'pod-to-pod', '--test', '!cross-node')
      expect(code).toBe(0)
      expect(new Set(report.results.map((r) => r.test))).toEqual(new Set(['pod-to-pod/same-node']))
      expect(report.results).toHaveLength(6)
      expect(report.chosen).toEqual({expressions: ['pod-to-pod', '!cross-node'], tests: ['pod-to-pod/same-node']})
      const table = await runPlugin(['connectivity', '--test', 'dns,^pod-to-service$', '--kubeconfig', sim.kubeconfig])
      expect(table.code).toBe(0)
      expect(table.stdout.split('\n')[1]).toBe('Tests of --test dns,^pod-to-service$: pod-to-service, dns')
      expect(table.stdout).toMatch(/all 12 tests passed on 3 nodes/)

      const before = sim.server.sim.requests.length
      const bad = await runPlugin(['connectivity', '--test', 'pod-(to', '--kubeconfig', sim.kubeconfig])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/^error: --test "pod-\(to" is not a regular expression \([^\n]+\); e\.g\. --test 'pod-to-pod' or --test '!dns'; the tests: pod-to-pod\/same-node, [^\n]+\n$/)
      const none = await runPlugin(['connectivity', '--test', 'nothing-like-it', '--kubeconfig', sim.kubeconfig])
      expect(none.code).toBe(2)
      expect(none.stderr).toMatch(/^error: --test nothing-like-it chooses no test; the tests: [^\n]+\n$/)
      expect(sim.server.sim.requests.length).toBe(before)
    } finally {
      await sim.stop()
    }
  }, 60_000)
})
