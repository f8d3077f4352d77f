// lint rules: each a stable id, a severity and a pure function from the config model to findings.
import {readCniConfig} from '../calico/cni-config.js'
import {blockSizeProblem, DEFAULT_BLOCK_SIZE, poolFromEnv} from '../calico/pools.js'
import {proxyCidrSpacingProblem, readProxyCidrList} from '../k8s/cluster-cidr.js'
import {CALICO_NODE_ENV_DEFAULTS, kubeadmLegacyIpv6NodeMask, NODE_CIDR_MASK_DEFAULTS, PROXY_MODE_DEFAULT, SERVICE_RANGE_DEFAULTS} from '../k8s/defaults.js'
import {dualStackStage, atLeast, featureGateValue, usesLegacyIpFamily, type KubeVersion} from '../k8s/version.js'
import {cidrsOverlap, cidrWithin, isUniqueLocal, parseAddress, parseCidr, rangeConcern, type Family} from '../net/ip.js'
import {DISTRIBUTION_NAME, flagOf, type Component, type ConfigModel, type Setting} from './model.js'
import type {Position} from './reader.js'

export type Severity = 'error' | 'warning'

const FAMILY_NAME: Record<Family, string> = {ipv4: 'IPv4', ipv6: 'IPv6'}

export interface Finding {
  rule: string
  severity: Severity
  message: string
  fix?: string
  at: Position
}

export interface LintRule {
  id: string
  title: string
  check(model: ConfigModel, version: KubeVersion | undefined): Finding[]
}

function finding(rule: string, severity: Severity, s: Setting, message: string, fix?: string): Finding {
  return {rule, severity, message: `${s.where}: ${message}`, ...(fix ? {fix} : {}), at: s.at}
}

function cidrList(s: Setting): string[] {
  return s.value.split(',').map((c) => c.trim()).filter((c) => c !== '')
}

function families(s: Setting): Set<Family | undefined> {
  return new Set(cidrList(s).map((c) => parseCidr(c)?.family))
}

/** The service range kube-apiserver really gets: its flag (RKE extra_args win), else the RKE field. */
function apiserverServiceRange(model: ConfigModel): Setting | undefined {
  return flagOf(model, 'kube-apiserver', 'service-cluster-ip-range') ?? model.components.get('kube-apiserver')?.find((c) => c.rkeServiceRange)?.rkeServiceRange
}

/** The service range, or the distribution's default when its kube-apiserver block sets none. */
function serviceRangeOrDefault(model: ConfigModel): Setting | undefined {
  const set = apiserverServiceRange(model)
  if (set) return set
  const config = model.components.get('kube-apiserver')?.find((c) => c.shape && c.at)
  if (!config) return undefined
  const fallback = SERVICE_RANGE_DEFAULTS[config.shape!]
  return {value: fallback.value, at: config.at!, where: `service range (${DISTRIBUTION_NAME[config.shape!]}'s default ${fallback.value}, not set)`}
}

const dualRanges: LintRule = {
  id: 'cidr.dual', title: 'Service and cluster CIDRs list one CIDR of each family',
  check(model) {
    const out: Finding[] = []
    const check = (s: Setting | undefined, what: string) => {
      if (!s) return
      const bad = cidrList(s).filter((c) => !parseCidr(c))
      if (bad.length > 0) out.push(finding(this.id, 'error', s, `"${bad.join(', ')}" is not a CIDR`, 'write each range as address/prefix, e.g. 10.96.0.0/16'))
      const fams = families(s)
      if (!(fams.has('ipv4') && fams.has('ipv6')) || cidrList(s).length !== 2) {
        out.push(finding(this.id, 'error', s, `${what} "${s.value}" is not one IPv4 and one IPv6 CIDR`, s.dualFix ?? `set it to "<IPv4 CIDR>,<IPv6 CIDR>"`))
      }
    }
    check(serviceRangeOrDefault(model), 'the service range')
    check(flagOf(model, 'kube-controller-manager', 'cluster-cidr'), 'the cluster CIDR')
    check(flagOf(model, 'kube-proxy', 'cluster-cidr'), 'the cluster CIDR')
    return out
  },
}

