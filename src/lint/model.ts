// What the config files say about dual-stack, wherever they say it: RKE cluster.yml, the runbook's
// `cluster:` block in a Helm values.yaml (camelCase), Calico Helm values, the calico-config ConfigMap,
// the calico-node DaemonSet and Services. Every setting keeps its position.
import {SERVICE_RANGE_DEFAULTS} from '../k8s/defaults.js'
import {embeddedDocument, type LintDocument, type Position} from './reader.js'

export interface Setting {
  value: string
  at: Position
  /** How the setting is named where it was found, for messages. */
  where: string
  /** Set when a tool reads the value before the component does (RKE2's cluster-cidr): the component never sees its text. */
  readBy?: string
  /** How to give it both families in its own file's terms, where that is not writing "IPv4,IPv6" into it (k0s). */
  dualFix?: string
}

export type Component = 'kube-apiserver' | 'kube-controller-manager' | 'kubelet' | 'kube-proxy'

/** Whose file it is: its defaults apply to what it leaves unset. 'rke2/k3s': a config.yaml that could be either's. */
export type Distribution = 'rke' | 'kubeadm' | 'rke2' | 'k3s' | 'rke2/k3s' | 'k0s'

/** A distribution as messages name it. */
export const DISTRIBUTION_NAME: Record<Distribution, string> = {rke: 'RKE', kubeadm: 'kubeadm', rke2: 'RKE2', k3s: 'k3s', 'rke2/k3s': 'RKE2/k3s', k0s: 'k0s'}

export interface ComponentConfig {
  /** Flags (extra_args) by flag name, plus the distribution's own fields mapped to flag names. */
  flags: Map<string, Setting>
  /** Which distribution's file said it (its defaults apply to what it leaves unset), and where its block is. */
  shape?: Distribution
  at?: Position
  /** The RKE `service_cluster_ip_range` / `serviceClusterIpRange` field of kube-api. */
  rkeServiceRange?: Setting
}

export interface PoolConfig {
  cidr: Setting
  blockSize?: Setting
}

export interface ConfigModel {
  components: Map<Component, ComponentConfig[]>
  calicoEnv: Map<string, Setting>
  /** Calico pools declared up front: a Tigera Installation's ipPools. */
  pools: PoolConfig[]
  cniConfigs: Setting[]
  services: Array<{name: string; ipFamily?: Setting; at: Position}>
  /** Where an RKE-style cluster config was found (rancher/rke#1902 applies). */
  rke: Position[]
  /** The Kubernetes versions the files state: RKE kubernetes_version, values cluster.kubernetesVersion, kubeadm kubernetesVersion. */
  kubernetesVersions: Setting[]
  /** What each file was read as (a file with no entry held nothing lint reads). */
  readAs: Map<string, Set<string>>
  /** A kubeadm ClusterConfiguration's own featureGates: kubeadm passes them to the components it sets up. */
  kubeadmFeatureGates?: Setting
}

/** The formats lint reads, as a user would name them: said for a file it could not make sense of. */
export const FORMATS_READ = [
  'RKE cluster.yml', 'a Helm values.yaml cluster: block', 'RKE2/k3s config.yaml', 'kubeadm ClusterConfiguration, InitConfiguration, JoinConfiguration, KubeProxyConfiguration, KubeletConfiguration',
  "kubeadm's kube-proxy ConfigMap", 'Calico Helm values (calicoNode.env, env, extraEnv)', 'a Tigera Installation', 'the calico-config ConfigMap',
  'the calico-node DaemonSet', 'Services', 'k0s ClusterConfig',
]

type Json = Record<string, unknown>

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const COMPONENT_KEYS: Record<string, Component> = {
  'kube-api': 'kube-apiserver', kubeApi: 'kube-apiserver', kube_api: 'kube-apiserver',
  'kube-controller': 'kube-controller-manager', kubeController: 'kube-controller-manager', kube_controller: 'kube-controller-manager',
  kubelet: 'kubelet',
  kubeproxy: 'kube-proxy', kubeProxy: 'kube-proxy', 'kube-proxy': 'kube-proxy',
}

// RKE fields that stand for component flags (rke docs: config-options/services).
const FIELD_FLAGS: Record<string, string> = {
  service_cluster_ip_range: 'service-cluster-ip-range', serviceClusterIpRange: 'service-cluster-ip-range',
  cluster_cidr: 'cluster-cidr', clusterCidr: 'cluster-cidr',
}

