// pods recreate on a real control plane, owner by owner: what the real ReplicaSet, Deployment, StatefulSet,
// DaemonSet and Job controllers do with what the plugin asks of them (issue 19, points 4 to 6).
import type {AuditEvent, RealCluster} from '../control-plane/cluster.js'
import {answerAtTerminal, runKubectl, runPlugin} from '../sim/harness.js'
import type {Scenario} from '../sim/scenario.js'
import {cniWithoutIpv6, enableCniIpv6, kubectlJson, LONG_TEST, START_TIMEOUT, startReal} from './harness.js'

const IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.53'
const MISSING = 'registry.example/queue:missing'

interface RecreateJson {
  groups: Array<{namespace: string; owner?: {kind: string; name: string}; pods: string[]; action: string; status: string; message?: string; why?: string; remedy?: string}>
  result: string
  message: string
  notes: string[]
}

async function recreate(cluster: RealCluster, ...args: string[]): Promise<{code: number; report: RecreateJson; stderr: string}> {
  const result = await runPlugin(['pods', 'recreate', '-o', 'json', '--kubeconfig', cluster.kubeconfig, ...args])
  try {
    return {code: result.code, report: JSON.parse(result.stdout) as RecreateJson, stderr: result.stderr}
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`)
  }
}

async function kubectl(cluster: RealCluster, ...args: string[]): Promise<void> {
  const result = await runKubectl(['--kubeconfig', cluster.kubeconfig, ...args])
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`)
}

async function podNames(cluster: RealCluster, namespace: string, selector: string): Promise<string[]> {
  return (await kubectlJson(cluster, 'get', 'pods', '-n', namespace, '-l', selector)).items.map((p: {metadata: {name: string}}) => p.metadata.name).sort()
}

/** The admin's evictions since `since`, as the API server answered them. */
function evictions(cluster: RealCluster, since: number): Array<{pod?: string; code?: number}> {
  return cluster.writes().slice(since).filter((e: AuditEvent) => e.objectRef?.subresource === 'eviction').map((e) => ({pod: e.objectRef?.name, code: e.responseStatus?.code}))
}

/**
 * Waits (bounded) until `count` pods match `selector` and all are Ready: the controllers make their pods a
 * moment after start-up, and a pod made after the CNI assigns IPv6 would already be dual-stack.
 */
