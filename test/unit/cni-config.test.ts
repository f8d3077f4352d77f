import {readCniConfig} from '../../src/calico/cni-config.js'
import {imageTag, resolveEnv} from '../../src/calico/env.js'

const RUNBOOK = `{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "nodename": "__KUBERNETES_NODE_NAME__",
      "mtu": __CNI_MTU__,
      "ipam": {
        "type": "calico-ipam",
        "assign_ipv4" : "true",
        "assign_ipv6" : "true"
      },
      "kubernetes": {"kubeconfig": "__KUBECONFIG_FILEPATH__"}
    },
    {"type": "portmap", "snat": true}
  ]
}`

describe("calico-config's cni_network_config", () => {
  it('reads the runbook config despite its placeholders', () => {
    expect(readCniConfig(RUNBOOK)).toEqual({ipam: {type: 'calico-ipam', assignIpv4: true, assignIpv6: true}})
  })

  it("applies Calico's defaults: IPv4 unless told not to, IPv6 only when asked", () => {
    const withoutAssign = RUNBOOK.replace(',\n        "assign_ipv4" : "true",\n        "assign_ipv6" : "true"', '')
    expect(withoutAssign).not.toContain('assign_ipv')
    expect(readCniConfig(withoutAssign)).toEqual({ipam: {type: 'calico-ipam', assignIpv4: true, assignIpv6: false}})
  })

  it('reads a single plugin config and host-local ipam', () => {
    expect(readCniConfig('{"type": "calico", "mtu": __CNI_MTU__, "ipam": {"type": "host-local"}}').ipam?.type).toBe('host-local')
  })

  it('says why it cannot read a broken config', () => {
    expect(readCniConfig('{"plugins": [').error).toMatch(/not valid JSON/)
    expect(readCniConfig('{"plugins": [{"type": "flannel"}]}').error).toBe('no plugin of type "calico" in the CNI config')
  })
})

describe('calico-node env', () => {
  it('resolves configMapKeyRef and says where a missing value should have come from', () => {
    const env = resolveEnv([
      {name: 'IP6', value: 'autodetect'},
      {name: 'CALICO_IPV6POOL_CIDR', valueFrom: {configMapKeyRef: {name: 'calico-config', key: 'ipv6_pool_cidr'}}},
      {name: 'FELIX_IPV6SUPPORT', valueFrom: {configMapKeyRef: {name: 'calico-config', key: 'missing'}}},
    ], new Map([['calico-config', {ipv6_pool_cidr: 'fd00::/48'}]]))
    expect(env.get('IP6')).toEqual({value: 'autodetect', source: 'value'})
    expect(env.get('CALICO_IPV6POOL_CIDR')).toEqual({value: 'fd00::/48', source: 'configmap calico-config key ipv6_pool_cidr'})
    expect(env.get('FELIX_IPV6SUPPORT')?.value).toBeUndefined()
  })

  it('takes the version from the image tag', () => {
    expect(imageTag('docker.io/calico/node:v3.26.1')).toBe('v3.26.1')
    expect(imageTag('registry:5000/calico/node')).toBeUndefined()
    expect(imageTag('calico/node:v3.13.4@sha256:abc')).toBe('v3.13.4')
  })
})
