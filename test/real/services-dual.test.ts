// services dual on a real control plane: the real API server's allocation of the second ClusterIP on a policy
// change (and its release on the way back), its resourceVersion preconditions on a merge patch, and the real
// EndpointSlice controller making the slices of both families the step waits for.
import type {AuditEvent, RealCluster} from '../control-plane/cluster.js'
import {answerAtTerminal, runKubectl, runPlugin} from '../sim/harness.js'
import {objectOf} from '../sim/scenario.js'
import {kubectlJson, START_TIMEOUT, startReal} from './harness.js'

async function dual(cluster: RealCluster, ...args: string[]) {
  const result = await runPlugin(['services', 'dual', '-o', 'json', '--kubeconfig', cluster.kubeconfig, ...args])
  try {
    return {code: result.code, stderr: result.stderr, report: JSON.parse(result.stdout)}
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`)
  }
}

function writesSince(cluster: RealCluster, since: number): string[] {
  return cluster.writes().slice(since).map((e: AuditEvent) =>
    `${e.verb} ${e.objectRef?.resource} ${e.objectRef?.name ?? ''}${e.requestURI.includes('dryRun=All') ? ' (dry run)' : ''}`.trim())
}

const spec = async (cluster: RealCluster, name: string) => (await kubectlJson(cluster, 'get', 'service', name, '-n', 'default')).spec as {ipFamilyPolicy: string; ipFamilies: string[]; clusterIPs: string[]}
const sliceTypes = async (cluster: RealCluster, name: string) => ((await kubectlJson(cluster, 'get', 'endpointslices', '-n', 'default', '-l', `kubernetes.io/service-name=${name}`)).items as Array<{addressType: string}>)
  .map((s) => s.addressType).sort()

describe('services dual on a real control plane', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', (s) => {
      objectOf(s, 'Service', 'svc-hellok8s').spec = {selector: {app: 'hello-k8s'}, ports: [{port: 80, targetPort: 8080}]}
      for (const name of ['one', 'two', 'gone']) s.objects!.push({apiVersion: 'v1', kind: 'Service', metadata: {name, namespace: 'default'}, spec: {selector: {app: name}, ports: [{port: 80}]}})
      s.objects!.push({apiVersion: 'v1', kind: 'Service', metadata: {name: 'shop-api', namespace: 'default', annotations: {'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': 'default'}},
        spec: {selector: {app: 'shop'}, ports: [{port: 80}]}})
    })
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('--dry-run: the audit log shows no write that was not a dry run', async () => {
    const since = cluster.writes().length
    const {code, report} = await dual(cluster, 'svc-hellok8s', 'one', '-n', 'default', '--dry-run')
    expect({code, result: report.result}).toEqual({code: 0, result: 'planned'})
    expect(writesSince(cluster, since).filter((w) => !w.endsWith('(dry run)') && !w.startsWith('create selfsubjectaccessreviews'))).toEqual([])
    expect((await spec(cluster, 'svc-hellok8s')).clusterIPs).toHaveLength(1)
  })

  it('a Service deleted while the plan is read (at the prompt): its step fails and the real API server takes the second ClusterIP back from every Service converted before it', async () => {
    const since = cluster.writes().length
    const {code, output} = await answerAtTerminal(['services', 'dual', 'svc-hellok8s', 'one', 'gone', '-n', 'default', '--kubeconfig', cluster.kubeconfig], 'to continue:', 'real', async () => {
      expect((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'delete', 'service', 'gone', '-n', 'default'])).code).toBe(0)
    })
    expect(code).toBe(1)
    expect(output).toContain('Service default/gone no longer exists')
    for (const name of ['svc-hellok8s', 'one']) {
      const now = await spec(cluster, name)
      expect(now).toMatchObject({ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4']})
      expect(now.clusterIPs).toEqual([expect.stringMatching(/^\d+\./)])
    }
    // Converted, then put back: two patches each, nothing else written to them.
    expect(writesSince(cluster, since).filter((w) => / services (svc-hellok8s|one)$/.test(w)).sort()).toEqual(['patch services one', 'patch services one', 'patch services svc-hellok8s', 'patch services svc-hellok8s'])
  })

  it('--yes: each Service gets a ClusterIP of the other family and the real controller\'s slices of both; the Helm one is refused; with --force doctor then passes', async () => {
    const since = cluster.writes().length
    const {code, report, stderr} = await dual(cluster, '-n', 'default', '--yes')
    expect({code, result: report.result, stderr}).toMatchObject({code: 1, result: 'incomplete'})
    expect(report.services.map((s: {name: string; status: string}) => `${s.name} ${s.status}`).sort()).toEqual(['one converted', 'shop-api refused', 'svc-hellok8s converted', 'two converted'])
    for (const name of ['svc-hellok8s', 'one', 'two']) {
      const now = await spec(cluster, name)
      expect(now).toMatchObject({ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6']})
      expect(now.clusterIPs[1]).toContain(':')
      expect(await sliceTypes(cluster, name)).toEqual(['IPv4', 'IPv6'])
    }
    // A patch to convert each and one to clear the run's mark: nothing else was written to Services.
    expect(writesSince(cluster, since).filter((w) => w.includes(' services ') && !w.endsWith('(dry run)')).sort()).toEqual(['patch services one', 'patch services one', 'patch services svc-hellok8s', 'patch services svc-hellok8s', 'patch services two', 'patch services two'])
    expect((await dual(cluster, 'shop-api', '-n', 'default', '--force', '--yes')).code).toBe(0)
    const doctor = await runPlugin(['doctor', '--only', 'services.dual-stack', '--kubeconfig', cluster.kubeconfig])
    expect(doctor.code).toBe(0)
    expect(doctor.stdout).toMatch(/pass/)
  })
})