function sameRanges(a: Setting, b: Setting): boolean {
  const norm = (s: Setting) => cidrList(s).map((c) => parseCidr(c)?.text ?? c).sort().join(',')
  return norm(a) === norm(b)
}

const agree: LintRule = {
  id: 'cidr.agree', title: 'Components agree on the service range and cluster CIDR',
  check(model) {
    const out: Finding[] = []
    const api = apiserverServiceRange(model)
    const cmService = flagOf(model, 'kube-controller-manager', 'service-cluster-ip-range')
    if (api && cmService && !sameRanges(api, cmService)) out.push(finding(this.id, 'error', cmService, `"${cmService.value}" differs from kube-apiserver's "${api.value}" (${api.where})`, 'give both the same service range'))
    const cm = flagOf(model, 'kube-controller-manager', 'cluster-cidr')
    const proxy = flagOf(model, 'kube-proxy', 'cluster-cidr')
    if (cm && proxy && !sameRanges(cm, proxy)) out.push(finding(this.id, 'error', proxy, `"${proxy.value}" differs from kube-controller-manager's "${cm.value}" (${cm.where})`, 'give kube-proxy the same cluster CIDR'))
    return out
  },
}

// rancher/rke#1902: RKE's GetKubernetesServiceIP parses `service_cluster_ip_range` as one CIDR, so the
// dual range must be given to kube-apiserver through extra_args while the field keeps the IPv4 range.
// RKE before v1.3 reads service_cluster_ip_range as one CIDR (GetKubernetesServiceIP, rancher/rke#1902): the
// IPv6 range had to go in extra_args. RKE v1.3 added dual-stack, for Kubernetes 1.21 and later (the
// kubernetes_version of the file tells the RKE line); it reads both families in the field itself.
const rkeExtraArgs: LintRule = {
  id: 'rke.service-range-extra-args', title: 'RKE before v1.3: the dual service range is in kube-api extra_args (rancher/rke#1902)',
  check(model, version) {
    if (version && (version.major > 1 || version.minor >= 21)) return []
    const assumed = version
      ? `Kubernetes ${version.gitVersion} is RKE before v1.3`
      : 'assumed RKE before v1.3, as the files state no kubernetes_version; RKE v1.3+ (Kubernetes 1.21+) reads both families here'
    const out: Finding[] = []
    for (const config of model.components.get('kube-apiserver') ?? []) {
      const field = config.rkeServiceRange
      if (!field) continue
      const extra = config.flags.get('service-cluster-ip-range')
      if (cidrList(field).length > 1) {
        out.push(finding(this.id, 'error', field, `RKE before v1.3 reads this field as one CIDR (GetKubernetesServiceIP, rancher/rke#1902; ${assumed})`, `keep only the IPv4 range here and put "${field.value}" in extra_args service-cluster-ip-range`))
      } else if (!extra || !families(extra).has('ipv6')) {
        out.push(finding(this.id, 'error', field, `the IPv6 service range must also be passed in kube-api extra_args (rancher/rke#1902; ${assumed})`, `add extra_args: {service-cluster-ip-range: "${field.value},<IPv6 CIDR>"}`))
      }
    }
    return out
  },
}

// kube-apiserver refuses IPv6 service ranges larger than /108 (cmd/kube-apiserver/app/options/validation.go:
// "the mask must be >= 108" for 128-bit addresses, with the bitmap allocator).
const serviceRangeSize: LintRule = {
  id: 'cidr.service-ipv6-size', title: 'The IPv6 service range is no larger than kube-apiserver allows',
  check(model) {
    const s = apiserverServiceRange(model)
    if (!s) return []
    return cidrList(s).flatMap((c) => {
      const net = parseCidr(c)
      return net?.family === 'ipv6' && net.prefix < 108
        ? [finding(this.id, 'error', s, `${net.text} is larger than /108, which kube-apiserver refuses for IPv6 service ranges`, 'use a /108 to /112 IPv6 service range')]
        : []
    })
  },
}

