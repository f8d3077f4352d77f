// The pure rules behind ippool fix and pods recreate: calico-node's default pool, Calico's validation,
// who manages a pool, what holds its addresses, and how pods group by owner.
import {poolDifferences, poolFromEnv, poolProblems} from '../../src/calico/pools.js'
import {calicoInstall} from '../../src/calico/install.js'
import {isRefusal, migratedPoolName, pickPool, planPoolFix, poolManager, MIGRATED_FROM_ANNOTATION, RUN_ANNOTATION, type PlanInput} from '../../src/ops/ippool/plan.js'
import {groupByOwner, impactOf, type HolderPod, type IpamBlock} from '../../src/ops/pods.js'
import {rolloutWaiting} from '../../src/ops/recreate.js'

const env = (vars: Record<string, string>) => new Map(Object.entries(vars).map(([k, v]) => [k, {value: v}]))

describe('the pool calico-node creates from its env', () => {
  it('IPv6: block 122, NAT outgoing false, IPIP never, node selector all() unless set', () => {
    expect(poolFromEnv(env({CALICO_IPV6POOL_CIDR: '2001:0:0:2:0::/104'}), 'ipv6')).toMatchObject({
      name: 'default-ipv6-ippool',
      spec: {cidr: '2001:0:0:2::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()'},
      sources: {cidr: 'CALICO_IPV6POOL_CIDR=2001:0:0:2:0::/104', natOutgoing: 'default false', blockSize: 'default 122'},
    })
  })

  it('IPv4: NAT outgoing true by default; modes parsed as calico-node does (cross-subnet, off)', () => {
    const pool = poolFromEnv(env({CALICO_IPV4POOL_CIDR: '10.244.0.0/16', CALICO_IPV4POOL_IPIP: 'cross-subnet', CALICO_IPV4POOL_VXLAN: 'off', CALICO_IPV4POOL_NAT_OUTGOING: 'FALSE'}), 'ipv4')
    expect(pool).toMatchObject({spec: {ipipMode: 'CrossSubnet', vxlanMode: 'Never', natOutgoing: false, blockSize: 26}})
    expect(poolFromEnv(env({CALICO_IPV4POOL_CIDR: '10.244.0.0/16', CALICO_IPV4POOL_NAT_OUTGOING: 'yes'}), 'ipv4')).toMatchObject({spec: {natOutgoing: true}})
  })

  it('says what calico-node would refuse', () => {
    expect(poolFromEnv(env({}), 'ipv6')).toEqual({problem: 'CALICO_IPV6POOL_CIDR is not set on calico-node: pass --cidr'})
    expect(poolFromEnv(env({CALICO_IPV6POOL_CIDR: '10.0.0.0/8'}), 'ipv6')).toEqual({problem: 'CALICO_IPV6POOL_CIDR "10.0.0.0/8" is not an IPv6 CIDR'})
    expect(poolFromEnv(env({CALICO_IPV4POOL_CIDR: '10.0.0.0/8', CALICO_IPV4POOL_IPIP: 'sometimes'}), 'ipv4')).toEqual({problem: 'CALICO_IPV4POOL_IPIP "sometimes" is not Always, CrossSubnet or Never'})
    expect(poolFromEnv(env({CALICO_IPV6POOL_CIDR: 'fd00::/48'}), 'ipv6', 'fd00:1::/48')).toMatchObject({spec: {cidr: 'fd00:1::/48'}, sources: {cidr: '--cidr'}})
  })
})

