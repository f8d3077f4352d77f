// The cluster client's node:https transport against the real API server, in process: it asks for gzip as
// kubectl does, and the real server compresses a large list (over its 128 KB threshold), which is read.
import type {RealCluster} from '../control-plane/cluster.js'
import {ClusterClient} from '../../src/cluster/kube.js'
import {keptAgent, readText, send} from '../../src/cluster/transport.js'
import {START_TIMEOUT, startReal} from './harness.js'

describe('the transport against the real API server', () => {
  let cluster: RealCluster
  const COUNT = 40
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack')
    // 40 ConfigMaps of 8 KB: a 330 KB list, which the API server sends compressed.
    const list = {apiVersion: 'v1', kind: 'List', items: Array.from({length: COUNT}, (_, i) => ({
      apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: `bulk-${i}`, namespace: 'default', labels: {bulk: 'yes'}}, data: {blob: `${i}:`.padEnd(8192, 'x')},
    }))}
    cluster.kubectl(cluster.kubeconfig, ['apply', '-f', '-'], JSON.stringify(list))
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('a list over the server\'s threshold comes gzip-compressed and is read whole', async () => {
    const agent = keptAgent('https:', {ca: cluster.ca})
    try {
      const answer = await send(new URL(`${cluster.server}/api/v1/namespaces/default/configmaps?labelSelector=bulk%3Dyes`), {
        method: 'GET', headers: {Authorization: `Bearer ${cluster.token('admin')}`, Accept: 'application/json'}, agent,
      })
      expect(answer.status).toBe(200)
      expect(answer.headers['content-encoding']).toBe('gzip')
      const text = await readText(answer)
      expect(text.length).toBeGreaterThan(COUNT * 8192)
      expect((JSON.parse(text) as {items: unknown[]}).items).toHaveLength(COUNT)
    } finally {
      agent.destroy()
    }
    const client = ClusterClient.connect({kubeconfig: cluster.kubeconfig})
    const items = await client.listAll<{metadata?: {name?: string}; data?: {blob?: string}}>('/api/v1/namespaces/default/configmaps', {labelSelector: 'bulk=yes'})
    expect(items.map((i) => i.metadata?.name).sort()).toEqual(Array.from({length: COUNT}, (_, i) => `bulk-${i}`).sort())
    expect(items.every((i) => i.data?.blob?.length === 8192)).toBe(true)
  })
})