function setting(doc: LintDocument, value: unknown, path: Array<string | number>, where: string): Setting {
  return {value: String(value), at: doc.at(path), where}
}

function readComponents(doc: LintDocument, model: ConfigModel, container: Json, base: Array<string | number>, label: string): boolean {
  let found = false
  for (const [key, component] of Object.entries(COMPONENT_KEYS)) {
    const block = container[key]
    if (!isObject(block)) continue
    found = true
    const config: ComponentConfig = {flags: new Map(), shape: 'rke', at: doc.at([...base, key])}
    for (const [field, flag] of Object.entries(FIELD_FLAGS)) {
      if (block[field] === undefined) continue
      const s = setting(doc, block[field], [...base, key, field], `${label}${key}.${field}`)
      if (component === 'kube-apiserver' && flag === 'service-cluster-ip-range') config.rkeServiceRange = s
      else config.flags.set(flag, s)
    }
    for (const argsKey of ['extra_args', 'extraArgs']) {
      const args = block[argsKey]
      if (!isObject(args)) continue
      for (const [flag, value] of Object.entries(args)) config.flags.set(flag, setting(doc, value, [...base, key, argsKey, flag], `${label}${key}.${argsKey}.${flag}`))
    }
    model.components.set(component, [...(model.components.get(component) ?? []), config])
  }
  return found
}

/** Calico's settings of an env map; whether there were any. */
function readEnvMap(doc: LintDocument, model: ConfigModel, env: unknown, base: Array<string | number>, label: string): boolean {
  if (!isObject(env)) return false
  let found = false
  for (const [name, value] of Object.entries(env)) {
    if (/^(CALICO_|FELIX_|IP6?$|NO_DEFAULT_POOLS)/.test(name)) {
      model.calicoEnv.set(name, setting(doc, value, [...base, name], `${label}${name}`))
      found = true
    }
  }
  return found
}