describe('Calico\'s validation of a pool', () => {
  const other = {metadata: {name: 'b'}, spec: {cidr: 'fd00:10::/64'}}
  it.each([
    [{cidr: 'fd00:10::1/64'}, 'has host bits set'],
    [{cidr: 'fd00:20::/64', blockSize: 112}, 'block size 112 is outside 116-128 for IPv6'],
    [{cidr: 'fd00:20::/124', blockSize: 122}, 'block size /122 is larger than the pool fd00:20::/124'],
    [{cidr: 'fe80::/64'}, 'overlaps the link-local range fe80::/10'],
    [{cidr: 'fd00:20::/64', ipipMode: 'Always'}, 'IPIP carries IPv4 only'],
    [{cidr: 'fd00::/16'}, 'overlaps IPPool b (fd00:10::/64)'],
  ])('%j: %s', (spec, problem) => {
    expect(poolProblems('a', spec, [other]).join('; ')).toContain(problem)
  })
  it('a valid pool has no problems; differences compare effective values', () => {
    expect(poolProblems('a', {cidr: 'fd00:20::/64', blockSize: 122}, [other])).toEqual([])
    expect(poolDifferences({cidr: 'fd00:20:0::/64'}, {cidr: 'fd00:20::/64', blockSize: 122, ipipMode: 'Never', natOutgoing: false, nodeSelector: 'all()'})).toEqual([])
  })
})