const overlap: LintRule = {
  id: 'cidr.overlap', title: 'Pod and service ranges do not overlap',
  check(model) {
    const svc = apiserverServiceRange(model)
    const pods = flagOf(model, 'kube-controller-manager', 'cluster-cidr') ?? flagOf(model, 'kube-proxy', 'cluster-cidr')
    if (!svc || !pods) return []
    const out: Finding[] = []
    for (const a of cidrList(svc)) for (const b of cidrList(pods)) {
      if (cidrsOverlap(a, b)) out.push(finding(this.id, 'error', svc, `service range ${a} overlaps the pod range ${b} (${pods.where})`, 'pick disjoint service and pod ranges'))
    }
    return out
  },
}

const poolInClusterCidr: LintRule = {
  id: 'calico.pool-in-cluster-cidr', title: "Calico's pool CIDRs lie inside the cluster CIDR",
  check(model) {
    const cluster = flagOf(model, 'kube-controller-manager', 'cluster-cidr') ?? flagOf(model, 'kube-proxy', 'cluster-cidr')
    if (!cluster) return []
    const pools = [...['CALICO_IPV4POOL_CIDR', 'CALICO_IPV6POOL_CIDR'].flatMap((name) => model.calicoEnv.get(name) ?? []), ...model.pools.map((p) => p.cidr)]
    return pools.flatMap((pool) => {
      const net = parseCidr(pool.value)
      if (!net) return []
      const inside = cidrList(cluster).some((c) => cidrWithin(net.text, c))
      return inside ? [] : [finding(this.id, 'error', pool, `${net.text} is not inside the cluster CIDR "${cluster.value}" (${cluster.where})`, 'make the pool a part of the cluster CIDR of its family (kube-proxy treats other pod addresses as outside traffic)')]
    })
  },
}

// kube-controller-manager's node CIDR allocator (pkg/controller/nodeipam/ipam/cidrset/cidr_set.go): the
// node mask must not be shorter than the cluster prefix, and at most 16 bits longer (clusterSubnetMaxDiff).
// Unset, the masks are kube-controller-manager's defaults (NODE_CIDR_MASK_DEFAULTS), and RKE, RKE2 and kubeadm
// all pass --allocate-node-cidrs=true with a cluster CIDR: the allocator runs unless it is turned off.
const nodeMask: LintRule = {
  id: 'cidr.node-mask', title: 'Node CIDR mask sizes fit the cluster CIDR',
  check(model, version) {
    const cluster = flagOf(model, 'kube-controller-manager', 'cluster-cidr')
    if (!cluster) return []
    const kubeadm = (model.components.get('kube-controller-manager') ?? []).some((c) => c.shape === 'kubeadm')
    const legacyKubeadm = kubeadm && version !== undefined && version.major === 1 && version.minor < 21
    if (flagOf(model, 'kube-controller-manager', 'allocate-node-cidrs')?.value === 'false') return []
    const out: Finding[] = []
    for (const [flag, family] of [['node-cidr-mask-size-ipv4', 'ipv4'], ['node-cidr-mask-size-ipv6', 'ipv6']] as const) {
      const set = flagOf(model, 'kube-controller-manager', flag)
      const net = cidrList(cluster).map((c) => parseCidr(c)).find((c) => c?.family === family)
      if (!net) continue
      // kubeadm before 1.21 computed the IPv6 mask from the pod subnet; later kubeadm leaves kube-controller-manager's default.
      const computed = legacyKubeadm && family === 'ipv6' ? kubeadmLegacyIpv6NodeMask(net.prefix) : undefined
      const fallback = computed ?? NODE_CIDR_MASK_DEFAULTS[family].value
      // Unset: the finding sits on the cluster CIDR, the line next to which the flag goes.
      const mask: Setting = set ?? {...cluster, value: String(fallback)}
      const shown = set ? `${flag}=${set.value}` : computed !== undefined ? `${flag} (${computed}, which kubeadm ${version!.gitVersion} computes from the pod subnet, not set)` : `${flag} (default ${fallback}, not set)`
      const size = Number(mask.value)
      const range = `/${Math.min(net.prefix + 16, family === 'ipv4' ? 32 : 128)}`
      if (!Number.isInteger(size) || size < net.prefix) {
        out.push(finding(this.id, 'error', mask, `${shown} is shorter than the cluster CIDR ${net.text}: kube-controller-manager cannot allocate ${family === 'ipv4' ? 'IPv4' : 'IPv6'} node CIDRs (and refuses to start on newer releases)`,
          `set ${flag} between /${net.prefix} and ${range}`))
      } else if (size - net.prefix > 16) {
        out.push(finding(this.id, 'error', mask, `${shown} is ${size - net.prefix} bits longer than ${net.text}; kube-controller-manager allows at most 16`, `set ${flag} between /${net.prefix} and ${range}`))
      } else if (size - net.prefix < 4) {
        // Legal, but 2^(mask - prefix) node pod CIDRs in all: the next node gets none, and no pod network.
        const fit = 2 ** (size - net.prefix)
        out.push(finding(this.id, 'warning', mask, `${shown} on the cluster CIDR ${net.text} leaves room for ${fit === 1 ? "one node's pod CIDR" : `${fit} nodes' pod CIDRs`}: nodes after that get none`,
          `a cluster CIDR of /${Math.max(size - 8, 0)} or larger (256 nodes of /${size}), or a longer ${flag}`))
      }
    }
    return out
  },
}

