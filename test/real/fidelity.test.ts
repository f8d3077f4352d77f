// Fidelity: the same requests to the simulated API server and to the real kube-apiserver, for the same
// scenario, compared by status code, reason, message and the fields that defaulting and allocation set.
// Where the simulator answered differently, it was fixed (the node field selector 422 first of all).
import {Agent, fetch} from 'undici'

import type {RealCluster} from '../control-plane/cluster.js'
import {runKubectl, runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import {START_TIMEOUT, startReal} from './harness.js'

interface Answer {
  status: number
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any
}

type Call = (method: string, path: string, body?: unknown, token?: string) => Promise<Answer>

function caller(server: string, ca: string): {call: Call; close: () => Promise<void>} {
  const agent = new Agent({connect: {ca}})
  return {
    call: async (method, path, body, token = 'admin-token') => {
      const res = await fetch(`${server}${path}`, {
        method, dispatcher: agent, body: body === undefined ? undefined : JSON.stringify(body),
        headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json'},
      })
      const text = await res.text()
      try {
        return {status: res.status, body: text ? JSON.parse(text) : undefined}
      } catch {
        return {status: res.status, body: {text}} // /version, /healthz and the like
      }
    },
    close: () => agent.close(),
  }
}

/** What a client can rely on in an error: code, reason, message, and the causes' fields and reasons. */
function statusOf(answer: Answer) {
  const causes = (answer.body?.details?.causes ?? []) as Array<{reason: string; field: string; message: string}>
  return {status: answer.status, reason: answer.body?.reason, message: answer.body?.message, causes: causes.map((c) => ({reason: c.reason, field: c.field, message: c.message}))}
}

const daemonSet = (values: string[]) => ({
  apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {name: 'pinned'},
  spec: {
    selector: {matchLabels: {app: 'pinned'}},
    template: {metadata: {labels: {app: 'pinned'}}, spec: {
      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchFields: [{key: 'metadata.name', operator: 'In', values}]}]}}},
      containers: [{name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53'}],
    }},
  },
})