export function buildModel(documents: readonly LintDocument[]): ConfigModel {
  const model: ConfigModel = {components: new Map(), calicoEnv: new Map(), pools: [], cniConfigs: [], services: [], rke: [], kubernetesVersions: [], readAs: new Map()}
  const readAs = (doc: LintDocument, what: string) => model.readAs.set(doc.file, new Set([...(model.readAs.get(doc.file) ?? []), what]))
  const configMaps = new Map<string, Record<string, string>>()
  for (const doc of documents) {
    const v = doc.value as Json
    if (isObject(v) && v.kind === 'ConfigMap' && isObject(v.metadata) && isObject(v.data)) configMaps.set(String(v.metadata.name), v.data as Record<string, string>)
  }
  for (const doc of documents) {
    const root = doc.value
    if (!isObject(root)) continue
    // Kubernetes objects.
    if (typeof root.kind === 'string' && typeof root.apiVersion === 'string') {
      const name = isObject(root.metadata) ? String(root.metadata.name ?? '') : ''
      if (root.kind === 'ConfigMap' && name === 'calico-config' && isObject(root.data) && typeof root.data.cni_network_config === 'string') {
        model.cniConfigs.push(setting(doc, root.data.cni_network_config, ['data', 'cni_network_config'], 'calico-config cni_network_config'))
        readAs(doc, 'the calico-config ConfigMap')
      }
      // kubeadm's kube-proxy ConfigMap: its config.conf is a KubeProxyConfiguration.
      if (root.kind === 'ConfigMap' && name === 'kube-proxy' && isObject(root.data) && typeof root.data['config.conf'] === 'string') {
        const inner = embeddedDocument(doc, ['data', 'config.conf'], root.data['config.conf'])
        if (inner && isObject(inner.value) && inner.value.kind === 'KubeProxyConfiguration') {
          readKubeadm(inner, model, inner.value, 'ConfigMap kube-proxy config.conf')
          readAs(doc, "kubeadm's kube-proxy ConfigMap")
        }
      }
      if (root.kind === 'DaemonSet' && name === 'calico-node') {
        const containers = ((root.spec as Json | undefined)?.template as Json | undefined)?.spec as Json | undefined
        const list = (containers?.containers as Json[] | undefined) ?? []
        const index = list.findIndex((c) => c.name === 'calico-node')
        readAs(doc, 'the calico-node DaemonSet')
        for (const [i, entry] of ((list[index]?.env as Json[] | undefined) ?? []).entries()) {
          const path = ['spec', 'template', 'spec', 'containers', index, 'env', i]
          const ref = (entry.valueFrom as Json | undefined)?.configMapKeyRef as {name?: string; key?: string} | undefined
          const value = ref ? configMaps.get(ref.name ?? '')?.[ref.key ?? ''] : entry.value
          if (value !== undefined) model.calicoEnv.set(String(entry.name), setting(doc, value, [...path, ref ? 'valueFrom' : 'value'], `calico-node env ${String(entry.name)}`))
        }
      }
      if (['ClusterConfiguration', 'InitConfiguration', 'JoinConfiguration', 'KubeProxyConfiguration', 'KubeletConfiguration'].includes(root.kind) && String(root.apiVersion).includes('.k8s.io/')) {
        readKubeadm(doc, model, root)
        readAs(doc, `kubeadm ${root.kind}`)
      }
      if (root.kind === 'ClusterConfiguration' && root.kubernetesVersion !== undefined) {
        model.kubernetesVersions.push(setting(doc, root.kubernetesVersion, ['kubernetesVersion'], 'ClusterConfiguration kubernetesVersion'))
      }
      if (root.kind === 'ClusterConfig' && String(root.apiVersion).startsWith('k0s.k0sproject.io/')) {
        readK0s(doc, model, root)
        readAs(doc, 'k0s ClusterConfig')
      }
      if (root.kind === 'Installation' && String(root.apiVersion).startsWith('operator.tigera.io')) {
        const pools = (((root.spec as Json | undefined)?.calicoNetwork as Json | undefined)?.ipPools as Json[] | undefined) ?? []
        readAs(doc, 'a Tigera Installation')
        pools.forEach((pool, i) => {
          const base = ['spec', 'calicoNetwork', 'ipPools', i]
          if (pool.cidr === undefined) return
          model.pools.push({cidr: setting(doc, pool.cidr, [...base, 'cidr'], `Installation ipPools[${i}].cidr`),
            ...(pool.blockSize !== undefined ? {blockSize: setting(doc, pool.blockSize, [...base, 'blockSize'], `Installation ipPools[${i}].blockSize`)} : {})})
        })
      }
      if (root.kind === 'Service') {
        const spec = root.spec as Json | undefined
        readAs(doc, 'a Service')
        model.services.push({name, at: doc.at(['metadata', 'name']), ...(spec?.ipFamily !== undefined ? {ipFamily: setting(doc, spec.ipFamily, ['spec', 'ipFamily'], `Service ${name} spec.ipFamily`)} : {})})
      }
      continue
    }
    if (root.kubernetes_version !== undefined) model.kubernetesVersions.push(setting(doc, root.kubernetes_version, ['kubernetes_version'], 'kubernetes_version'))
    if (isObject(root.cluster) && root.cluster.kubernetesVersion !== undefined) {
      model.kubernetesVersions.push(setting(doc, root.cluster.kubernetesVersion, ['cluster', 'kubernetesVersion'], 'cluster.kubernetesVersion'))
    }
    // RKE cluster.yml (services:), and the runbook's values.yaml `cluster:` block (camelCase, maybe with services:).
    const candidates: Array<[Json, Array<string | number>, string]> = [[root, [], '']]
    if (isObject(root.services)) candidates.push([root.services, ['services'], 'services.'])
    if (isObject(root.cluster)) {
      candidates.push([root.cluster, ['cluster'], 'cluster.'])
      if (isObject(root.cluster.services)) candidates.push([root.cluster.services, ['cluster', 'services'], 'cluster.services.'])
    }
    for (const [container, base, label] of candidates) {
      if (readComponents(doc, model, container, base, label)) {
        model.rke.push(doc.at(base))
        readAs(doc, base[0] === 'cluster' ? 'a Helm values.yaml cluster: block' : 'RKE cluster.yml')
      }
    }
    // RKE2 / k3s config.yaml: cluster-cidr, service-cidr, node-ip and per-component "flag=value" arg lists.
    const rancher = readRke2(doc, model, root)
    if (rancher) readAs(doc, `${DISTRIBUTION_NAME[rancher]} config.yaml`)
    // Calico Helm values: calicoNode.env, env, extraEnv.
    const env = [
      isObject(root.calicoNode) && readEnvMap(doc, model, root.calicoNode.env, ['calicoNode', 'env'], 'calicoNode.env.'),
      readEnvMap(doc, model, root.env, ['env'], 'env.'),
      readEnvMap(doc, model, root.extraEnv, ['extraEnv'], 'extraEnv.'),
    ]
    if (env.some(Boolean)) readAs(doc, 'Calico Helm values')
  }
  return model
}