const blockSize: LintRule = {
  id: 'calico.block-size', title: 'Calico block sizes are valid for their pools',
  check(model) {
    const pools: Array<{cidr: Setting; blockSize?: Setting; defaulted?: boolean}> = [...model.pools]
    for (const family of ['IPV4', 'IPV6']) {
      const cidr = model.calicoEnv.get(`CALICO_${family}POOL_CIDR`)
      const size = model.calicoEnv.get(`CALICO_${family}POOL_BLOCK_SIZE`)
      if (cidr) pools.push({cidr, ...(size ? {blockSize: size} : {})})
    }
    return pools.flatMap(({cidr, blockSize: size}) => {
      const net = parseCidr(cidr.value)
      if (!net) return []
      // Unset, the block size is calico-node's default for the family (the same default doctor and ippool fix use).
      const fallback = DEFAULT_BLOCK_SIZE[net.family]
      const problem = blockSizeProblem(net, size ? Number(size.value) : fallback)
      if (!problem) return []
      return [finding(this.id, 'error', size ?? cidr, size ? problem : `${problem} (default ${fallback}, not set)`, `set the block size between the pool prefix /${net.prefix} and ${net.family === 'ipv4' ? 32 : 128}, e.g. ${Math.max(fallback, net.prefix)}`)]
    })
  },
}

const calicoEnv: LintRule = {
  id: 'calico.node-env', title: 'calico-node env enables IPv6',
  check(model) {
    const env = model.calicoEnv
    if (env.size === 0) return []
    const out: Finding[] = []
    const first = env.values().next().value as Setting
    const ip6 = env.get('IP6')
    if (!ip6) {
      out.push(finding(this.id, 'error', first, `IP6 (default ${CALICO_NODE_ENV_DEFAULTS.IP6.value}, not set): calico-node gives the node no IPv6 address`, 'IP6: autodetect'))
    } else if (ip6.value !== 'autodetect' && parseAddress(ip6.value)?.family !== 'ipv6') {
      out.push(finding(this.id, 'error', ip6, `IP6 "${ip6.value}" disables or breaks IPv6 (want autodetect)`, 'IP6: autodetect'))
    }
    const felix = env.get('FELIX_IPV6SUPPORT')
    if (felix && felix.value !== 'true') out.push(finding(this.id, 'error', felix, `FELIX_IPV6SUPPORT is "${felix.value}"`, 'FELIX_IPV6SUPPORT: "true"'))
    const cidr = env.get('CALICO_IPV6POOL_CIDR')
    if (cidr && parseCidr(cidr.value)?.family !== 'ipv6') out.push(finding(this.id, 'error', cidr, `"${cidr.value}" is not an IPv6 CIDR`, 'CALICO_IPV6POOL_CIDR: "<IPv6 pod CIDR>"'))
    if (cidr && parseCidr(cidr.value)?.family === 'ipv6') {
      // The pool calico-node would create from this env, with its defaults: the same reading doctor makes.
      const pool = poolFromEnv(new Map([...env].map(([k, v]) => [k, {value: v.value}])), 'ipv6')
      if ('spec' in pool && !pool.spec.natOutgoing) {
        const nat = env.get('CALICO_IPV6POOL_NAT_OUTGOING')
        // A unique local range is never routed outside: without NAT its pods cannot reach the outside over IPv6 at all.
        const why = isUniqueLocal(cidr.value) ? `${cidr.value} is unique local (never routed on the internet), so pods cannot reach the outside over IPv6` : 'pods reach outside over IPv6 only if their range is routed'
        out.push(finding(this.id, 'warning', nat ?? cidr, `CALICO_IPV6POOL_NAT_OUTGOING ${nat ? `is "${nat.value}"` : `(${pool.sources.natOutgoing}, not set)`}: ${why}`, 'CALICO_IPV6POOL_NAT_OUTGOING: "true"'))
      }
    }
    return out
  },
}

