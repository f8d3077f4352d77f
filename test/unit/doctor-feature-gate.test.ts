// k8s.feature-gate in process: kube-proxy's config file is one ConfigMap, read by every kube-proxy pod (one per
// node). It is parsed once per run, not once per pod (a YAML parse per node was most of doctor's checks' time).
import type {PodDetail} from '../../src/cluster/types.js'
import {featureGate} from '../../src/doctor/checks/kubernetes.js'
import type {Facts} from '../../src/doctor/facts.js'

function factsWith(nodes: number, config: Record<string, string>): Facts {
  const proxies: PodDetail[] = Array.from({length: nodes}, (_, i) => ({
    metadata: {namespace: 'kube-system', name: `kube-proxy-${i}`, labels: {'k8s-app': 'kube-proxy'}},
    spec: {containers: [{name: 'kube-proxy', command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf']}]},
  }))
  return {
    version: {major: 1, minor: 21, gitVersion: 'v1.21.14'},
    kubeletFeatureGates: {ok: true, value: []},
    systemPods: {ok: true, value: proxies},
    configMaps: {ok: true, value: new Map([['kube-proxy', config]])},
  } as unknown as Facts
}

describe('k8s.feature-gate', () => {
  it("reads kube-proxy's ConfigMap once however many kube-proxy pods there are, and each pod gets its value", () => {
    let reads = 0
    const text = 'kind: KubeProxyConfiguration\nfeatureGates:\n  IPv6DualStack: false\n'
    const config = {get 'config.conf'() {
      reads++
      return text
    }}
    const outcome = featureGate.run(factsWith(200, config))
    expect(outcome.status).toBe('fail')
    expect(outcome.message).toContain('IPv6DualStack=false on kube-proxy (kube-proxy-0)')
    expect(outcome.message).toContain('kube-proxy (kube-proxy-1)')
    // Once for the gate, once for the sentence saying the ConfigMap was read: not once per pod.
    expect(reads).toBeLessThanOrEqual(2)
  })

  it('a gate on the command line wins over the ConfigMap, pod by pod', () => {
    const facts = factsWith(3, {'config.conf': 'featureGates: {IPv6DualStack: false}\n'})
    const pods = (facts.systemPods as {value: PodDetail[]}).value
    pods[1]!.spec!.containers![0]!.command!.push('--feature-gates=IPv6DualStack=true')
    const outcome = featureGate.run(facts)
    expect(outcome.status).toBe('fail')
    expect(outcome.message).toContain('kube-proxy (kube-proxy-0)')
    expect(outcome.message).not.toContain('kube-proxy (kube-proxy-1)')
    expect(outcome.message).toContain('kube-proxy (kube-proxy-2)')
  })
})