async function untilReady(cluster: RealCluster, namespace: string, selector: string, count: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const pods = (await kubectlJson(cluster, 'get', 'pods', '-n', namespace, '-l', selector)).items as Array<{status?: {conditions?: Array<{type: string; status: string}>}}>
    if (pods.length >= count && pods.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${count} Ready pod(s) for ${selector} in ${namespace} did not come`)
}

function replicaSet(name: string, replicas: number): NonNullable<Scenario['objects']>[number] {
  const labels = {app: name}
  return {apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: {name, namespace: 'shop'}, spec: {replicas, selector: {matchLabels: labels},
    template: {metadata: {labels}, spec: {containers: [{name: 'app', image: IMAGE}]}}}}
}

describe('pods recreate on a real control plane: the pods of a ReplicaSet of its own, one at a time', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', (s) => {
      cniWithoutIpv6(s)
      // The agent (the kubelets) cannot pull this image: a pod made from it stays Pending (ImagePullBackOff).
      s.unpullableImages = [MISSING]
      s.objects!.push(replicaSet('web', 3), replicaSet('queue', 2))
    })
    await untilReady(cluster, 'shop', 'app in (web,queue)', 5)
    await enableCniIpv6(cluster)
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('each pod is evicted only once the previous one\'s replacement from the real ReplicaSet controller is Ready; the new pods have both families', async () => {
    const original = new Set(await podNames(cluster, 'shop', 'app=web'))
    expect(original.size).toBe(3)
    // The order the API server's watch gives: each eviction, and each new pod's first Ready.
    const events: string[] = []
    const seen = new Set<string>()
    cluster.agent!.onChange = (kind, type, obj) => {
      const name = obj.metadata.name ?? ''
      if (kind !== 'Pod' || obj.metadata.labels?.app !== 'web' || seen.has(name)) return
      const ready = (obj.status?.conditions ?? []).some((c: {type: string; status: string}) => c.type === 'Ready' && c.status === 'True')
      if (original.has(name) && (type === 'DELETED' || obj.metadata.deletionTimestamp)) events.push('evicted')
      else if (!original.has(name) && type !== 'DELETED' && ready) events.push('replacement Ready')
      else return
      seen.add(name)
    }
    const since = cluster.writes().length
    const {code, report, stderr} = await recreate(cluster, '--single-stack', '-n', 'shop', '-l', 'app=web', '--yes')
    cluster.agent!.onChange = undefined
    expect({code, stderr}).toMatchObject({code: 0})
    expect(report.result).toBe('recreated')
    expect(report.groups).toEqual([expect.objectContaining({owner: {kind: 'ReplicaSet', name: 'web'}, action: 'evict', status: 'evicted',
      message: expect.stringMatching(/^3 pod\(s\) evicted one at a time, each replacement Ready before the next: replaced web-\w+ by web-\w+, web-\w+ by web-\w+, web-\w+ by web-\w+$/)})])
    expect(events).toEqual(['evicted', 'replacement Ready', 'evicted', 'replacement Ready', 'evicted', 'replacement Ready'])
    expect(evictions(cluster, since)).toEqual([...original].map(() => ({pod: expect.stringMatching(/^web-/), code: 201})))
    const pods = (await kubectlJson(cluster, 'get', 'pods', '-n', 'shop', '-l', 'app=web')).items as Array<{metadata: {name: string}; status: {podIPs?: Array<{ip: string}>}}>
    expect(pods).toHaveLength(3)
    expect(pods.some((p) => original.has(p.metadata.name))).toBe(false)
    for (const pod of pods) expect(pod.status.podIPs).toHaveLength(2)
  }, LONG_TEST)

  it('a replacement that stays Pending stops the run after one eviction: the other pod is left, and the run fails naming the replacement\'s state', async () => {
    // A template change the ReplicaSet controller does not roll: running pods keep their image, new ones get the missing one.
    await kubectl(cluster, 'patch', 'replicaset', 'queue', '-n', 'shop', '--type', 'merge', '-p', JSON.stringify({spec: {template: {spec: {containers: [{name: 'app', image: MISSING}]}}}}))
    const before = await podNames(cluster, 'shop', 'app=queue')
    const since = cluster.writes().length
    const started = Date.now()
    const {code, report} = await recreate(cluster, '--single-stack', '-n', 'shop', '-l', 'app=queue', '--yes', '--ready-timeout', '8s')
    expect(Date.now() - started).toBeGreaterThanOrEqual(8000)
    expect(code).toBe(1)
    expect(report.result).toBe('incomplete')
    expect(report.groups).toEqual([expect.objectContaining({status: 'failed', message: expect.stringMatching(
      /^queue-\w+ evicted; not replaced by a Ready pod after 8s: its replacement queue-\w+ is Pending: ImagePullBackOff: Back-off pulling image "registry.example\/queue:missing"; not evicted: queue-\w+$/)})])
    expect(evictions(cluster, since)).toEqual([{pod: expect.stringMatching(/^queue-/), code: 201}])
    const after = await podNames(cluster, 'shop', 'app=queue')
    expect(after).toHaveLength(2)
    expect(after.filter((name) => before.includes(name))).toHaveLength(1)
  }, LONG_TEST)
})

describe('pods recreate on a real control plane: owners whose pods it must not touch', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack', (s) => {
      cniWithoutIpv6(s)
      const template = (app: string, tier = 'stuck') => ({metadata: {labels: {app, tier}}, spec: {containers: [{name: 'app', image: IMAGE}]}})
      s.objects!.push(
        {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'frozen', namespace: 'shop'}, spec: {replicas: 1, selector: {matchLabels: {app: 'frozen'}}, template: template('frozen')}},
        {apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: {name: 'ledger', namespace: 'shop'}, spec: {replicas: 2, serviceName: 'ledger', updateStrategy: {type: 'OnDelete'},
          selector: {matchLabels: {app: 'ledger'}}, template: template('ledger')}},
        {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'late', namespace: 'shop'}, spec: {replicas: 1, selector: {matchLabels: {app: 'late'}}, template: template('late', 'late')}},
        {apiVersion: 'batch/v1', kind: 'Job', metadata: {name: 'report', namespace: 'shop'}, spec: {backoffLimit: 0,
          template: {metadata: {labels: {app: 'report'}}, spec: {restartPolicy: 'Never', containers: [{name: 'app', image: IMAGE}]}}}},
        {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'coredns-bare', namespace: 'kube-system', labels: {app: 'coredns-bare'}}, spec: {containers: [{name: 'coredns', image: IMAGE}]}},
      )
    })
    await untilReady(cluster, 'shop', 'app in (frozen,ledger,late)', 4)
    await enableCniIpv6(cluster)
    // Paused once it runs, as kubectl rollout pause does (a Deployment created paused has no pods at all).
    await kubectl(cluster, 'rollout', 'pause', 'deployment/frozen', '-n', 'shop')
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('a paused Deployment and an OnDelete StatefulSet are listed with what to run instead, before any write: nothing patched, no timeout waited', async () => {
    const since = cluster.writes().length
    const started = Date.now()
    const {code, report} = await recreate(cluster, '--single-stack', '-n', 'shop', '-l', 'tier=stuck', '--yes', '--ready-timeout', '120s')
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(code).toBe(1)
    expect(report.result).toBe('incomplete')
    expect(report.groups.map((g) => [`${g.owner!.kind}/${g.owner!.name}`, g.action, g.why, g.remedy])).toEqual([
      ['Deployment/frozen', 'list', 'the Deployment is paused, and kubectl refuses to restart a paused Deployment',
        'resume it first (kubectl rollout resume deployment/frozen -n shop), then run this again'],
      ['StatefulSet/ledger', 'list', 'its updateStrategy is OnDelete: the StatefulSet controller replaces a pod only once it is deleted, so a restart never rolls',
        'delete its pods one at a time, each once the previous one\'s replacement is Ready (kubectl delete pod POD -n shop), or set its updateStrategy to RollingUpdate'],
    ])
    expect(cluster.writes().slice(since)).toEqual([])
    for (const owner of ['deployment/frozen', 'statefulset/ledger']) {
      const obj = await kubectlJson(cluster, 'get', owner, '-n', 'shop')
      expect(obj.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined()
    }
  }, LONG_TEST)

  it('a Deployment paused while the plan waits at the prompt is read again before the patch: refused with the kubectl that resumes it, not patched', async () => {
    const since = cluster.writes().length
    const {code, output} = await answerAtTerminal(['pods', 'recreate', '--single-stack', '-n', 'shop', '-l', 'app=late', '--ready-timeout', '20s', '--kubeconfig', cluster.kubeconfig], 'to continue:', 'real',
      () => kubectl(cluster, 'rollout', 'pause', 'deployment/late', '-n', 'shop'))
    expect(output).toContain('  - Deployment shop/late: not restarted: the Deployment is paused, and kubectl refuses to restart a paused Deployment; resume it first (kubectl rollout resume deployment/late -n shop), then run this again')
    expect(code).toBe(1)
    // kubectl's own pause is the only write: no restart annotation was patched in.
    expect(cluster.writes().slice(since).filter((e) => e.objectRef?.resource !== 'leases').map((e) => `${e.verb} ${e.objectRef?.resource} ${e.objectRef?.name}`)).toEqual(['patch deployments late'])
    const late = await kubectlJson(cluster, 'get', 'deployment/late', '-n', 'shop')
    expect(late.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined()
  }, LONG_TEST)

  it('--evict-bare: a Job\'s pod (backoffLimit 0) and a bare pod in kube-system are listed with why, not evicted; the real Job does not fail', async () => {
    const since = cluster.writes().length
    const {code, report} = await recreate(cluster, '--single-stack', '-A', '-l', 'app in (report,coredns-bare)', '--evict-bare', '--yes')
    expect(code).toBe(1)
    expect(report.groups.map((g) => [g.namespace, g.owner?.kind ?? '<bare>', g.action, g.why])).toEqual([
      ['kube-system', '<bare>', 'list', 'a bare pod in kube-system is usually a static or critical one (CoreDNS was one), and nothing recreates it once evicted'],
      ['shop', 'Job', 'list', 'evicting a Job\'s pod counts as a failure against its backoffLimit; with backoffLimit 0 the Job fails'],
    ])
    expect(JSON.stringify(report)).not.toMatch(/"(result|status)":"(recreated|evicted)"/)
    expect(evictions(cluster, since)).toEqual([])
    const job = await kubectlJson(cluster, 'get', 'job', 'report', '-n', 'shop')
    expect((job.status.conditions ?? []).filter((c: {type: string}) => c.type === 'Failed')).toEqual([])
    expect(job.status.active).toBe(1)
    expect(await podNames(cluster, 'kube-system', 'app=coredns-bare')).toEqual(['coredns-bare'])
  }, LONG_TEST)
})