const cniAssign: LintRule = {
  id: 'calico.cni-ipam', title: 'The CNI config assigns IPv4 and IPv6',
  check(model) {
    return model.cniConfigs.flatMap((s) => {
      const r = readCniConfig(s.value)
      if (r.error) return [finding(this.id, 'error', s, r.error)]
      if (!r.ipam || r.ipam.type !== 'calico-ipam' || !r.ipam.assignIpv4 || !r.ipam.assignIpv6) {
        return [finding(this.id, 'error', s, `ipam is ${r.ipam ? `${r.ipam.type} with assign_ipv4=${r.ipam.assignIpv4} assign_ipv6=${r.ipam.assignIpv6}` : 'missing'}`, '"ipam": {"type": "calico-ipam", "assign_ipv4": "true", "assign_ipv6": "true"}')]
      }
      return []
    })
  },
}


const COMPONENTS: Component[] = ['kube-apiserver', 'kube-controller-manager', 'kubelet', 'kube-proxy']

// IPv6DualStack by release: kubernetes.io/docs/reference/command-line-tools-reference/feature-gates-removed.
const featureGate: LintRule = {
  id: 'k8s.feature-gate', title: 'IPv6DualStack set where the version needs it, absent where it was removed',
  check(model, version) {
    if (!version) return []
    const stage = dualStackStage(version)
    const out: Finding[] = []
    for (const component of COMPONENTS) {
      const configs = model.components.get(component)
      if (!configs) continue
      // A component's own feature-gates win; else kubeadm's featureGates reach what kubeadm sets up.
      const gates = flagOf(model, component, 'feature-gates') ?? (configs.some((c) => c.shape === 'kubeadm') ? model.kubeadmFeatureGates : undefined)
      const value = gates ? featureGateValue(gates.value) : undefined
      const anchor = gates ?? [...configs[0]!.flags.values()][0] ?? configs[0]!.rkeServiceRange
      if (!anchor) continue
      if (stage === 'alpha' && value !== true) out.push(finding(this.id, 'error', anchor, `${component} needs --feature-gates=IPv6DualStack=true on ${version.gitVersion} (alpha)`, 'feature-gates: "IPv6DualStack=true"'))
      if (stage === 'gate-removed' && value !== undefined) out.push(finding(this.id, 'error', gates!, `${version.gitVersion} removed the IPv6DualStack gate: ${component} refuses to start with it`, 'remove IPv6DualStack from feature-gates'))
      if ((stage === 'beta' || stage === 'ga') && value === false) out.push(finding(this.id, 'error', gates!, `IPv6DualStack=false turns dual-stack off`, 'remove IPv6DualStack=false'))
    }
    return out
  },
}

