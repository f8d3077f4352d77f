// lint on files: the runbook's files give exactly the expected findings, a clean config none, and every
// rule has a failing case (written here next to its expectation) and passes on the clean fixture.
import {cpSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {ROOT, runPlugin} from '../sim/harness.js'

const RUNBOOK = path.join(ROOT, 'test/fixtures/lint/runbook')
const CLEAN = path.join(ROOT, 'test/fixtures/lint/clean')

interface LintJson {
  findings: Array<{rule: string; severity: string; file: string; line: number; column: number; message: string; fix?: string}>
  skipped: Array<{file: string; reason: string}>
  unreadable: Array<{file: string; line?: number; column?: number; message: string}>
  clusters: Array<{name: string; files: string[]}>
  readAs: Record<string, string[]>
  notes: string[]
  summary: {error: number; warning: number}
}

async function lint(...args: string[]): Promise<{code: number; report: LintJson; stderr: string}> {
  const result = await runPlugin(['lint', ...args, '-o', 'json'])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as LintJson, stderr: result.stderr}
}

function brief(report: LintJson): string[] {
  return report.findings.map((f) => `${path.basename(f.file)}:${f.line} ${f.severity} ${f.rule}`)
}

describe('lint on the runbook files', () => {
  it('finds the default IPv6 node mask that cannot fit the /104 cluster CIDR, the non-private ranges and the alpha ipFamily field', async () => {
    const {code, report} = await lint(RUNBOOK, '--kubernetes-version', 'v1.18.20')
    expect(brief(report)).toEqual([
      'svc-ipv6.yaml:9 warning service.ip-family',
      'values-calico.yaml:6 warning range.not-private',
      'values-rancher-aplic.yaml:6 warning range.not-private',
      'values-rancher-aplic.yaml:8 warning range.not-private',
      'values-rancher-aplic.yaml:8 warning range.not-private',
      'values-rancher-aplic.yaml:11 error cidr.node-mask',
      'values-rancher-aplic.yaml:11 warning range.not-private',
      'values-rancher-aplic.yaml:11 warning range.not-private',
      'values-rancher-aplic.yaml:18 warning range.not-private',
      'values-rancher-aplic.yaml:18 warning range.not-private',
    ])
    expect(report.findings.find((f) => f.message.includes('2001:0:0:2::/104'))!.message).toContain('Teredo')
    expect(report.findings[0]!.fix).toContain('ipFamilies: [IPv6]')
    expect(report.findings.find((f) => f.rule === 'cidr.node-mask')!.message).toBe('cluster.kubeController.clusterCidr: node-cidr-mask-size-ipv6 (default 64, not set) is shorter than the cluster CIDR 2001:0:0:2::/104: kube-controller-manager cannot allocate IPv6 node CIDRs (and refuses to start on newer releases)')
    expect(report.skipped).toEqual([{file: path.join(RUNBOOK, 'calico-node.yaml'), reason: expect.stringContaining('a Helm template')}])
    // An error-level finding fails the run: the runbook's files fail lint until the mask is set.
    expect(code).toBe(1)
  })

  it('writes file:line:column findings with fixes, and SARIF and JUnit for CI', async () => {
    const text = await runPlugin(['lint', RUNBOOK])
    expect(text.stdout).toContain(`${path.join(RUNBOOK, 'values-calico.yaml')}:6:27: warning calicoNode.env.CALICO_IPV6POOL_CIDR: 2001:0:0:2::/104 is inside the Teredo prefix 2001::/32 (RFC 4380): use a range assigned to you (global unicast) or a unique local one [range.not-private]\n    fix: e.g. a range assigned to you, or a unique local one such as fd00:10:244::/56`)
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('5 file(s): 1 error(s), 9 warning(s), 1 not linted')
    // The runbook's files state no Kubernetes version: said once, not silently skipped.
    expect(text.stdout).toContain('note: no Kubernetes version in the files: k8s.feature-gate and kube-proxy.mode were not checked; pass --kubernetes-version')
    const sarif = JSON.parse((await runPlugin(['lint', RUNBOOK, '-o', 'sarif'])).stdout)
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.runs[0].results[0]).toMatchObject({ruleId: 'service.ip-family', level: 'warning', locations: [{physicalLocation: {region: {startLine: 9, startColumn: 13}}}]})
    expect(sarif.runs[0].tool.driver.rules.map((r: {id: string}) => r.id)).toContain('rke.service-range-extra-args')
    const junit = (await runPlugin(['lint', RUNBOOK, '-o', 'junit'])).stdout
    expect(junit.match(/<testcase /g)).toHaveLength(11)
  })
})

