// The simulated API server over HTTP, as any client sees it.
import {Agent, fetch} from 'undici'
import WebSocket from 'ws'

import {generatePods} from './generate.js'
import {startSim, type RunningSim} from './harness.js'

describe('the simulated API server', () => {
  let sim: RunningSim
  let agent: Agent
  const call = async (method: string, path: string, body?: unknown, token = 'admin-token', contentType = 'application/json') => {
    const res = await fetch(`${sim.server.url}${path}`, {
      method, dispatcher: agent,
      headers: {Authorization: `Bearer ${token}`, 'Content-Type': contentType, Accept: 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return {status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined}
  }

  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
    agent = new Agent({connect: {ca: sim.server.caPem}})
    generatePods(sim.server.sim, 1234)
  })
  afterAll(async () => {
    await agent.close()
    await sim.stop()
  })

  it('keeps managedFields as kube-apiserver does: per manager, with the fields it set and the time it last changed one', async () => {
    const base = '/api/v1/namespaces/default/configmaps'
    const created = await call('POST', `${base}?fieldManager=kubeadm`, {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'mf', labels: {a: 'b'}}, data: {'config.conf': 'one'}})
    expect(created.body.metadata.managedFields).toEqual([{manager: 'kubeadm', operation: 'Update', apiVersion: 'v1', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), fieldsType: 'FieldsV1',
      fieldsV1: {'f:data': {'f:config.conf': {}}, 'f:metadata': {'f:labels': {'f:a': {}}}}}])
    await new Promise((resolve) => setTimeout(resolve, 1100))
    // Without ?fieldManager= the manager is the User-Agent up to its first "/" (undici's is "undici" or "node").
    const patched = await call('PATCH', `${base}/mf?fieldManager=kubectl-patch`, {data: {'config.conf': 'two'}}, 'admin-token', 'application/merge-patch+json')
    const [kubeadm, kubectl] = patched.body.metadata.managedFields
    expect(kubeadm).toMatchObject({manager: 'kubeadm', time: created.body.metadata.managedFields[0].time, fieldsV1: {'f:metadata': {'f:labels': {'f:a': {}}}}})
    expect(kubectl).toMatchObject({manager: 'kubectl-patch', operation: 'Update', fieldsV1: {'f:data': {'f:config.conf': {}}}})
    expect(Date.parse(kubectl.time)).toBeGreaterThan(Date.parse(kubeadm.time))
    // A write that changes nothing leaves the times alone.
    const same = await call('PATCH', `${base}/mf?fieldManager=kubectl-patch`, {data: {'config.conf': 'two'}}, 'admin-token', 'application/merge-patch+json')
    expect(same.body.metadata.managedFields).toEqual(patched.body.metadata.managedFields)
    // The scenario's objects were applied with kubectl.
    const proxy = await call('GET', '/api/v1/namespaces/kube-system/configmaps/kube-proxy')
    expect(proxy.body.metadata.managedFields).toEqual([expect.objectContaining({manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1: {'f:data': {'f:config.conf': {}}}})])
  })

  it('pages lists with limit and continue, with remainingItemCount', async () => {
    const first = await call('GET', '/api/v1/pods?labelSelector=&limit=500')
    expect(first.body.items).toHaveLength(500)
    const total = first.body.metadata.remainingItemCount + 500
    expect(total).toBeGreaterThan(1234)
    let seen = 500
    let token = first.body.metadata.continue
    while (token) {
      const page = await call('GET', `/api/v1/pods?limit=500&continue=${encodeURIComponent(token)}`)
      seen += page.body.items.length
      token = page.body.metadata.continue
    }
    expect(seen).toBe(total)
    const bad = await call('GET', '/api/v1/pods?limit=500&continue=nonsense')
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400})
  })

  it('filters by label selector operators and by field selectors, and refuses unknown fields', async () => {
    const notin = await call('GET', `/api/v1/namespaces/load-0000/pods?labelSelector=${encodeURIComponent('app=load,shard notin (1,2,3)')}`)
    expect(notin.body.items).toHaveLength(700)
    const exists = await call('GET', `/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent('!app')}`)
    expect(exists.body.items.map((p: {metadata: {name: string}}) => p.metadata.name)).toEqual(['netshoot'])
    const byNode = await call('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent('spec.nodeName=worker-1,metadata.namespace=kube-system')}`)
    expect(byNode.body.items.length).toBeGreaterThan(0)
    expect(byNode.body.items.every((p: {spec: {nodeName: string}}) => p.spec.nodeName === 'worker-1')).toBe(true)
    const bad = await call('GET', `/api/v1/pods?fieldSelector=spec.color%3Dblue`)
    expect(bad.status).toBe(400)
    expect(bad.body.message).toBe('field label not supported: spec.color')
  })

  it('answers errors as Status objects: 404, 409 AlreadyExists, 409 Conflict', async () => {
    const missing = await call('GET', '/api/v1/namespaces/default/pods/nope')
    expect(missing.body).toEqual({kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "nope" not found', reason: 'NotFound', details: {name: 'nope', kind: 'pods'}, code: 404})
    const cm = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'c1'}, data: {a: '1'}}
    expect((await call('POST', '/api/v1/namespaces/default/configmaps', cm)).status).toBe(201)
    const again = await call('POST', '/api/v1/namespaces/default/configmaps', cm)
    expect(again.status).toBe(409)
    expect(again.body.reason).toBe('AlreadyExists')
    const current = (await call('GET', '/api/v1/namespaces/default/configmaps/c1')).body
    expect((await call('PUT', '/api/v1/namespaces/default/configmaps/c1', {...current, data: {a: '2'}})).status).toBe(200)
    const stale = await call('PUT', '/api/v1/namespaces/default/configmaps/c1', {...current, data: {a: '3'}})
    expect(stale.status).toBe(409)
    expect(stale.body.message).toBe('Operation cannot be fulfilled on configmaps "c1": the object has been modified; please apply your changes to the latest version and try again')
  })

  it('applies merge, strategic merge and JSON patches', async () => {
    const path = '/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node'
    const merge = await call('PATCH', path, {metadata: {annotations: {note: 'x'}}}, 'admin-token', 'application/merge-patch+json')
    expect(merge.body.metadata.annotations).toEqual({note: 'x'})
    const smp = await call('PATCH', path, {spec: {template: {spec: {containers: [{name: 'calico-node', env: [{name: 'FELIX_LOGSEVERITYSCREEN', value: 'info'}]}]}}}}, 'admin-token', 'application/strategic-merge-patch+json')
    const env = smp.body.spec.template.spec.containers[0].env.map((e: {name: string}) => e.name)
    expect(env).toContain('CALICO_IPV6POOL_CIDR')
    expect(env).toContain('FELIX_LOGSEVERITYSCREEN')
    expect(smp.body.metadata.generation).toBe(2)
    const json = await call('PATCH', '/api/v1/namespaces/default/configmaps/c1', [{op: 'replace', path: '/data/a', value: '9'}], 'admin-token', 'application/json-patch+json')
    expect(json.body.data).toEqual({a: '9'})
    const crdSmp = await call('PATCH', '/apis/crd.projectcalico.org/v1/ippools/default-ipv4-ippool', {spec: {natOutgoing: false}}, 'admin-token', 'application/strategic-merge-patch+json')
    expect(crdSmp.status).toBe(415)
  })

  it('dryRun=All validates and allocates but stores nothing', async () => {
    const svc = {apiVersion: 'v1', kind: 'Service', metadata: {name: 'dry'}, spec: {ipFamilyPolicy: 'RequireDualStack', ports: [{port: 80}]}}
    const dry = await call('POST', '/api/v1/namespaces/default/services?dryRun=All', svc)
    expect(dry.status).toBe(201)
    expect(dry.body.spec.clusterIPs).toHaveLength(2)
    expect((await call('GET', '/api/v1/namespaces/default/services/dry')).status).toBe(404)
    const invalid = await call('POST', '/api/v1/namespaces/default/services?dryRun=All', {...svc, spec: {ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6'], ports: [{port: 80}]}})
    expect(invalid.status).toBe(422)
    expect(invalid.body.message).toBe(`Service "dry" is invalid: spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified`)
    expect(invalid.body.details.causes[0]).toMatchObject({reason: 'FieldValueInvalid', field: 'spec.ipFamilyPolicy'})
  })

  it('allocates ClusterIPs per ipFamilyPolicy like kube-apiserver', async () => {
    const make = async (name: string, spec: Record<string, unknown>) =>
      (await call('POST', '/api/v1/namespaces/default/services', {apiVersion: 'v1', kind: 'Service', metadata: {name}, spec: {ports: [{port: 80}], ...spec}})).body.spec
    expect(await make('s1', {})).toMatchObject({ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4']})
    expect(await make('s2', {ipFamilies: ['IPv6']})).toMatchObject({ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'], clusterIPs: [expect.stringMatching(/^fd00:10:96::/)]})
    expect(await make('s3', {ipFamilyPolicy: 'PreferDualStack'})).toMatchObject({ipFamilies: ['IPv4', 'IPv6']})
    expect(await make('s4', {ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6']})).toMatchObject({ipFamilies: ['IPv6', 'IPv4']})
    const headless = await make('s5', {clusterIP: 'None', selector: {app: 'x'}})
    expect(headless).toMatchObject({clusterIPs: ['None'], ipFamilies: ['IPv4']})
  })

  it('RBAC denials use the apiserver format, and 401 without a token', async () => {
    const denied = await call('DELETE', '/api/v1/namespaces/default/pods/netshoot', undefined, 'viewer-token')
    expect(denied.status).toBe(403)
    expect(denied.body.message).toBe('pods "netshoot" is forbidden: User "viewer" cannot delete resource "pods" in API group "" in the namespace "default"')
    expect((await call('GET', '/api/v1/pods', undefined, 'wrong')).status).toBe(401)
  })

  it('watches stream events, from now or from a resourceVersion', async () => {
    const list = await call('GET', '/api/v1/namespaces/default/configmaps')
    const rv = list.body.metadata.resourceVersion
    const controller = new AbortController()
    const res = await fetch(`${sim.server.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`, {
      dispatcher: agent, headers: {Authorization: 'Bearer admin-token'}, signal: controller.signal,
    })
    expect(res.status).toBe(200)
    await call('POST', '/api/v1/namespaces/default/configmaps', {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'watched'}})
    await call('DELETE', '/api/v1/namespaces/default/configmaps/watched')
    const reader = res.body!.getReader()
    let text = ''
    while ((text.match(/\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value)
    controller.abort()
    const events = text.trim().split('\n').map((line) => JSON.parse(line) as {type: string; object: {metadata: {name: string}}})
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([['ADDED', 'watched'], ['DELETED', 'watched']])
  })

  it('injects 429 with Retry-After', async () => {
    sim.server.sim.faults = [{verb: 'list', resource: 'nodes', code: 429, retryAfterSeconds: 3, times: 1, hits: 0}]
    const throttled = await call('GET', '/api/v1/nodes')
    expect(throttled.status).toBe(429)
    expect(throttled.headers.get('retry-after')).toBe('3')
    expect(throttled.body.details.retryAfterSeconds).toBe(3)
    expect((await call('GET', '/api/v1/nodes')).status).toBe(200)
  })

  it('keeps EndpointSlices per family and Endpoints for the primary family', async () => {
    const slices = await call('GET', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=${encodeURIComponent('kubernetes.io/service-name=svc-hellok8s')}`)
    const byType = Object.fromEntries(slices.body.items.map((s: {addressType: string; endpoints: Array<{addresses: string[]}>}) => [s.addressType, s.endpoints.map((e) => e.addresses[0])]))
    expect(byType.IPv4[0]).toMatch(/^10\.244\./)
    expect(byType.IPv6[0]).toMatch(/^fd00:10:244::/)
    const endpoints = await call('GET', '/api/v1/namespaces/default/endpoints/svc-hellok8s')
    expect(endpoints.body.subsets[0].addresses[0].ip).toBe(byType.IPv6[0])
  })

  it('exec speaks v4.channel.k8s.io with the exit code in the channel-3 Status', async () => {
    const pod = 'netshoot'
    const url = `${sim.server.url.replace('https', 'wss')}/api/v1/namespaces/default/pods/${pod}/exec?command=ping6&command=-c&command=1&command=fd00:dead::1&stdout=true&stderr=true`
    const frames: Buffer[] = []
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, ['v4.channel.k8s.io'], {ca: sim.server.caPem, headers: {Authorization: 'Bearer admin-token'}})
      ws.on('message', (data: Buffer) => frames.push(Buffer.from(data)))
      ws.on('close', () => resolve())
      ws.on('error', reject)
    })
    const status = JSON.parse(frames.find((f) => f[0] === 3)!.subarray(1).toString())
    expect(status).toMatchObject({status: 'Failure', reason: 'NonZeroExitCode', details: {causes: [{reason: 'ExitCode', message: '1'}]}})
    expect(frames.find((f) => f[0] === 1)!.subarray(1).toString()).toContain('100% packet loss')
  })
})

describe('calico-node in the simulated cluster', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18')
  })
  afterAll(() => sim.stop())

  it('recreates a deleted pool only when calico-node restarts, from its env', async () => {
    const {store} = sim.server.sim
    const poolType = sim.server.sim.type('crd.projectcalico.org/v1', 'IPPool')
    const podType = sim.server.sim.type('v1', 'Pod')
    store.delete(poolType, undefined, 'default-ipv6-ippool')
    await new Promise((r) => setImmediate(r))
    expect(store.get(poolType, undefined, 'default-ipv6-ippool')).toBeUndefined()
    for (const pod of store.list(podType, 'kube-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'calico-node')) {
      store.delete(podType, 'kube-system', pod.metadata.name)
    }
    await new Promise((r) => setImmediate(r))
    expect(store.get(poolType, undefined, 'default-ipv6-ippool')?.spec).toEqual({
      cidr: '2001:0:0:2::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()',
    })
  })
})
