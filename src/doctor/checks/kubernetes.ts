import {parse} from 'yaml'

import type {PodDetail} from '../facts.js'
import {dualStackStage, featureGateValue, usesLegacyIpFamily} from '../../k8s/version.js'
import {parseCidr} from '../../net/ip.js'
import {fail, listSome, need, pass, skip, warn, type Check} from '../check.js'

const STAGE_TEXT = {
  unsupported: 'too old for dual-stack (needs 1.16 or later)',
  alpha: 'dual-stack is alpha: the IPv6DualStack feature gate must be on in kube-apiserver, kube-controller-manager, kubelet and kube-proxy; Services use the alpha `ipFamily` field',
  beta: 'dual-stack is beta and on by default (IPv6DualStack gate)',
  ga: 'dual-stack is GA; the IPv6DualStack gate is locked on',
  'gate-removed': 'dual-stack is GA; the IPv6DualStack gate no longer exists (components refuse to start with it)',
} as const

export const version: Check = {
  id: 'k8s.version', title: 'Kubernetes version supports dual-stack', area: 'Kubernetes', needs: [],
  run(f) {
    const stage = dualStackStage(f.version)
    const message = `${f.version.gitVersion}: ${STAGE_TEXT[stage]}`
    if (stage === 'unsupported') return fail(message, 'upgrade the cluster to Kubernetes 1.23 or later, where dual-stack is GA')
    if (stage === 'alpha') return warn(message, 'plan an upgrade to 1.23+ (GA); until then keep IPv6DualStack=true on every component')
    return pass(message)
  },
}

/** The value of IPv6DualStack in a --feature-gates flag among a container's command and args. */
function gateInArgs(args: readonly string[]): boolean | undefined {
  for (const arg of args) {
    const m = /^--feature-gates=(.*)$/.exec(arg)
    const value = m ? featureGateValue(m[1]!) : undefined
    if (value !== undefined) return value
  }
  return undefined
}

function kubeProxyConfigGate(configText: string | undefined): boolean | undefined {
  if (!configText) return undefined
  try {
    const value = (parse(configText) as {featureGates?: Record<string, unknown>} | null)?.featureGates?.IPv6DualStack
    return value === undefined ? undefined : value === true || value === 'true'
  } catch {
    return undefined
  }
}

function joinAnd(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}

const CONTROL_PLANE = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy']

function componentOf(pod: PodDetail): string | undefined {
  const labels = pod.metadata?.labels ?? {}
  const name = labels.component ?? labels['k8s-app']
  return name && CONTROL_PLANE.includes(name) ? name : undefined
}