describe('the simulator answers as the real kube-apiserver does', () => {
  let sim: RunningSim
  let real: RealCluster
  let toSim: ReturnType<typeof caller>
  let toReal: ReturnType<typeof caller>
  beforeAll(async () => {
    ;[sim, real] = await Promise.all([startSim('healthy-dual-stack'), startReal('healthy-dual-stack', undefined, {users: ['viewer', 'nobody']})])
    toSim = caller(sim.server.url, sim.server.caPem)
    toReal = caller(real.server, real.ca)
  }, START_TIMEOUT)
  afterAll(async () => {
    await toSim?.close()
    await toReal?.close()
    await sim?.stop()
    await real?.stop()
  })

  const both = async (method: string, path: string, body?: unknown, token?: string): Promise<[Answer, Answer]> =>
    Promise.all([toSim.call(method, path, body, token), toReal.call(method, path, body, token)])

  it('a node field selector with two values is a 422 naming the field (connectivity\'s multi-node DaemonSet)', async () => {
    const [simAnswer, realAnswer] = await both('POST', '/apis/apps/v1/namespaces/default/daemonsets?dryRun=All', daemonSet(['worker-1', 'worker-2']))
    expect(realAnswer.status).toBe(422)
    expect(statusOf(simAnswer)).toEqual(statusOf(realAnswer))
    expect(realAnswer.body.message).toBe('DaemonSet.apps "pinned" is invalid: spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values: Required value: must be only one value when `operator` is \'In\' or \'NotIn\' for node field selector')
  })

  it('one value per term is accepted by both', async () => {
    const [simAnswer, realAnswer] = await both('POST', '/apis/apps/v1/namespaces/default/daemonsets?dryRun=All', daemonSet(['worker-1']))
    expect([simAnswer.status, realAnswer.status]).toEqual([201, 201])
  })

  it('Services: dual-stack allocation per ipFamilyPolicy, and the same 422 for a SingleStack with two families', async () => {
    const svc = (name: string, spec: Record<string, unknown>) => ({apiVersion: 'v1', kind: 'Service', metadata: {name}, spec: {ports: [{port: 80}], ...spec}})
    for (const [name, spec] of [
      ['single', {}], ['single-v6', {ipFamilies: ['IPv6']}], ['prefer', {ipFamilyPolicy: 'PreferDualStack'}],
      ['require-v6-first', {ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6']}],
    ] as Array<[string, Record<string, unknown>]>) {
      const [simAnswer, realAnswer] = await both('POST', '/api/v1/namespaces/default/services?dryRun=All', svc(name, spec))
      expect(simAnswer.status).toBe(realAnswer.status)
      const shape = (a: Answer) => ({policy: a.body.spec.ipFamilyPolicy, families: a.body.spec.ipFamilies, ips: a.body.spec.clusterIPs.length, type: a.body.spec.type,
        sessionAffinity: a.body.spec.sessionAffinity, internalTrafficPolicy: a.body.spec.internalTrafficPolicy})
      expect(shape(simAnswer)).toEqual(shape(realAnswer))
    }
    const [simAnswer, realAnswer] = await both('POST', '/api/v1/namespaces/default/services?dryRun=All', svc('bad', {ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6']}))
    expect(realAnswer.status).toBe(422)
    expect(statusOf(simAnswer).message).toBe(statusOf(realAnswer).message)
  })

  it('not found, and forbidden for a user without a role, word for word', async () => {
    const [simMissing, realMissing] = await both('GET', '/api/v1/namespaces/default/pods/nope')
    expect(statusOf(simMissing)).toEqual(statusOf(realMissing))
    const [simDenied, realDenied] = await both('GET', '/api/v1/namespaces/default/pods', undefined, 'nobody-token')
    expect(realDenied.status).toBe(403)
    expect(statusOf(simDenied)).toEqual(statusOf(realDenied))
  })

  it('every read the plugin and kubectl make of the simulator gets the same status code from the real server', async () => {
    const before = sim.server.sim.requests.length
    for (const args of [['doctor'], ['pod-ips', '-A'], ['svc-check', 'svc-hellok8s', '-n', 'default'], ['connectivity'], ['calico-restart', '--dry-run'],
      ['ippool', 'fix', '--dry-run'], ['pods', 'recreate', '--single-stack', '-A', '--dry-run']]) {
      await runPlugin([...args, '--kubeconfig', sim.kubeconfig])
    }
    for (const args of [['get', 'pods', '-A'], ['get', 'ippools.crd.projectcalico.org'], ['describe', 'ippool', 'default-ipv6-ippool'], ['get', 'svc', '-A', '-o', 'wide'],
      ['get', 'endpointslices', '-n', 'default'], ['auth', 'can-i', 'create', 'pods/exec', '-n', 'kube-system'], ['get', 'nodes', '-o', 'yaml']]) {
      await runKubectl([...args, '--kubeconfig', sim.kubeconfig])
    }
    // Reads of objects that exist in both copies. Left out, by name: what the runs made (random names of
    // their own in each), and ReplicaSets, whose pod-template-hash the real controller computes from Go's
    // printing of the template (the simulator's hash differs, and nothing in the plugin depends on its value).
    const reads = [...new Map(sim.server.sim.requests.slice(before)
      .filter((r) => (r.verb === 'get' || r.verb === 'list') && r.user === 'admin' && !r.path.includes('watch='))
      .filter((r) => !/dualstack-(svc-check|connectivity)|kubectl-dualstack-|\/replicasets\/[^/?]+/.test(r.path))
      .map((r) => [r.path, r])).values()]
    expect(reads.length).toBeGreaterThan(25)
    const differences: string[] = []
    for (const read of reads) {
      const answer = await toReal.call('GET', read.path)
      if (answer.status !== read.code) differences.push(`GET ${read.path}: simulator ${read.code}, real ${answer.status} ${answer.body?.message ?? ''}`)
    }
    expect(differences).toEqual([])
  })
})