describe('lint rules', () => {
  it.each(['clean', 'clean-kubeadm', 'clean-rke2'])('a clean modern dual-stack config (%s) produces no finding', async (dir) => {
    const {code, report} = await lint(path.join(ROOT, 'test/fixtures/lint', dir), '--kubernetes-version', 'v1.30.2')
    expect(report.findings).toEqual([])
    expect(report.skipped).toEqual([])
    expect(code).toBe(0)
  })

  const RKE = (api: string, controller: string, proxy: string) => `services:\n  kube-api:\n${api}\n  kube-controller:\n${controller}\n  kubeproxy:\n${proxy}\n`
  const GOOD_API = '    service_cluster_ip_range: 10.43.0.0/16\n    extra_args:\n      service-cluster-ip-range: "10.43.0.0/16,fd00:43::/112"'
  const GOOD_CM = '    cluster_cidr: "10.42.0.0/16,fd00:42::/56"'
  const GOOD_PROXY = '    extra_args:\n      cluster-cidr: "10.42.0.0/16,fd00:42::/56"'
  const CASES: Array<[string, string, Record<string, string>, string[], string[]]> = [
    ['cidr.dual', 'a single-family cluster CIDR', {'cluster.yml': RKE(GOOD_API, '    cluster_cidr: "10.42.0.0/16"', '    extra_args:\n      cluster-cidr: "10.42.0.0/16"')}, [], ['cluster.yml:7 error cidr.dual', 'cluster.yml:10 error cidr.dual']],
    ['cidr.agree', 'kube-proxy disagreeing with the controller', {'cluster.yml': RKE(GOOD_API, GOOD_CM, '    extra_args:\n      cluster-cidr: "10.42.0.0/16,fd00:99::/56"')}, [], ['cluster.yml:10 error cidr.agree']],
    ['rke.service-range-extra-args', 'the IPv6 service range missing from extra_args (rancher/rke#1902)', {'cluster.yml': RKE('    service_cluster_ip_range: 10.43.0.0/16', GOOD_CM, GOOD_PROXY)}, [], ['cluster.yml:3 error cidr.dual', 'cluster.yml:3 error rke.service-range-extra-args']],
    ['cidr.service-ipv6-size', 'an IPv6 service range of /64', {'cluster.yml': RKE(GOOD_API.replace('fd00:43::/112', 'fd00:43::/64'), GOOD_CM, GOOD_PROXY)}, [], ['cluster.yml:5 error cidr.service-ipv6-size']],
    ['cidr.overlap', 'a service range inside the pod range', {'cluster.yml': RKE(GOOD_API.replace('fd00:43::/112', 'fd00:42::/112'), GOOD_CM, GOOD_PROXY)}, [], ['cluster.yml:5 error cidr.overlap']],
    ['calico.pool-in-cluster-cidr', 'a pool outside the cluster CIDR', {'cluster.yml': RKE(GOOD_API, GOOD_CM, GOOD_PROXY), 'values.yaml': 'calicoNode:\n  env:\n    IP6: autodetect\n    FELIX_IPV6SUPPORT: "true"\n    CALICO_IPV6POOL_CIDR: "fd00:77::/56"\n    CALICO_IPV6POOL_NAT_OUTGOING: "true"\n'}, [], ['values.yaml:5 error calico.pool-in-cluster-cidr']],
    ['calico.node-env', 'FELIX_IPV6SUPPORT off and no NAT outgoing', {'values.yaml': 'calicoNode:\n  env:\n    IP6: autodetect\n    FELIX_IPV6SUPPORT: "false"\n    CALICO_IPV6POOL_CIDR: "fd00:42::/56"\n'}, [], ['values.yaml:4 error calico.node-env', 'values.yaml:5 warning calico.node-env']],
    ['calico.cni-ipam', 'a CNI config without assign_ipv6', {'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: calico-config}\ndata:\n  cni_network_config: \'{"plugins": [{"type": "calico", "mtu": __CNI_MTU__, "ipam": {"type": "calico-ipam"}}]}\'\n'}, [], ['cm.yaml:5 error calico.cni-ipam']],
    ['k8s.feature-gate', 'a 1.18 kubelet without the gate', {'cluster.yml': 'services:\n  kubelet:\n    extra_args:\n      max-pods: "110"\n'}, ['--kubernetes-version', '1.18'], ['cluster.yml:4 error k8s.feature-gate']],
    ['k8s.feature-gate', 'the removed gate on 1.30', {'cluster.yml': 'services:\n  kubelet:\n    extra_args:\n      feature-gates: "IPv6DualStack=true"\n'}, ['--kubernetes-version', '1.30'], ['cluster.yml:4 error k8s.feature-gate']],
    ['kube-proxy.mode', 'iptables mode on 1.18', {'cluster.yml': 'services:\n  kubeproxy:\n    extra_args:\n      feature-gates: "IPv6DualStack=true"\n      proxy-mode: iptables\n'}, ['--kubernetes-version', '1.18'], ['cluster.yml:5 error kube-proxy.mode']],
    ['service.ip-family', 'ipFamily on a 1.20+ target', {'svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ipFamily: IPv6\n  ports: [{port: 80}]\n'}, ['--kubernetes-version', '1.22'], ['svc.yaml:5 error service.ip-family']],
    ['cidr.node-mask', 'an IPv6 node mask 72 bits longer than the cluster CIDR', {'cluster.yml': RKE(GOOD_API, GOOD_CM + '\n    extra_args:\n      node-cidr-mask-size-ipv6: "128"', GOOD_PROXY)}, [], ['cluster.yml:9 error cidr.node-mask']],
    ['calico.block-size', 'an Installation pool with block size 112', {'installation.yaml': 'apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata: {name: default}\nspec:\n  calicoNetwork:\n    ipPools:\n      - {cidr: "fd00:42::/56", blockSize: 112}\n'}, [], ['installation.yaml:7 error calico.block-size']],
    ['cidr.dual', 'a kubeadm ClusterConfiguration with one pod family', {'kubeadm.yaml': 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: "10.96.0.0/16,fd00:10:96::/112"\n'}, [], ['kubeadm.yaml:4 error cidr.dual']],
    ['cidr.dual', 'an RKE2 config with one service family', {'config.yaml': 'cluster-cidr: "10.42.0.0/16,fd00:42::/56"\nservice-cidr: 10.43.0.0/16\n'}, [], ['config.yaml:2 error cidr.dual']],
    ['kube-proxy.mode', 'a KubeProxyConfiguration in iptables mode on 1.18', {'proxy.yaml': 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: "10.244.0.0/16,fd00:10:244::/56"\nfeatureGates: {IPv6DualStack: true}\nmode: iptables\n'}, ['--kubernetes-version', '1.18'], ['proxy.yaml:5 error kube-proxy.mode']],
  ]

  // Unset settings are their components' defaults (src/k8s/defaults.ts), said as such.
  const V6_ENV = 'calicoNode:\n  env:\n    IP6: autodetect\n    FELIX_IPV6SUPPORT: "true"\n'
  CASES.push(
    ['cidr.node-mask', 'the default IPv4 mask (24) on a /28 cluster CIDR', {'cluster.yml': RKE(GOOD_API, '    cluster_cidr: "10.42.0.0/28,fd00:42::/56"', '    extra_args:\n      cluster-cidr: "10.42.0.0/28,fd00:42::/56"')}, [], ['cluster.yml:7 error cidr.node-mask']],
    ['cidr.node-mask', 'the default IPv6 mask (64) on a /104 cluster CIDR, as in the runbook', {'cluster.yml': RKE(GOOD_API, '    cluster_cidr: "10.42.0.0/16,fd00:42::/104"', '    extra_args:\n      cluster-cidr: "10.42.0.0/16,fd00:42::/104"')}, [], ['cluster.yml:7 error cidr.node-mask']],
    ['cidr.dual', "RKE's default service range (10.43.0.0/16) when kube-api sets none", {'cluster.yml': 'services:\n  kube-api:\n    always_pull_images: false\n  kube-controller:\n    cluster_cidr: "10.42.0.0/16,fd00:42::/56"\n'}, [], ['cluster.yml:3 error cidr.dual']],
    ['cidr.dual', "kubeadm's default service subnet (10.96.0.0/12) when networking sets none", {'kubeadm.yaml': 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: "10.244.0.0/16,fd00:10:244::/56"\n'}, [], ['kubeadm.yaml:2 error cidr.dual']],
    ['cidr.dual', "RKE2's default service CIDR (10.43.0.0/16) when config.yaml sets none", {'config.yaml': '# /etc/rancher/rke2/config.yaml\ncluster-cidr: "10.42.0.0/16,fd00:42::/56"\n'}, [], ['config.yaml:2 error cidr.dual']],
    ['calico.block-size', 'the default IPv6 block size (122) on a /124 pool', {'values.yaml': `${V6_ENV}    CALICO_IPV6POOL_CIDR: "fd00:42::/124"\n    CALICO_IPV6POOL_NAT_OUTGOING: "true"\n`}, [], ['values.yaml:5 error calico.block-size']],
    ['calico.node-env', 'IP6 unset (default none: no IPv6 address); FELIX_IPV6SUPPORT unset is its default true', {'values.yaml': 'calicoNode:\n  env:\n    CALICO_IPV6POOL_CIDR: "fd00:42::/56"\n    CALICO_IPV6POOL_NAT_OUTGOING: "true"\n'}, [], ['values.yaml:3 error calico.node-env']],
    ['kube-proxy.mode', 'the default mode (iptables) on the version RKE\'s kubernetes_version states', {'cluster.yml': `kubernetes_version: v1.18.20-rancher1-2\n${RKE(GOOD_API, GOOD_CM, GOOD_PROXY.replace('\n      proxy-mode: ipvs', ''))}`}, [],
      // 1.18, read from the file: the gate is needed too (alpha), and iptables cannot serve both families.
      ['cluster.yml:6 error k8s.feature-gate', 'cluster.yml:8 error k8s.feature-gate', 'cluster.yml:11 error k8s.feature-gate', 'cluster.yml:11 error kube-proxy.mode']],
  )

  // IPv6: a global unicast range assigned to the operator is what Kubernetes' documentation recommends; special-purpose blocks are not.
  const KUBEADM = (pods: string, services: string) => `apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: "${pods}"\n  serviceSubnet: "${services}"\n`
  CASES.push(
    ['range.not-private', 'IPv6 in the documentation prefix (the Service range) and in 6to4 (the pods)', {'kubeadm.yaml': KUBEADM('10.244.0.0/16,2002:a::/56', '10.96.0.0/16,2001:db8:42:1::/112')}, [], ['kubeadm.yaml:4 warning range.not-private', 'kubeadm.yaml:5 warning range.not-private']],
    ['range.not-private', 'public IPv4 space (the runbook\'s 3.2.0.0/16 belongs to someone else)', {'kubeadm.yaml': KUBEADM('3.2.0.0/16,fd00:10:244::/56', '10.96.0.0/16,fd00:10:96::/112')}, [], ['kubeadm.yaml:4 warning range.not-private']],
  )

  // kube-proxy splits its cluster CIDR on "," without trimming: a space around the comma stops it at its next start.
  const PROXY_CM = (cidr: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-proxy, namespace: kube-system}\ndata:\n  config.conf: |-\n    apiVersion: kubeproxy.config.k8s.io/v1alpha1\n    kind: KubeProxyConfiguration\n    clusterCIDR: ${cidr}\n    mode: ipvs\n`
  CASES.push(
    ['kube-proxy.cluster-cidr', 'a space after the comma in a KubeProxyConfiguration', {'proxy.yaml': 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: "10.244.0.0/16, fd00:10:244::/56"\nmode: ipvs\n'}, [], ['proxy.yaml:3 error kube-proxy.cluster-cidr']],
    ['kube-proxy.cluster-cidr', "a space after the comma in RKE's kubeproxy extra_args", {'cluster.yml': RKE(GOOD_API, GOOD_CM, '    extra_args:\n      cluster-cidr: "10.42.0.0/16 ,fd00:42::/56"')}, [], ['cluster.yml:10 error kube-proxy.cluster-cidr']],
    ['kube-proxy.cluster-cidr', "a space after the comma in kubeadm's kube-proxy ConfigMap", {'cm.yaml': PROXY_CM('10.244.0.0/16, fd00:10:244::/56')}, [], ['cm.yaml:8 error kube-proxy.cluster-cidr']],
    ['cidr.dual', "one family in kubeadm's kube-proxy ConfigMap", {'cm.yaml': PROXY_CM('10.244.0.0/16')}, [], ['cm.yaml:8 error cidr.dual']],
  )

  it('global unicast IPv6 ranges (assigned to the operator) are not warned about; special-purpose ones are named, with a fix that fits the field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    writeFileSync(path.join(dir, 'kubeadm.yaml'), KUBEADM('10.244.0.0/16,2a01:4f8:c0c:1::/64', '10.96.0.0/16,2a01:4f8:c0c:ffff::/112'))
    expect((await lint(dir)).report.findings.filter((f) => f.rule === 'range.not-private')).toEqual([])
    writeFileSync(path.join(dir, 'kubeadm.yaml'), KUBEADM('10.244.0.0/16,fe80:1::/64', '10.96.0.0/16,2001:db8::/112'))
    const found = (await lint(dir)).report.findings.filter((f) => f.rule === 'range.not-private')
    expect(found.map((f) => [f.line, f.message, f.fix])).toEqual([
      [4, 'networking.podSubnet: fe80:1::/64 is inside link-local space fe80::/10: use a range assigned to you (global unicast) or a unique local one', 'e.g. a range assigned to you, or a unique local one such as fd00:10:244::/56'],
      [5, 'networking.serviceSubnet: 2001:db8::/112 is inside the documentation prefix 2001:db8::/32 (RFC 3849): use a range assigned to you (global unicast) or a unique local one', 'e.g. a range assigned to you, or a unique local one such as fd00:10:96::/112'],
    ])
  })

  it('a file in a format lint does not read (a Cluster API Cluster) is a warning naming the formats it reads, not a green result; each file says what it was read as', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    writeFileSync(path.join(dir, 'capi.yaml'), 'apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: {name: prod}\nspec:\n  clusterNetwork:\n    pods: {cidrBlocks: [10.244.0.0/16]}\n')
    const {code, report} = await lint(dir)
    expect(code).toBe(0)
    expect(report.findings).toEqual([{rule: 'input.not-understood', severity: 'warning', file: path.join(dir, 'capi.yaml'), line: 1, column: 1,
      message: 'nothing in this file is in a format lint reads (kind Cluster of cluster.x-k8s.io/v1beta1), so nothing in it was checked', fix: expect.stringMatching(/^lint reads RKE cluster.yml; .*kubeadm ClusterConfiguration/)}])
    expect((await lint(dir, '--strict')).code).toBe(1)
    const runbook = await lint(RUNBOOK)
    expect(runbook.report).toMatchObject({readAs: {[path.join(RUNBOOK, 'calico-config.yaml')]: ['the calico-config ConfigMap'], [path.join(RUNBOOK, 'values-rancher-aplic.yaml')]: ['a Helm values.yaml cluster: block']}})
  })

  // RKE's documented dual-stack cluster.yml (RKE v1.3+, Kubernetes 1.21+: rancher.com/docs/rke/latest/en/config-options/dual-stack/), our own copy.
  const RKE_DUAL = (version: string) => `${version}services:\n  kube-api:\n    service_cluster_ip_range: 10.43.0.0/16,fd98::/108\n  kube-controller:\n    service_cluster_ip_range: 10.43.0.0/16,fd98::/108\n    cluster_cidr: 10.42.0.0/16,fd01::/64\nnetwork:\n  plugin: calico\n`
  it('RKE\'s own dual-stack cluster.yml: the rancher/rke#1902 rule follows the RKE line its kubernetes_version tells, and says what it assumed without one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    writeFileSync(path.join(dir, 'cluster.yml'), RKE_DUAL('kubernetes_version: "v1.21.1-rancher1-1"\n'))
    const documented = (await lint(dir)).report.findings
    // A /64 cluster CIDR with the default /64 node mask: one node's worth, said as a warning.
    expect(documented.map((f) => `${f.line} ${f.severity} ${f.rule}: ${f.message}`)).toEqual([
      "7 warning cidr.node-mask: services.kube-controller.cluster_cidr: node-cidr-mask-size-ipv6 (default 64, not set) on the cluster CIDR fd01::/64 leaves room for one node's pod CIDR: nodes after that get none",
    ])
    writeFileSync(path.join(dir, 'cluster.yml'), RKE_DUAL('kubernetes_version: "v1.20.15-rancher1-2"\n'))
    expect((await lint(dir)).report.findings.find((f) => f.rule === 'rke.service-range-extra-args')!.message).toMatch(/rancher\/rke#1902; Kubernetes v1.20.15-rancher1-2 is RKE before v1.3\)$/)
    writeFileSync(path.join(dir, 'cluster.yml'), RKE_DUAL(''))
    expect((await lint(dir)).report.findings.find((f) => f.rule === 'rke.service-range-extra-args')!.message).toMatch(/assumed RKE before v1.3, as the files state no kubernetes_version/)
  })

  // k0s's documented dual-stack example (docs.k0sproject.io, "IPv4/IPv6 dual-stack networking"), our own copy; k0s sets the IPv6 node mask to /117.
  const K0S = (enabled: boolean) => `apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nmetadata:\n  name: k0s\nspec:\n  network:\n    podCIDR: 10.244.0.0/16\n    serviceCIDR: 10.96.0.0/12\n    dualStack:\n      enabled: ${enabled}\n      IPv6podCIDR: fd00::/108\n      IPv6serviceCIDR: fd01::/108\n`
  it('k0s ClusterConfig: its documented dual-stack example is clean (with k0s\'s own /117 IPv6 node mask); with dualStack off, the fix is k0s\'s field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    writeFileSync(path.join(dir, 'k0s.yaml'), K0S(true))
    const clean = await lint(dir, '--kubernetes-version', 'v1.30.2')
    expect(clean.report.findings).toEqual([])
    expect(clean.report.readAs[path.join(dir, 'k0s.yaml')]).toEqual(['k0s ClusterConfig'])
    writeFileSync(path.join(dir, 'k0s.yaml'), K0S(false))
    const off = (await lint(dir, '--kubernetes-version', 'v1.30.2')).report.findings
    expect(off.map((f) => `${f.line} ${f.rule}: ${f.fix}`)).toEqual([
      '7 cidr.dual: set spec.network.dualStack.enabled: true and dualStack.IPv6podCIDR (k0s takes the IPv6 range there, not in podCIDR)',
      '8 cidr.dual: set spec.network.dualStack.enabled: true and dualStack.IPv6serviceCIDR (k0s takes the IPv6 range there, not in serviceCIDR)',
    ])
  })

  it('kubeadm before 1.21 computed the IPv6 node mask from the pod subnet (calcNodeCidrSize): a /104 is fine there, and not with 1.21\'s /64 default', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    const file = (version: string) => writeFileSync(path.join(dir, 'kubeadm.yaml'), `apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\nkubernetesVersion: ${version}\nnetworking:\n  podSubnet: "10.244.0.0/16,fd00:10:244::/104"\n  serviceSubnet: "10.96.0.0/16,fd00:10:96::/112"\n`)
    file('v1.20.15')
    expect((await lint(dir)).report.findings.filter((f) => f.rule === 'cidr.node-mask')).toEqual([])
    file('v1.21.0')
    expect((await lint(dir)).report.findings.filter((f) => f.rule === 'cidr.node-mask').map((f) => f.message)).toEqual([
      'networking.podSubnet: node-cidr-mask-size-ipv6 (default 64, not set) is shorter than the cluster CIDR fd00:10:244::/104: kube-controller-manager cannot allocate IPv6 node CIDRs (and refuses to start on newer releases)',
    ])
  })

  it('the kube-proxy cluster CIDR finding says what kube-proxy does with the space, and the exact value', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    writeFileSync(path.join(dir, 'cm.yaml'), PROXY_CM('10.244.0.0/16, fd00:10:244::/56'))
    const {report} = await lint(dir)
    expect(report.findings).toEqual([expect.objectContaining({
      line: 8, column: 18,
      message: 'ConfigMap kube-proxy config.conf clusterCIDR: "10.244.0.0/16, fd00:10:244::/56" has a space around a comma: kube-proxy splits it on "," without trimming and refuses " fd00:10:244::/56" at its next start',
      fix: 'clusterCIDR: "10.244.0.0/16,fd00:10:244::/56"',
    })])
  })

  it('what a default finding says: the value, that it is a default, and where it would go', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    writeFileSync(path.join(dir, 'cluster.yml'), RKE(GOOD_API, '    cluster_cidr: "10.42.0.0/16,fd00:42::/104"', '    extra_args:\n      cluster-cidr: "10.42.0.0/16,fd00:42::/104"'))
    const {report} = await lint(dir)
    expect(report.findings[0]!.message).toBe('services.kube-controller.cluster_cidr: node-cidr-mask-size-ipv6 (default 64, not set) is shorter than the cluster CIDR fd00:42::/104: kube-controller-manager cannot allocate IPv6 node CIDRs (and refuses to start on newer releases)')
    expect(report.findings[0]!.fix).toBe('set node-cidr-mask-size-ipv6 between /104 and /120')
    writeFileSync(path.join(dir, 'cluster.yml'), RKE(GOOD_API, '    cluster_cidr: "10.42.0.0/16,fd00:42::/104"\n    extra_args:\n      allocate-node-cidrs: "false"', '    extra_args:\n      cluster-cidr: "10.42.0.0/16,fd00:42::/104"'))
    expect((await lint(dir)).report.findings).toEqual([]) // no allocator, no mask to fit
  })

  it('the version comes from the files (RKE, values, kubeadm), and --kubernetes-version overrides it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    writeFileSync(path.join(dir, 'values.yaml'), `cluster:\n  kubernetesVersion: v1.30.2\n  kubelet:\n    extraArgs:\n      feature-gates: "IPv6DualStack=true"\n`)
    const stated = await lint(dir)
    expect(brief(stated.report)).toEqual(['values.yaml:5 error k8s.feature-gate'])
    expect((stated.report as unknown as {notes: string[]}).notes).toEqual([expect.stringMatching(/^Kubernetes v1\.30\.2, from .*values\.yaml:2 \(cluster\.kubernetesVersion\)$/)])
    expect((await lint(dir, '--kubernetes-version', 'v1.21.0')).report.findings).toEqual([])
  })

  // The kubelet's node-ip on a dual-stack cluster: k3s and RKE2 refuse one family (k3s-io/k3s#11735); a kubeadm node registers one.
  const K3S = (nodeIp: string) => `flannel-backend: none\ncluster-cidr: "10.42.0.0/16,fd00:42::/56"\nservice-cidr: "10.43.0.0/16,fd00:43::/112"\nnode-ip: ${nodeIp}\n`
  const JOIN = (nodeIp: string) => `apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    node-ip: ${nodeIp}\n`
  CASES.push(
    ['kubelet.node-ip', "one family in k3s's node-ip (k3s refuses to start)", {'config.yaml': K3S('10.0.10.7')}, [], ['config.yaml:4 error kubelet.node-ip']],
    ['kubelet.node-ip', "one family in RKE2's kubelet-arg node-ip", {'config.yaml': 'cni: calico\ncluster-cidr: "10.42.0.0/16,fd00:42::/56"\nkubelet-arg:\n  - node-ip=fd00:1::7\n'}, [], ['config.yaml:1 error cidr.dual', 'config.yaml:4 error kubelet.node-ip']],
    ['kubelet.node-ip', 'two addresses of one family', {'config.yaml': K3S('"10.0.10.7,10.0.10.8"')}, [], ['config.yaml:4 error kubelet.node-ip']],
    ['kubelet.node-ip', 'not an address', {'config.yaml': K3S('10.0.10.7/24')}, [], ['config.yaml:4 error kubelet.node-ip']],
    ['kubelet.node-ip', "one family in a kubeadm JoinConfiguration's kubeletExtraArgs (the node registers one InternalIP)",
      {'kubeadm.yaml': 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: "10.244.0.0/16,fd00:10:244::/56"\n  serviceSubnet: "10.96.0.0/16,fd00:10:96::/112"\n', 'join.yaml': JOIN('10.0.10.7')}, [], ['join.yaml:5 warning kubelet.node-ip']],
    // kubeadm 1.20's own featureGates reach the components it sets up; without them each needs the alpha gate.
    ['k8s.feature-gate', 'kubeadm on 1.20 without featureGates IPv6DualStack', {'kubeadm.yaml': `apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\nkubernetesVersion: v1.20.15\nnetworking:\n  podSubnet: "10.244.0.0/16,fd00:10:244::/56"\n  serviceSubnet: "10.96.0.0/16,fd00:10:96::/112"\n---\n${JOIN('"10.0.10.7,fd00:1::7"')}`}, [],
      ['kubeadm.yaml:5 error k8s.feature-gate', 'kubeadm.yaml:6 error k8s.feature-gate', 'kubeadm.yaml:12 error k8s.feature-gate']],
  )

  it.each(CASES)('%s fails on %s', async (_rule, _case, files, args, expected) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
    const {code, report} = await lint(dir, ...args)
    expect(brief(report)).toEqual(expected)
    expect(code).toBe(expected.some((e) => e.includes(' error ')) ? 1 : 0)
  })

  it('bad input is exit 2', async () => {
    const missing = await runPlugin(['lint', '/nonexistent/values.yaml'])
    expect(missing).toMatchObject({code: 2, stderr: expect.stringMatching(/^error: \/nonexistent\/values\.yaml does not exist/)})
    const none = await runPlugin(['lint'])
    expect(none).toEqual({code: 2, stdout: '', stderr: "error: Missing 1 required arg: paths  Files or directories to lint; see 'kubectl dualstack lint --help'\n"})
    const version = await runPlugin(['lint', CLEAN, '--kubernetes-version', 'latest'])
    expect(version).toMatchObject({code: 2, stderr: expect.stringMatching(/^error: "latest" is not a Kubernetes version/)})
  })
})

// Our copies of the dual-stack examples distributions publish (each file says where), linted unchanged: the exact findings.
describe('lint on the dual-stack examples distributions publish', () => {
  const PUBLISHED = path.join(ROOT, 'test/fixtures/lint/published')
  const EXAMPLES: Array<[string, string[], string[], string[]]> = [
    // kubeadm's example puts both IPv6 ranges in the documentation prefix, and its /112 Service range inside its /56 pod range.
    ['kubeadm', [], [
      '7 warning range.not-private: networking.podSubnet: 2001:db8:42::/56 is inside the documentation prefix 2001:db8::/32 (RFC 3849): use a range assigned to you (global unicast) or a unique local one',
      '8 error cidr.overlap: networking.serviceSubnet: service range 2001:db8:42:1::/112 overlaps the pod range 2001:db8:42:0::/56 (networking.podSubnet)',
      '8 warning range.not-private: networking.serviceSubnet: 2001:db8:42:1::/112 is inside the documentation prefix 2001:db8::/32 (RFC 3849): use a range assigned to you (global unicast) or a unique local one',
    ], ['kubeadm ClusterConfiguration', 'kubeadm InitConfiguration']],
    // On 1.20 the gate is alpha: kubeadm's own featureGates give it to every component, so no k8s.feature-gate finding.
    ['kubeadm-1.20', ['--kubernetes-version', 'v1.20.15'], [
      '9 warning range.not-private: networking.podSubnet: 2001:db8:42::/56 is inside the documentation prefix 2001:db8::/32 (RFC 3849): use a range assigned to you (global unicast) or a unique local one',
      '10 error cidr.overlap: networking.serviceSubnet: service range 2001:db8:42:1::/112 overlaps the pod range 2001:db8:42:0::/56 (networking.podSubnet)',
      '10 warning range.not-private: networking.serviceSubnet: 2001:db8:42:1::/112 is inside the documentation prefix 2001:db8::/32 (RFC 3849): use a range assigned to you (global unicast) or a unique local one',
    ], ['kubeadm ClusterConfiguration', 'kubeadm InitConfiguration']],
    ['rke-1.3', [], [
      "9 warning cidr.node-mask: services.kube-controller.cluster_cidr: node-cidr-mask-size-ipv6 (default 64, not set) on the cluster CIDR fd01::/64 leaves room for one node's pod CIDR: nodes after that get none",
    ], ['RKE cluster.yml']],
    // Global unicast IPv6 (2001:cafe::) is what the documentation recommends: nothing to say.
    ['rke2', [], [], ['RKE2 config.yaml']],
    ['k3s', [], [], ['k3s config.yaml']],
    ['k0s', [], [], ['k0s ClusterConfig']],
  ]
  it.each(EXAMPLES)('%s', async (dir, args, expected, readAs) => {
    const {code, report} = await lint(path.join(PUBLISHED, dir), ...args)
    expect(report.findings.map((f) => `${f.line} ${f.severity} ${f.rule}: ${f.message}`)).toEqual(expected)
    expect(Object.values(report.readAs)).toEqual([readAs])
    expect(code).toBe(expected.some((e) => e.includes(' error ')) ? 1 : 0)
  })

  it("a k3s config.yaml is named k3s's, with k3s's defaults, where the file says so (a key only k3s has, or /etc/rancher/k3s)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    writeFileSync(path.join(dir, 'config.yaml'), 'flannel-backend: none\ncluster-cidr: "10.42.0.0/16,fd00:42::/56"\n')
    expect((await lint(dir)).report.findings.find((f) => f.rule === 'cidr.dual')!.message).toMatch(/^service range \(k3s's default 10\.43\.0\.0\/16, not set\)/)
    writeFileSync(path.join(dir, 'config.yaml'), 'cluster-cidr: "10.42.0.0/16,fd00:42::/56"\n')
    expect((await lint(dir)).report.findings.find((f) => f.rule === 'cidr.dual')!.message).toMatch(/^service range \(RKE2\/k3s's default 10\.43\.0\.0\/16, not set\)/)
  })
})

describe('lint of several clusters at once, and input it cannot read', () => {
  const FIXTURES = path.join(ROOT, 'test/fixtures/lint')
  const OLD_SERVICE = 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ipFamily: IPv6\n  ports: [{port: 80}]\n'

  it('each directory is its own cluster: a clean RKE and a clean kubeadm cluster are not compared with each other', async () => {
    const {code, report} = await lint(CLEAN, path.join(FIXTURES, 'clean-kubeadm'), '--kubernetes-version', 'v1.30.2')
    expect(report.findings).toEqual([])
    expect(report.clusters).toEqual([
      {name: CLEAN, files: ['calico-config.yaml', 'cluster.yml', 'service.yaml', 'values-calico.yaml'].map((f) => path.join(CLEAN, f))},
      {name: path.join(FIXTURES, 'clean-kubeadm'), files: ['installation.yaml', 'kubeadm.yaml'].map((f) => path.join(FIXTURES, 'clean-kubeadm', f))},
    ])
    expect(code).toBe(0)
    // A tree of clusters, walked: one cluster per directory, and the text says which files went together.
    const tree = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    for (const dir of ['clean', 'clean-kubeadm', 'clean-rke2']) cpSync(path.join(FIXTURES, dir), path.join(tree, 'clusters', dir), {recursive: true})
    const text = await runPlugin(['lint', tree, '--kubernetes-version', 'v1.30.2'])
    expect(text.stdout).toContain(`note: 3 clusters, each linted on its own (one directory is one cluster; name files to lint them together): ${path.join(tree, 'clusters/clean')} (4 files), ${path.join(tree, 'clusters/clean-kubeadm')} (2 files), ${path.join(tree, 'clusters/clean-rke2')} (1 file)`)
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('7 file(s): 0 error(s), 0 warning(s)')
    expect(text.code).toBe(0)
  })

  it('files named together are one cluster, whatever their directories, and it says so', async () => {
    const {code, report} = await lint(path.join(CLEAN, 'cluster.yml'), path.join(FIXTURES, 'clean-kubeadm', 'installation.yaml'))
    expect(report.clusters).toEqual([{name: 'the files named together', files: [path.join(CLEAN, 'cluster.yml'), path.join(FIXTURES, 'clean-kubeadm', 'installation.yaml')]}])
    expect(brief(report)).toEqual(['installation.yaml:7 error calico.pool-in-cluster-cidr', 'installation.yaml:8 error calico.pool-in-cluster-cidr'])
    expect(report.notes).toContain(`linted together as one cluster: ${path.join(CLEAN, 'cluster.yml')}, ${path.join(FIXTURES, 'clean-kubeadm', 'installation.yaml')}`)
    expect(code).toBe(1)
  })

  it('a file that is not YAML, is binary or cannot be read is an error naming it (exit 2, also without --strict); the other files are still linted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    cpSync(CLEAN, dir, {recursive: true})
    writeFileSync(path.join(dir, 'broken.yaml'), 'services:\n  kube-api: [1, 2\n')
    writeFileSync(path.join(dir, 'image.yml'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]))
    symlinkSync(path.join(dir, 'gone.yaml'), path.join(dir, 'dangling.yaml'))
    writeFileSync(path.join(dir, 'svc-old.yaml'), OLD_SERVICE)
    const {code, report, stderr} = await lint(dir, '--kubernetes-version', 'v1.30.2')
    expect(report.unreadable).toEqual([
      {file: path.join(dir, 'broken.yaml'), line: 3, column: 1, message: expect.stringMatching(/^not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a \]$/)},
      {file: path.join(dir, 'dangling.yaml'), message: expect.stringMatching(/^cannot read it: ENOENT/)},
      {file: path.join(dir, 'image.yml'), message: 'not YAML: a binary file (not UTF-8 text)'},
    ])
    // The readable files were linted, findings and all.
    expect(brief(report)).toEqual(['svc-old.yaml:5 error service.ip-family'])
    expect(stderr).toBe(`error: 3 file(s) could not be linted: ${path.join(dir, 'broken.yaml')} (not valid YAML), ${path.join(dir, 'dangling.yaml')} (cannot read it), ${path.join(dir, 'image.yml')} (not YAML); fix them or leave them out\n`)
    expect(code).toBe(2)
    const text = await runPlugin(['lint', path.join(dir, 'broken.yaml'), path.join(CLEAN, 'cluster.yml'), '--strict'])
    expect(text.stdout).toContain(`${path.join(dir, 'broken.yaml')}:3:1: error: not valid YAML: Flow sequence`)
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('2 file(s): 0 error(s), 0 warning(s), 1 could not be read')
    expect(text.code).toBe(2)
  })

  it('prose in a .yaml file is not a config file (exit 2)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    writeFileSync(path.join(dir, 'notes.yaml'), 'Remember to set the IPv6 pool before the upgrade.\n')
    const {code, report} = await lint(dir)
    expect(report.unreadable).toEqual([{file: path.join(dir, 'notes.yaml'), line: 1, column: 1, message: 'not a YAML config: the document is a plain string, not a mapping'}])
    expect(code).toBe(2)
  })

  it('a YAML alias bomb (billion laughs) is refused as that file\'s problem, in one line; the other files are still linted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-'))
    cpSync(CLEAN, dir, {recursive: true})
    const levels = 'abcdefghi'.split('')
    writeFileSync(path.join(dir, 'lol.yaml'), levels.map((l, i) => `${l}: &${l} [${Array(9).fill(i === 0 ? '"lol"' : `*${levels[i - 1]}`).join(', ')}]`).join('\n') + '\n')
    writeFileSync(path.join(dir, 'svc-old.yaml'), OLD_SERVICE)
    const started = Date.now()
    const {code, report, stderr} = await lint(dir, '--kubernetes-version', 'v1.30.2')
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(report.unreadable).toEqual([{file: path.join(dir, 'lol.yaml'), line: 1, column: 1, message: 'refused: its aliases expand past 100 nodes (a YAML alias bomb, "billion laughs")'}])
    expect(brief(report)).toEqual(['svc-old.yaml:5 error service.ip-family'])
    expect(stderr).not.toContain('unexpected error')
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expect(code).toBe(2)
  })
})