/** A flag of a component, from any of the files that configure it. */
export function flagOf(model: ConfigModel, component: Component, flag: string): Setting | undefined {
  for (const config of model.components.get(component) ?? []) {
    const s = config.flags.get(flag)
    if (s) return s
  }
  return undefined
}

function addFlags(model: ConfigModel, component: Component, flags: Array<[string, Setting]>, origin: Pick<ComponentConfig, 'shape' | 'at'> = {}, always = false): void {
  if (flags.length === 0 && !always) return
  model.components.set(component, [...(model.components.get(component) ?? []), {flags: new Map(flags), ...origin}])
}

/** kubeadm ClusterConfiguration (networking + extraArgs, a map before v1beta4, a name/value list since), KubeProxyConfiguration, KubeletConfiguration. */
function readKubeadm(doc: LintDocument, model: ConfigModel, root: Json, label = String(root.kind)): void {
  const extraArgs = (section: string): Array<[string, Setting]> => {
    const args = (root[section] as Json | undefined)?.extraArgs
    if (Array.isArray(args)) return (args as Json[]).map((a, i) => [String(a.name), setting(doc, a.value, [section, 'extraArgs', i, 'value'], `${section}.extraArgs ${String(a.name)}`)])
    if (isObject(args)) return Object.entries(args).map(([k, v]) => [k, setting(doc, v, [section, 'extraArgs', k], `${section}.extraArgs.${k}`)])
    return []
  }
  const gates = (path: string[], where: string): Array<[string, Setting]> => {
    const map = path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), root)
    if (!isObject(map)) return []
    return [['feature-gates', {value: Object.entries(map).map(([k, v]) => `${k}=${String(v)}`).join(','), at: doc.at(path), where}]]
  }
  if (root.kind === 'ClusterConfiguration') {
    const net = root.networking as Json | undefined
    const service = net?.serviceSubnet !== undefined ? setting(doc, net.serviceSubnet, ['networking', 'serviceSubnet'], 'networking.serviceSubnet') : undefined
    const pods = net?.podSubnet !== undefined ? setting(doc, net.podSubnet, ['networking', 'podSubnet'], 'networking.podSubnet') : undefined
    // kubeadm's own featureGates (IPv6DualStack up to 1.20): kubeadm passes them on to every component it sets up.
    const kubeadmGates = gates(['featureGates'], 'ClusterConfiguration featureGates (kubeadm passes them on)')[0]?.[1]
    if (kubeadmGates) model.kubeadmFeatureGates = kubeadmGates
    // A ClusterConfiguration always configures the API server: kubeadm's defaults fill what it leaves out.
    addFlags(model, 'kube-apiserver', [...(service ? [['service-cluster-ip-range', service] as [string, Setting]] : []), ...extraArgs('apiServer')], {shape: 'kubeadm', at: doc.at(['kind'])}, true)
    addFlags(model, 'kube-controller-manager', [...(pods ? [['cluster-cidr', pods] as [string, Setting]] : []), ...(service ? [['service-cluster-ip-range', service] as [string, Setting]] : []), ...extraArgs('controllerManager')], {shape: 'kubeadm', at: doc.at(['kind'])})
  } else if (root.kind === 'InitConfiguration' || root.kind === 'JoinConfiguration') {
    // nodeRegistration.kubeletExtraArgs: the kubelet's flags on the node this file sets up (node-ip).
    const args = (root.nodeRegistration as Json | undefined)?.kubeletExtraArgs
    const base = ['nodeRegistration', 'kubeletExtraArgs']
    const flags: Array<[string, Setting]> = Array.isArray(args)
      ? (args as Json[]).map((a, i) => [String(a.name), setting(doc, a.value, [...base, i, 'value'], `nodeRegistration.kubeletExtraArgs ${String(a.name)}`)])
      : isObject(args) ? Object.entries(args).map(([k, v]) => [k, setting(doc, v, [...base, k], `nodeRegistration.kubeletExtraArgs.${k}`)]) : []
    addFlags(model, 'kubelet', flags, {shape: 'kubeadm', at: doc.at(['kind'])})
  } else if (root.kind === 'KubeProxyConfiguration') {
    const flags: Array<[string, Setting]> = []
    if (root.clusterCIDR !== undefined) flags.push(['cluster-cidr', setting(doc, root.clusterCIDR, ['clusterCIDR'], `${label} clusterCIDR`)])
    flags.push(['proxy-mode', setting(doc, root.mode || 'iptables', root.mode ? ['mode'] : [], `${label} mode`)])
    addFlags(model, 'kube-proxy', [...flags, ...gates(['featureGates'], `${label} featureGates`)], {shape: 'kubeadm'})
  } else {
    addFlags(model, 'kubelet', gates(['featureGates'], 'KubeletConfiguration featureGates'), {shape: 'kubeadm'})
  }
}

