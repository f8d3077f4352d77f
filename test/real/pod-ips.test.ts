import type {RealCluster} from '../control-plane/cluster.js'
import {runKubectl, runPlugin} from '../sim/harness.js'
import {START_TIMEOUT, startReal} from './harness.js'

const RUNBOOK_TEMPLATE = '{{range .status.podIPs}}{{printf "%s\\n" .ip}}{{end}}'
const LIST_TEMPLATE = `{{range .items}}${RUNBOOK_TEMPLATE}{{end}}`

describe('pod-ips on a real control plane (healthy dual-stack scenario)', () => {
  let cluster: RealCluster
  beforeAll(async () => {
    cluster = await startReal('healthy-dual-stack')
  }, START_TIMEOUT)
  afterAll(() => cluster?.stop())

  it('-A -o plain is byte-equal to kubectl\'s go-template over every pod', async () => {
    const kubectl = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'pods', '-A', '-o', `go-template=${LIST_TEMPLATE}`])
    const plugin = await runPlugin(['pod-ips', '-A', '-o', 'plain', '--kubeconfig', cluster.kubeconfig])
    expect(kubectl.code).toBe(0)
    expect(plugin).toEqual({code: 0, stdout: kubectl.stdout, stderr: ''})
    // Every pod the scenario has runs, and each pod network pod got one address of each family from Calico's pools.
    expect(plugin.stdout.trimEnd().split('\n').length).toBeGreaterThan(15)
  })

  it('counts every pod dual-stack, the pod network ones with addresses from the IPv4 and IPv6 pools', async () => {
    const result = await runPlugin(['pod-ips', '-A', '-o', 'json', '--kubeconfig', cluster.kubeconfig])
    expect(result.code).toBe(0)
    const model = JSON.parse(result.stdout) as {items: Array<{name: string; hostNetwork: boolean; ipv4: string[]; ipv6: string[]; stack: string}>; summary: Record<string, number>}
    expect(model.summary.total).toBe(model.items.length)
    expect(model.summary).toMatchObject({dual: model.items.length, ipv4: 0, ipv6: 0, none: 0})
    for (const pod of model.items.filter((p) => !p.hostNetwork)) {
      expect(pod.ipv4[0]).toMatch(/^10\.244\./)
      expect(pod.ipv6[0]).toMatch(/^fd00:10:244:/)
    }
    // The addresses are Calico IPAM allocations, stored as real IPAMBlock objects.
    const blocks = JSON.parse((await runKubectl(['--kubeconfig', cluster.kubeconfig, 'get', 'ipamblocks.crd.projectcalico.org', '-o', 'json'])).stdout) as {items: Array<{spec: {cidr: string; affinity: string}}>}
    expect(blocks.items.map((b) => b.spec.cidr)).toEqual(expect.arrayContaining([expect.stringMatching(/^10\.244\.\d+\.\d+\/26$/), expect.stringMatching(/^fd00:10:244:.*\/122$/)]))
  })

  it('--require-dual passes, and -n of one namespace lists only it', async () => {
    const result = await runPlugin(['pod-ips', '-n', 'default', '--require-dual', '--kubeconfig', cluster.kubeconfig])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^NAME\s+NODE\s+IPV4\s+IPV6\s+STACK/)
    expect(result.stdout).toMatch(/hello-k8s\s+\S+\s+10\.244\.\S+\s+fd00:10:244:\S+\s+dual\n/)
    expect(result.stdout).not.toMatch(/calico-node/)
  })
})