export const featureGate: Check = {
  id: 'k8s.feature-gate', title: 'IPv6DualStack feature gate', area: 'Kubernetes', needs: ['kubeletFeatureGates', 'systemPods', 'configMaps'],
  run(f) {
    const stage = dualStackStage(f.version)
    if (stage === 'unsupported') return skip('the version has no dual-stack to enable')
    const settings: Array<{where: string; value: boolean | undefined}> = []
    for (const reading of need(f.kubeletFeatureGates)) {
      if (reading.gates) settings.push({where: `kubelet on ${reading.node}`, value: reading.gates.IPv6DualStack})
    }
    const seen = new Set<string>()
    const podsOf = new Map<string, string[]>()
    // kube-proxy's ConfigMap, parsed once: every kube-proxy pod (one per node) reads the same file.
    let proxyConfigGate: {value: boolean | undefined} | undefined
    for (const pod of need(f.systemPods)) {
      const component = componentOf(pod)
      if (!component) continue
      seen.add(component)
      podsOf.set(component, [...(podsOf.get(component) ?? []), pod.metadata?.name ?? ''])
      const args = (pod.spec?.containers ?? []).flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])])
      // kube-proxy may take its gates from its config file (ConfigMap kube-proxy) instead of flags.
      const value = gateInArgs(args) ?? (component === 'kube-proxy'
        ? (proxyConfigGate ??= {value: kubeProxyConfigGate(need(f.configMaps).get('kube-proxy')?.['config.conf'])}).value
        : undefined)
      settings.push({where: `${component} (${pod.metadata?.name})`, value})
    }
    const unreadable = need(f.kubeletFeatureGates).filter((r) => r.error).map((r) => r.node)
    const hidden = ['kube-apiserver', 'kube-controller-manager'].filter((c) => !seen.has(c))
    const hiddenNote = hidden.length > 0 ? ` ${hidden.join(' and ')} run outside Kubernetes here (not visible): check their flags with \`kubectl dualstack lint\`.` : ''
    const unreadableNote = unreadable.length > 0 ? ` kubelet config not readable on ${listSome(unreadable)}.` : ''
    const minor = `${f.version.major}.${f.version.minor}`
    if (stage === 'ga' || stage === 'gate-removed') {
      // What was read, and what was found there: a pass must say what it rests on.
      const components = CONTROL_PLANE.filter((c) => podsOf.has(c)).map((c) => {
        const pods = podsOf.get(c)!
        return `${c} (${pods.length === 1 ? pods[0] : `${pods.length} pods: ${listSome(pods, 3)}`})`
      })
      const configMap = podsOf.has('kube-proxy') && need(f.configMaps).get('kube-proxy')?.['config.conf'] !== undefined ? " and kube-proxy's ConfigMap kube-proxy" : ''
      const read = components.length > 0
        ? `read the flags of ${joinAnd(components)}${configMap}`
        : 'no kube-apiserver, kube-controller-manager, kube-scheduler or kube-proxy pod is visible to read the flags of'
      const kubelets = stage === 'ga'
        ? ` Kubelets were not asked: a ${minor} kubelet refuses to start with the gate set false, so a running one has it on.`
        : ` Kubelets were not asked: a ${minor} kubelet refuses to start with the removed gate set, so a running one does not carry it.`
      const what = stage === 'ga' ? `${f.version.gitVersion} has the IPv6DualStack gate locked on` : `${f.version.gitVersion} removed the IPv6DualStack gate (dual-stack is always on)`
      if (stage === 'gate-removed') {
        const set = settings.filter((s) => s.value !== undefined).map((s) => s.where)
        if (set.length > 0) {
          return fail(`IPv6DualStack is still set on ${listSome(set)}, but ${f.version.gitVersion} removed the gate: components refuse to start with it`,
            'remove IPv6DualStack from --feature-gates (and kubelet featureGates) on those components')
        }
        return pass(`${what}: ${read}${components.length > 0 ? `: the gate is set in none of them, as ${minor} requires` : ''}.${kubelets}${hiddenNote}`)
      }
      const disabled = settings.filter((s) => s.value === false).map((s) => s.where)
      if (disabled.length > 0) return fail(`IPv6DualStack=false on ${listSome(disabled)}`, 'remove IPv6DualStack=false from --feature-gates on those components')
      return pass(`${what}: ${read}${components.length > 0 ? ': none turns it off' : ''}.${kubelets}${hiddenNote}`)
    }
    if (settings.length === 0) return skip(`no component's feature gates are visible.${hiddenNote}${unreadableNote}`)
    if (stage === 'alpha') {
      const off = settings.filter((s) => s.value !== true).map((s) => s.where)
      if (off.length > 0) {
        return fail(`IPv6DualStack is not on in ${listSome(off)} (${f.version.gitVersion} needs it everywhere).${hiddenNote}`,
          'add --feature-gates=IPv6DualStack=true to kube-apiserver, kube-controller-manager, kubelet and kube-proxy (RKE: extra_args feature-gates: "IPv6DualStack=true" for each service), then restart them')
      }
      return pass(`IPv6DualStack=true on ${settings.length} visible component(s).${hiddenNote}${unreadableNote}`)
    }
    const disabled = settings.filter((s) => s.value === false).map((s) => s.where)
    if (disabled.length > 0) {
      return fail(`IPv6DualStack=false on ${listSome(disabled)}`, 'remove IPv6DualStack=false from --feature-gates on those components')
    }
    return pass(`on by default in ${f.version.gitVersion} and not turned off anywhere visible.${hiddenNote}`)
  },
}

export const serviceCidr: Check = {
  id: 'apiserver.service-cidr', title: 'API server allocates ClusterIPs of both families', area: 'Kubernetes', needs: ['serviceProbe'],
  run(f) {
    const probe = need(f.serviceProbe)
    const how = usesLegacyIpFamily(f.version) ? 'dry-run Services with ipFamily IPv4 and IPv6' : 'a dry-run RequireDualStack Service'
    const {ipv4, ipv6} = probe.allocated
    if (ipv4 && ipv6) return pass(`${how} got ${ipv4} and ${ipv6}`, {allocated: probe.allocated})
    const missing = ipv6 ? 'IPv4' : 'IPv6'
    return fail(`${how} got no ${missing} ClusterIP: ${probe.refusals.join('; ') || 'only one family was allocated'}`,
      'set kube-apiserver --service-cluster-ip-range to "<IPv4 CIDR>,<IPv6 CIDR>" (e.g. 10.96.0.0/16,fd00:10:96::/112); on RKE also put it in kube-api extra_args because of rancher/rke#1902',
      {allocated: probe.allocated, refusals: probe.refusals})
  },
}

export const nodeCidrs: Check = {
  id: 'controller.node-cidrs', title: 'Nodes have a pod CIDR of each family', area: 'Kubernetes', needs: ['nodes', 'ipPools'],
  run(f) {
    const nodes = need(f.nodes)
    const lacking = nodes.filter((n) => {
      const families = new Set((n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])).map((c) => parseCidr(c)?.family))
      return !(families.has('ipv4') && families.has('ipv6'))
    }).map((n) => n.metadata?.name ?? '')
    if (lacking.length === 0) return pass(`all ${nodes.length} nodes have an IPv4 and an IPv6 podCIDR`)
    // Unread pools are this check's error, not a verdict: whether Calico assigns addresses decides it.
    const calicoIpam = need(f.ipPools) !== undefined
    if (calicoIpam) return pass(`${lacking.length} of ${nodes.length} nodes lack a podCIDR of each family; informational: Calico IPAM assigns pod addresses from IP pools, not node podCIDRs`)
    return fail(`${listSome(lacking)} lack a podCIDR of each family`,
      'set kube-controller-manager --cluster-cidr "<IPv4 CIDR>,<IPv6 CIDR>" with --node-cidr-mask-size-ipv4 and --node-cidr-mask-size-ipv6 (and --allocate-node-cidrs=true); existing nodes keep their CIDRs until re-registered')
  },
}