// k0s's defaults (docs.k0sproject.io: configuration, dual-stack): podCIDR 10.244.0.0/16, serviceCIDR 10.96.0.0/12,
// and it sets kube-controller-manager's node masks itself: /24 for IPv4, /117 for IPv6.
const K0S_DEFAULTS = {podCIDR: '10.244.0.0/16', serviceCIDR: SERVICE_RANGE_DEFAULTS.k0s.value, maskIpv4: '24', maskIpv6: '117'}

/** k0s ClusterConfig: spec.network (podCIDR, serviceCIDR, dualStack.IPv6podCIDR/IPv6serviceCIDR) and controllerManager.extraArgs. */
function readK0s(doc: LintDocument, model: ConfigModel, root: Json): void {
  const spec = isObject(root.spec) ? root.spec : {}
  const net = isObject(spec.network) ? spec.network : {}
  const dual = isObject(net.dualStack) && net.dualStack.enabled === true ? net.dualStack : undefined
  const base = ['spec', 'network']
  // One setting per range, both families in it as the components get them; it sits on the IPv6 field when there is one.
  const range = (v4: string, v6: string, fallback: string): Setting => {
    const ipv4 = net[v4] !== undefined ? String(net[v4]) : fallback
    const ipv6 = dual?.[v6] !== undefined ? String(dual[v6]) : undefined
    const at = ipv6 !== undefined ? [...base, 'dualStack', v6] : net[v4] !== undefined ? [...base, v4] : base
    return {value: ipv6 ? `${ipv4},${ipv6}` : ipv4, at: doc.at(at), where: ipv6 ? `spec.network.${v4} + dualStack.${v6}` : net[v4] !== undefined ? `spec.network.${v4}` : `spec.network.${v4} (k0s default ${fallback}, not set)`,
      dualFix: `set spec.network.dualStack.enabled: true and dualStack.${v6} (k0s takes the IPv6 range there, not in ${v4})`}
  }
  const services = range('serviceCIDR', 'IPv6serviceCIDR', K0S_DEFAULTS.serviceCIDR)
  const pods = range('podCIDR', 'IPv6podCIDR', K0S_DEFAULTS.podCIDR)
  const extra = isObject(spec.controllerManager) && isObject(spec.controllerManager.extraArgs) ? spec.controllerManager.extraArgs : {}
  const extraArg = (flag: string, fallback: string): Setting => extra[flag] !== undefined
    ? setting(doc, extra[flag], ['spec', 'controllerManager', 'extraArgs', flag], `spec.controllerManager.extraArgs.${flag}`)
    : {value: fallback, at: pods.at, where: `${flag} (k0s sets ${fallback})`}
  addFlags(model, 'kube-apiserver', [['service-cluster-ip-range', services]], {shape: 'k0s', at: doc.at(['kind'])}, true)
  addFlags(model, 'kube-controller-manager', [['cluster-cidr', pods], ['service-cluster-ip-range', services],
    ['node-cidr-mask-size-ipv4', extraArg('node-cidr-mask-size-ipv4', K0S_DEFAULTS.maskIpv4)], ['node-cidr-mask-size-ipv6', extraArg('node-cidr-mask-size-ipv6', K0S_DEFAULTS.maskIpv6)]])
  // k0s writes kube-proxy's configuration itself from the same ranges: its text is never kube-proxy's.
  addFlags(model, 'kube-proxy', [['cluster-cidr', {...pods, readBy: 'k0s'}]])
}