const proxyMode: LintRule = {
  id: 'kube-proxy.mode', title: 'kube-proxy mode serves both families on the version',
  check(model, version) {
    const mode = flagOf(model, 'kube-proxy', 'proxy-mode')
    if (!version || atLeast(version, 1, 19)) return []
    if (mode?.value === 'ipvs') return []
    const anchor = mode ?? [...(model.components.get('kube-proxy')?.[0]?.flags.values() ?? [])][0]
    return anchor ? [finding(this.id, 'error', anchor, `kube-proxy mode ${mode?.value ?? `(default ${PROXY_MODE_DEFAULT.value}, not set)`}: before 1.19 only ipvs serves both families`, 'proxy-mode: "ipvs"')] : []
  },
}

const serviceIpFamily: LintRule = {
  id: 'service.ip-family', title: 'Services do not use the removed ipFamily field',
  check(model, version) {
    return model.services.flatMap((svc) => {
      if (!svc.ipFamily) return []
      const removed = !version || !usesLegacyIpFamily(version)
      return [finding(this.id, removed && version ? 'error' : 'warning', svc.ipFamily,
        `ipFamily is the 1.16-1.19 alpha field; from 1.20 it is ${removed && version ? 'dropped by the API server' : 'gone'}`,
        `spec: {ipFamilyPolicy: SingleStack, ipFamilies: [${svc.ipFamily.value}]}   (or PreferDualStack/RequireDualStack with both families)`)]
    })
  },
}

// kube-proxy splits its cluster CIDR on "," without trimming (src/k8s/cluster-cidr.ts): a space stops it at start.
const proxyClusterCidr: LintRule = {
  id: 'kube-proxy.cluster-cidr', title: "kube-proxy can parse its cluster CIDR (no space around the comma)",
  check(model) {
    return (model.components.get('kube-proxy') ?? []).flatMap((config) => {
      const s = config.flags.get('cluster-cidr')
      const problem = s && !s.readBy ? proxyCidrSpacingProblem(s.value) : undefined
      return problem ? [finding(this.id, 'error', s!, `"${s!.value}" ${problem}`, `${s!.where.endsWith('clusterCIDR') ? 'clusterCIDR' : 'cluster-cidr'}: "${readProxyCidrList(s!.value).fixed}"`)] : []
    })
  },
}

/** An example that fits the field: a Service range is a /12 or a /112, a pod range a /16 or a /56. */
const SUGGEST: Record<'pods' | 'services', Record<Family, string>> = {
  pods: {ipv4: 'an RFC 1918 range such as 10.244.0.0/16', ipv6: 'a range assigned to you, or a unique local one such as fd00:10:244::/56'},
  services: {ipv4: 'an RFC 1918 range such as 10.96.0.0/12', ipv6: 'a range assigned to you, or a unique local one such as fd00:10:96::/112'},
}

const notPrivate: LintRule = {
  id: 'range.not-private', title: 'Cluster ranges are private (IPv4) and not special-purpose (IPv6)',
  check(model) {
    const settings: Array<{setting: Setting; of: 'pods' | 'services'}> = []
    const add = (setting: Setting | undefined, of: 'pods' | 'services') => {
      // One setting read through two paths (a flag and its distribution's field) is judged once.
      if (setting && !settings.some((s) => s.setting.at.file === setting.at.file && s.setting.at.line === setting.at.line && s.setting.at.column === setting.at.column)) settings.push({setting, of})
    }
    for (const component of COMPONENTS) for (const config of model.components.get(component) ?? []) {
      add(config.rkeServiceRange, 'services')
      add(config.flags.get('service-cluster-ip-range'), 'services')
      add(config.flags.get('cluster-cidr'), 'pods')
    }
    add(model.calicoEnv.get('CALICO_IPV4POOL_CIDR'), 'pods')
    add(model.calicoEnv.get('CALICO_IPV6POOL_CIDR'), 'pods')
    for (const pool of model.pools) add(pool.cidr, 'pods')
    return settings.flatMap(({setting, of}) => cidrList(setting).flatMap((c) => {
      const net = parseCidr(c)
      const concern = rangeConcern(c)
      if (!net || !concern) return []
      const advice = net.family === 'ipv4' ? 'use a private range' : 'use a range assigned to you (global unicast) or a unique local one'
      return [finding(this.id, 'warning', setting, `${net.text} is ${concern}: ${advice}`, `e.g. ${SUGGEST[of][net.family]}`)]
    }))
  },
}

