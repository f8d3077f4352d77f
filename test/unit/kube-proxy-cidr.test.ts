// kube-proxy's cluster CIDR, in process: how kube-proxy splits it, the value doctor proposes from the pools it
// read, and which pods started before their ConfigMap last changed.
import type {IPPoolObject, PodDetail} from '../../src/cluster/types.js'
import {podsStartedBefore, wantedClusterCidr} from '../../src/doctor/checks/kube-proxy.js'
import {proxyCidrSpacingProblem, readProxyCidrList} from '../../src/k8s/cluster-cidr.js'
import {dataLastChanged} from '../../src/k8s/managed-fields.js'

const pool = (name: string, cidr: string, disabled = false): IPPoolObject => ({metadata: {name}, spec: {cidr, ...(disabled ? {disabled} : {})}})

describe("kube-proxy's cluster CIDR", () => {
  it('is split on "," without trimming, as kube-proxy does', () => {
    expect(readProxyCidrList('10.244.0.0/16, fd00:10:244::/56')).toEqual({cidrs: ['10.244.0.0/16', 'fd00:10:244::/56'], spaced: [' fd00:10:244::/56'], fixed: '10.244.0.0/16,fd00:10:244::/56'})
    expect(proxyCidrSpacingProblem('10.244.0.0/16 ,fd00:10:244::/56')).toBe('has a space around a comma: kube-proxy splits it on "," without trimming and refuses "10.244.0.0/16 " at its next start')
    expect(proxyCidrSpacingProblem('10.244.0.0/16,fd00:10:244::/56')).toBeUndefined()
  })

  it('the value doctor proposes: what holds the enabled pools (its own, the controller\'s, the pool\'s), a placeholder only when nothing says', () => {
    const pools = [pool('v4', '10.244.0.0/16'), pool('v6', 'fd00:10:244::/56'), pool('old', 'fd00:77::/56', true)]
    expect(wantedClusterCidr(['10.244.0.0/16', 'fd00:99::/56'], [], pools)).toBe('10.244.0.0/16,fd00:10:244::/56')
    expect(wantedClusterCidr(['10.244.0.0/16'], ['10.244.0.0/16', 'fd00:10::/32'], pools)).toBe('10.244.0.0/16,fd00:10::/32')
    expect(wantedClusterCidr(['10.244.0.0/16'], [], [pool('v4', '10.244.0.0/16')])).toBe('10.244.0.0/16,<IPv6 pod CIDR>')
    expect(wantedClusterCidr(['10.0.0.0/8'], [], [pool('a', 'fd00:1::/64'), pool('b', 'fd00:2::/64')])).toBe('10.0.0.0/8,<IPv6 pod CIDR>')
  })

  it('pods that started before the ConfigMap changed run the old value; the same second counts as after', () => {
    const pod = (name: string, startedAt?: string, startTime?: string): PodDetail => ({metadata: {name}, status: {startTime, containerStatuses: [{name: 'kube-proxy', ...(startedAt ? {state: {running: {startedAt}}} : {})}]}})
    const pods = [pod('old', '2025-01-01T10:00:00Z'), pod('same', '2025-01-01T10:05:00Z'), pod('restarted', '2025-01-01T10:06:00Z', '2025-01-01T09:00:00Z'), pod('waiting', undefined, '2025-01-01T09:00:00Z')]
    expect(podsStartedBefore(pods, '2025-01-01T10:05:00Z').map((p) => p.metadata?.name)).toEqual(['old', 'waiting'])
  })

  it('the ConfigMap last changed when the newest managedFields entry owning its data says', () => {
    expect(dataLastChanged({metadata: {managedFields: [
      {manager: 'kubeadm', time: '2025-01-01T09:00:00Z', fieldsV1: {'f:data': {'f:config.conf': {}}}},
      {manager: 'kubectl-patch', time: '2025-01-01T10:00:00Z', fieldsV1: {'f:data': {'f:config.conf': {}}}},
      {manager: 'kubectl-label', time: '2025-01-01T11:00:00Z', fieldsV1: {'f:metadata': {'f:labels': {}}}},
    ]}} as never)).toEqual({time: '2025-01-01T10:00:00Z', manager: 'kubectl-patch'})
    expect(dataLastChanged({metadata: {name: 'x'}})).toBeUndefined()
  })
})