describe('who manages a pool', () => {
  const install = calicoInstall([{metadata: {name: 'calico-node', namespace: 'kube-system'}}], undefined)!
  it.each([
    [{labels: {'kustomize.toolkit.fluxcd.io/name': 'infra', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system'}}, 'Flux Kustomization flux-system/infra'],
    [{labels: {'helm.toolkit.fluxcd.io/name': 'calico', 'helm.toolkit.fluxcd.io/namespace': 'tigera'}}, 'Flux HelmRelease tigera/calico'],
    [{annotations: {'meta.helm.sh/release-name': 'calico', 'meta.helm.sh/release-namespace': 'kube-system'}}, 'Helm release "calico" in kube-system'],
    [{labels: {'app.kubernetes.io/instance': 'network'}}, 'Argo CD application "network"'],
  ])('%j', (meta, text) => {
    expect(poolManager({metadata: {name: 'p', ...meta}, spec: {cidr: 'fd00::/48'}}, install, undefined)?.text).toContain(text)
  })
  it('nobody, for a pool calico-node created', () => {
    expect(poolManager({metadata: {name: 'default-ipv6-ippool'}, spec: {cidr: 'fd00::/48'}}, install, undefined)).toBeUndefined()
  })
})

describe('what holds a pool\'s addresses', () => {
  it('pods by IP, tunnels by node annotation and IPAM attributes, and allocations whose pod is gone', () => {
    const pods: HolderPod[] = [{namespace: 'a', name: 'web-1', ips: ['fd00::2']}]
    const block: IpamBlock = {spec: {cidr: 'fd00::/126', allocations: [null, 0, 1, 2], attributes: [
      {secondary: {node: 'n1', type: 'vxlanV6TunnelAddress'}}, {secondary: {namespace: 'a', pod: 'web-1', node: 'n1'}}, {secondary: {namespace: 'a', pod: 'gone', node: 'n1'}}]}}
    const nodes = [{metadata: {name: 'n2', annotations: {'projectcalico.org/IPv6VXLANTunnelAddr': 'fd00::40'}}}]
    const impact = impactOf('fd00::/64', pods, [block, {spec: {cidr: 'fd01::/122'}}], nodes)
    expect(impact.blocks).toBe(1)
    expect(impact.tunnels).toEqual([{node: 'n2', ip: 'fd00::40', type: 'vxlanV6TunnelAddress'}, {node: 'n1', ip: 'fd00::1', type: 'vxlanV6TunnelAddress'}])
    expect(impact.leaked).toEqual([{ip: 'fd00::3', pod: 'a/gone'}])
    expect(impactOf('fd00::/64', [], {error: 'forbidden'}, []).ipamError).toBe('forbidden')
  })

  it('groups pods by owner: rolled, evicted, or only listed', () => {
    const pod = (name: string, owner?: {kind: string; name: string}): HolderPod => ({namespace: 'ns', name, ips: [], owner})
    const groups = groupByOwner([pod('w-1', {kind: 'Deployment', name: 'w'}), pod('w-2', {kind: 'Deployment', name: 'w'}), pod('j-1', {kind: 'Job', name: 'j'}),
      pod('bare'), pod('x-1', {kind: 'MyOperatorThing', name: 'x'})], false)
    expect(groups.map((g) => [g.owner?.name ?? '-', g.action, g.pods.length])).toEqual([['w', 'rollout-restart', 2], ['x', 'evict', 1], ['-', 'list', 1], ['j', 'list', 1]])
    expect(groupByOwner([pod('bare')], true)[0]!.action).toBe('evict')
  })

  it('knows when a rollout is done, per kind', () => {
    expect(rolloutWaiting('Deployment', {metadata: {generation: 2}, spec: {replicas: 2}, status: {observedGeneration: 1}})).toBe('waiting for the controller to see the change')
    expect(rolloutWaiting('Deployment', {metadata: {generation: 2}, spec: {replicas: 2}, status: {observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2}})).toBe('1 old replica(s) pending termination')
    expect(rolloutWaiting('DaemonSet', {metadata: {generation: 1}, status: {observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3}})).toBeUndefined()
    expect(rolloutWaiting('StatefulSet', {metadata: {generation: 1}, spec: {replicas: 1}, status: {observedGeneration: 1, updatedReplicas: 1, readyReplicas: 1, currentRevision: 'a', updateRevision: 'b'}}))
      .toBe('waiting for the update revision to become current')
  })
})

describe('the plan', () => {
  const install = calicoInstall([{metadata: {name: 'calico-node', namespace: 'kube-system'}}], undefined)!
  const pool = {metadata: {name: 'default-ipv6-ippool'}, spec: {cidr: 'fd00:1::/64', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}}
  const input = (over: Partial<PlanInput>): PlanInput => ({family: 'ipv6', strategy: 'auto', force: false, recreatePods: false, evictBare: false, install,
    env: env({CALICO_IPV6POOL_CIDR: 'fd00:2::/64', CALICO_IPV6POOL_NAT_OUTGOING: 'true'}), pools: [pool], target: pool,
    impact: {cidr: pool.spec.cidr, pods: [], tunnels: [], leaked: []}, apiVersion: 'crd.projectcalico.org/v1', ...over})

  it('picks the default pool, or refuses to guess among several', () => {
    expect(pickPool([pool], 'ipv6')).toBe(pool)
    expect(pickPool([pool], 'ipv4')).toBeUndefined()
    const two = [{metadata: {name: 'a'}, spec: {cidr: 'fd00:1::/64'}}, {metadata: {name: 'b'}, spec: {cidr: 'fd00:2::/64'}}]
    expect(isRefusal(pickPool(two, 'ipv6'))).toBe(true)
  })

  it('a block size change on a used pool cannot migrate to the same range', () => {
    const plan = planPoolFix(input({env: env({CALICO_IPV6POOL_CIDR: 'fd00:1::/64', CALICO_IPV6POOL_BLOCK_SIZE: '120', CALICO_IPV6POOL_NAT_OUTGOING: 'true'}),
      impact: {cidr: pool.spec.cidr, pods: [{namespace: 'a', name: 'b', ips: ['fd00:1::5']}], tunnels: [], leaked: []}}))
    expect(plan).toMatchObject({refused: expect.stringContaining('the block size of default-ipv6-ippool cannot change while 1 pod(s) use it')})
  })

  it('creates the pool when the family has none, as calico-node would', () => {
    const plan = planPoolFix(input({pools: [], target: undefined}))
    expect(plan).toMatchObject({strategy: 'create', actions: [{kind: 'create-pool', pool: 'default-ipv6-ippool'}, {kind: 'verify-pool'}]})
  })

  it('finishes a migration: the disabled old pool is deleted (with a backup) once nothing holds its addresses, and not before', () => {
    const migrated = {metadata: {name: 'default-ipv6-ippool-fd00-2---64'}, spec: {cidr: 'fd00:2::/64', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}}
    const old = {metadata: {name: 'default-ipv6-ippool'}, spec: {...pool.spec, disabled: true}}
    const empty = planPoolFix(input({pools: [old, migrated], target: old, impact: {cidr: old.spec.cidr, pods: [], tunnels: [], leaked: [], blocks: 2}}))
    expect(empty).toMatchObject({strategy: 'migrate', pool: 'default-ipv6-ippool', to: {name: 'default-ipv6-ippool-fd00-2---64'},
      actions: [{kind: 'backup', pool: 'default-ipv6-ippool'}, {kind: 'delete-pool-if-unused', pool: 'default-ipv6-ippool', cidr: 'fd00:1::/64'}]})
    expect((empty as {notes: string[]}).notes.join('\n')).toContain('its 2 empty IPAM block(s) go with Calico\'s IPAM garbage collection')
    // Whoever manages the old pool would put it back: refused (the operator) or --force (GitOps, Helm).
    const helmOld = {...old, metadata: {...old.metadata, annotations: {'meta.helm.sh/release-name': 'calico'}}}
    const impactEmpty = {cidr: old.spec.cidr, pods: [], tunnels: [], leaked: []}
    expect(planPoolFix(input({pools: [helmOld, migrated], target: helmOld, impact: impactEmpty}))).toMatchObject({refused: expect.stringContaining('is disabled and empty but managed by Helm release "calico"')})
    expect(planPoolFix(input({pools: [helmOld, migrated], target: helmOld, impact: impactEmpty, force: true}))).toMatchObject({strategy: 'migrate'})
    for (const held of [{pods: [{namespace: 'a', name: 'b', ips: ['fd00:1::5']}]}, {tunnels: [{node: 'n1', ip: 'fd00:1::9', type: 'vxlanV6TunnelAddress'}]}, {leaked: [{ip: 'fd00:1::7', pod: 'a/gone'}]}]) {
      const plan = planPoolFix(input({pools: [old, migrated], target: old, impact: {cidr: old.spec.cidr, pods: [], tunnels: [], leaked: [], ...held}}))
      expect(plan).toMatchObject({strategy: 'none', actions: []})
      expect((plan as {notes: string[]}).notes.join('\n')).toMatch(/is disabled and still .* hold addresses from it: kubectl dualstack pods recreate --in-pool default-ipv6-ippool/)
    }
  })

  it('does not delete a disabled old pool when its IPAM allocations cannot be read (leaked ones cannot be counted): it says so and leaves it disabled', () => {
    const migrated = {metadata: {name: 'default-ipv6-ippool-fd00-2---64'}, spec: {cidr: 'fd00:2::/64', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}}
    const old = {metadata: {name: 'default-ipv6-ippool'}, spec: {...pool.spec, disabled: true}}
    const plan = planPoolFix(input({pools: [old, migrated], target: old, impact: {cidr: old.spec.cidr, pods: [], tunnels: [], leaked: [], ipamError: 'ipamblocks is forbidden'}}))
    expect(plan).toMatchObject({strategy: 'none', actions: []})
    expect((plan as {notes: string[]}).notes.join('\n')).toContain('its IPAM allocations could not be read (ipamblocks is forbidden): it is left disabled')
  })

  it('finds a migrated pool of another name than calico-node\'s: the disabled one beside the pool a run of ippool fix made for it', () => {
    const made = {metadata: {name: 'pods-v6-fd00-2---64', annotations: {[RUN_ANNOTATION]: 'abc-123', [MIGRATED_FROM_ANNOTATION]: 'pods-v6'}}, spec: {cidr: 'fd00:2::/64'}}
    const old = {metadata: {name: 'pods-v6'}, spec: {cidr: 'fd00:1::/64', disabled: true}}
    expect(pickPool([old, made], 'ipv6')).toBe(old)
    // Without the mark (two pools someone made), or a disabled pool the migration did not replace, it is not a guess ippool fix makes.
    expect(isRefusal(pickPool([old, {...made, metadata: {name: made.metadata.name}}], 'ipv6'))).toBe(true)
    const parked = {metadata: {name: 'reserved-for-dmz'}, spec: {cidr: 'fd00:9::/64', disabled: true}}
    expect(isRefusal(pickPool([parked, made], 'ipv6'))).toBe(true)
  })

  it('names a migration\'s new pool after its range', () => {
    expect(migratedPoolName('ipv6', 'fd00:10:244::/56')).toBe('default-ipv6-ippool-fd00-10-244---56')
  })
})