// The kubelet's --node-ip gives the node's InternalIPs. On bare metal (no cloud provider) a dual-stack node needs
// one of each family there (kubernetes.io/docs/concepts/services-networking/dual-stack): with one, the node and
// its pods' status.hostIPs have that family only. k3s and RKE2 check it against cluster-cidr before they start,
// and refuse: "cluster-cidr and node-ip must share the same IP version" (k3s-io/k3s#11735).
const nodeIp: LintRule = {
  id: 'kubelet.node-ip', title: "The kubelet's node-ip gives an address of each family on a dual-stack cluster",
  check(model) {
    const out: Finding[] = []
    const cluster = flagOf(model, 'kube-controller-manager', 'cluster-cidr') ?? apiserverServiceRange(model)
    const dual = cluster !== undefined && families(cluster).has('ipv4') && families(cluster).has('ipv6')
    for (const config of model.components.get('kubelet') ?? []) {
      const ip = config.flags.get('node-ip')
      if (!ip) continue
      const parts = cidrList(ip)
      const parsed = parts.map((part) => parseAddress(part))
      const bad = parts.filter((_, i) => !parsed[i])
      if (bad.length > 0 || parts.length === 0 || parts.length > 2) {
        out.push(finding(this.id, 'error', ip, `"${ip.value}" is not one address or two of different families: the kubelet refuses it`, 'node-ip: "IPv4,IPv6" (this node\'s addresses)'))
        continue
      }
      const got = new Set(parsed.map((p) => p!.family))
      if (parts.length === 2 && got.size === 1) {
        out.push(finding(this.id, 'error', ip, `"${ip.value}" gives two ${FAMILY_NAME[parsed[0]!.family]} addresses: the kubelet takes one of each family`, 'node-ip: "IPv4,IPv6" (this node\'s addresses)'))
        continue
      }
      if (!dual || got.size === 2) continue
      const has = FAMILY_NAME[parsed[0]!.family]
      const lacks = parsed[0]!.family === 'ipv4' ? 'IPv6' : 'IPv4'
      const fix = `node-ip: "${parsed[0]!.family === 'ipv4' ? `${parsed[0]!.text},<this node's IPv6 address>` : `<this node's IPv4 address>,${parsed[0]!.text}`}"`
      const rancher = config.shape === 'k3s' || config.shape === 'rke2' || config.shape === 'rke2/k3s'
      out.push(rancher
        ? finding(this.id, 'error', ip, `gives only an ${has} address while ${cluster!.where} is dual-stack: ${DISTRIBUTION_NAME[config.shape!]} refuses to start ("cluster-cidr and node-ip must share the same IP version", k3s-io/k3s#11735)`, fix)
        : finding(this.id, 'warning', ip, `gives only an ${has} address while ${cluster!.where} is dual-stack: the node registers no ${lacks} InternalIP, so it and its pods' status.hostIPs have ${has} only`, fix))
    }
    return out
  },
}

export const LINT_RULES: readonly LintRule[] = [
  featureGate, dualRanges, agree, rkeExtraArgs, serviceRangeSize, nodeMask, overlap, poolInClusterCidr, blockSize, calicoEnv, cniAssign, proxyMode, proxyClusterCidr, serviceIpFamily, notPrivate, nodeIp,
]

export function runLint(model: ConfigModel, version: KubeVersion | undefined): Finding[] {
  // One setting can reach a rule through two paths (a flag and the distribution's field for it): said once.
  const seen = new Set<string>()
  const once = LINT_RULES.flatMap((rule) => rule.check(model, version)).filter((f) => {
    const key = JSON.stringify([f.rule, f.at.file, f.at.line, f.at.column, f.message])
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return sortFindings(once)
}

/** By file, line, column, then rule. */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort((a, b) => a.at.file.localeCompare(b.at.file) || a.at.line - b.at.line || a.at.column - b.at.column || a.rule.localeCompare(b.rule))
}

/** The rules that judge by the Kubernetes version, and do nothing without one. */
export const VERSION_RULES = [featureGate.id, proxyMode.id]