const RKE2_ARGS: Record<string, Component> = {
  'kube-apiserver-arg': 'kube-apiserver', 'kube-controller-manager-arg': 'kube-controller-manager', 'kube-proxy-arg': 'kube-proxy', 'kubelet-arg': 'kubelet',
}

// Keys only k3s's config.yaml has (docs.k3s.io cli/server: flannel, its packaged components) and only RKE2's
// (docs.rke2.io install/configuration: cni, profile): which of the two a config.yaml is, when it says.
const K3S_ONLY = ['flannel-backend', 'flannel-ipv6-masq', 'flannel-external-ip', 'flannel-iface', 'disable-network-policy', 'disable-helm-controller', 'cluster-init', 'datastore-endpoint']
const RKE2_ONLY = ['cni', 'profile', 'cis-profile', 'disable-cloud-controller', 'pod-security-admission-config-file']

/** Whether a config.yaml is k3s's or RKE2's: by a key only one of them has, else by where the file lives (/etc/rancher/k3s/config.yaml). */
function rancherDistribution(file: string, root: Json): Distribution {
  if (K3S_ONLY.some((k) => root[k] !== undefined)) return 'k3s'
  if (RKE2_ONLY.some((k) => root[k] !== undefined)) return 'rke2'
  if (/(^|[/\\._-])k3s([/\\._-]|$)/i.test(file)) return 'k3s'
  if (/(^|[/\\._-])rke2([/\\._-]|$)/i.test(file)) return 'rke2'
  return 'rke2/k3s'
}

/** RKE2 / k3s config.yaml: which of them it is, or undefined when the document is neither. */
function readRke2(doc: LintDocument, model: ConfigModel, root: Json): Distribution | undefined {
  const recognised = ['cluster-cidr', 'service-cidr', 'node-ip', ...Object.keys(RKE2_ARGS)].some((k) => root[k] !== undefined)
  if (!recognised) return undefined
  const distribution = rancherDistribution(doc.file, root)
  const flags = new Map<Component, Array<[string, Setting]>>()
  const add = (c: Component, f: string, s: Setting) => flags.set(c, [...(flags.get(c) ?? []), [f, s]])
  if (root['service-cidr'] !== undefined) {
    const s = setting(doc, root['service-cidr'], ['service-cidr'], 'service-cidr')
    add('kube-apiserver', 'service-cluster-ip-range', s)
  }
  if (root['cluster-cidr'] !== undefined) {
    const s = setting(doc, root['cluster-cidr'], ['cluster-cidr'], 'cluster-cidr')
    add('kube-controller-manager', 'cluster-cidr', s)
    // RKE2 and k3s parse it, then hand kube-proxy the CIDRs they parsed: not this text.
    add('kube-proxy', 'cluster-cidr', {...s, readBy: DISTRIBUTION_NAME[distribution]})
  }
  // node-ip: one address or "v4,v6" (a list in YAML is the flag given twice); the kubelet gets it, and k3s/RKE2 check it first.
  if (root['node-ip'] !== undefined) {
    const value = Array.isArray(root['node-ip']) ? (root['node-ip'] as unknown[]).map(String).join(',') : root['node-ip']
    add('kubelet', 'node-ip', setting(doc, value, ['node-ip'], 'node-ip'))
  }
  for (const [key, component] of Object.entries(RKE2_ARGS)) {
    const list = root[key]
    if (!Array.isArray(list)) continue
    list.forEach((entry, i) => {
      const [flag, ...rest] = String(entry).replace(/^--/, '').split('=')
      add(component, flag!, setting(doc, rest.join('='), [key, i], `${key}[${i}] ${flag}`))
    })
  }
  for (const [component, list] of flags) addFlags(model, component, list, component === 'kube-apiserver' ? {shape: distribution, at: doc.at(['service-cidr'])} : {shape: distribution})
  // No service-cidr: the distribution's default (lint judges it, k8s/defaults.ts), said at the top of the file.
  if (!flags.has('kube-apiserver')) addFlags(model, 'kube-apiserver', [], {shape: distribution, at: doc.at([Object.keys(root)[0]!])}, true)
  return distribution
}
