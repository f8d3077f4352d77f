import {parse} from 'yaml'

import {atLeast} from '../../k8s/version.js'
import {poolsOfFamily} from '../../calico/install.js'
import type {IPPoolObject, PodDetail} from '../../cluster/types.js'
import {proxyCidrSpacingProblem, readProxyCidrList} from '../../k8s/cluster-cidr.js'
import {cidrWithin, parseCidr, type Family} from '../../net/ip.js'
import {fail, listSome, need, pass, skip, warn, type Check} from '../check.js'
import type {Fact, Facts} from '../facts.js'

interface ProxyConfig {
  mode?: string
  clusterCIDR?: string
  source: string
}

/** kube-proxy's settings where the cluster shows them: its ConfigMap (kubeadm), else its DaemonSet's flags. */
function proxyConfig(f: Facts): ProxyConfig | undefined {
  const cm = need(f.configMaps).get('kube-proxy')
  const text = cm?.['config.conf']
  if (text) {
    try {
      const doc = parse(text) as {mode?: string; clusterCIDR?: string}
      return {mode: doc.mode || 'iptables', clusterCIDR: doc.clusterCIDR, source: 'ConfigMap kube-system/kube-proxy'}
    } catch {
      // fall through to the DaemonSet's flags
    }
  }
  const ds = need(f.daemonSets).find((d) => d.metadata?.name === 'kube-proxy')
  if (!ds) return undefined
  const args = (ds.spec?.template?.spec?.containers ?? []).flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])])
  const flag = (name: string) => args.map((a) => new RegExp(`^--${name}=(.*)$`).exec(a)?.[1]).find((v) => v !== undefined)
  return {mode: flag('proxy-mode') ?? 'iptables', clusterCIDR: flag('cluster-cidr'), source: 'DaemonSet kube-system/kube-proxy flags'}
}

const NOT_VISIBLE = skip("kube-proxy's configuration is not visible in the cluster (RKE1 and k3s run it outside Kubernetes): check the cluster's config files with `kubectl dualstack lint`")

export const mode: Check = {
  id: 'kube-proxy.mode', title: 'kube-proxy mode supports dual-stack', area: 'kube-proxy', needs: ['configMaps', 'daemonSets'],
  run(f) {
    const config = proxyConfig(f)
    if (!config) return NOT_VISIBLE
    const m = config.mode ?? 'iptables'
    // Dual-stack kube-proxy was IPVS-only until 1.19, when the iptables proxier learned both families;
    // the runbook's 1.18 clusters therefore need ipvs. nftables (1.29+) handles both families too.
    if (!atLeast(f.version, 1, 19) && m !== 'ipvs') {
      return fail(`mode ${m} (${config.source}); on ${f.version.gitVersion} only ipvs serves both families`, 'set kube-proxy mode ipvs (RKE: kubeproxy extra_args proxy-mode: "ipvs") and restart kube-proxy')
    }
    if (!['iptables', 'ipvs', 'nftables'].includes(m)) return warn(`mode ${m} (${config.source}) is not a mode known to serve both families`)
    return pass(`mode ${m} (${config.source}) serves both families on ${f.version.gitVersion}`)
  },
}

const RESTART = 'kubectl -n kube-system rollout restart ds kube-proxy'
const PLACEHOLDER: Record<Family, string> = {ipv4: '<IPv4 pod CIDR>', ipv6: '<IPv6 pod CIDR>'}
const FAMILY_NAME: Record<Family, string> = {ipv4: 'IPv4', ipv6: 'IPv6'}

/** What the check can know beside kube-proxy's own setting, each optional: a read it lacks is not its failure. */
function known<T>(fact: Fact<T>): T | undefined {
  return fact.ok ? fact.value : undefined
}

/** kube-controller-manager's --cluster-cidr where the cluster shows it: its static pod, else kubeadm's podSubnet. */
function controllerClusterCidr(f: Facts): string | undefined {
  const pod = (known(f.systemPods) ?? []).find((p) => p.metadata?.labels?.component === 'kube-controller-manager')
  const args = (pod?.spec?.containers ?? []).flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])])
  const flag = args.map((a) => /^--cluster-cidr=(.*)$/.exec(a)?.[1]).find((v) => v !== undefined)
  if (flag) return flag
  const kubeadm = known(f.configMaps)?.get('kubeadm-config')?.ClusterConfiguration
  if (!kubeadm) return undefined
  try {
    const subnet = (parse(kubeadm) as {networking?: {podSubnet?: string}} | null)?.networking?.podSubnet
    return subnet === undefined ? undefined : String(subnet)
  } catch {
    return undefined
  }
}

/**
 * The value kube-proxy's cluster CIDR should have, per family: the one it has when it holds every enabled Calico
 * pool of the family, else kube-controller-manager's when that does, else the pool's own CIDR (one pool); with no
 * pool of the family, what it has or kube-controller-manager's. A placeholder only when nothing says.
 */
export function wantedClusterCidr(current: readonly string[], controller: readonly string[], pools: readonly IPPoolObject[]): string {
  return (['ipv4', 'ipv6'] as const).map((family) => {
    const ofFamily = (list: readonly string[]) => list.map((c) => parseCidr(c)).find((c) => c?.family === family)?.text
    const mine = poolsOfFamily(pools, family).filter((p) => !p.spec?.disabled).map((p) => parseCidr(p.spec!.cidr!)!.text)
    const holdsAll = (cidr: string | undefined) => cidr !== undefined && mine.every((pool) => cidrWithin(pool, cidr))
    const candidates = [ofFamily(current), ofFamily(controller), ...(mine.length === 1 ? mine : [])]
    return candidates.find((c) => holdsAll(c)) ?? (mine.length === 0 ? candidates.find((c) => c !== undefined) : undefined) ?? PLACEHOLDER[family]
  }).join(',')
}

/** The kube-proxy pods that started before `changed` (the container's start, else the pod's): they run the old config. */
export function podsStartedBefore(pods: readonly PodDetail[], changed: string): PodDetail[] {
  return pods.filter((pod) => {
    const started = pod.status?.containerStatuses?.find((c) => c.name === 'kube-proxy')?.state?.running?.startedAt ?? pod.status?.startTime
    // Both are second-precise: a pod started in the second of the change is taken to have read the new config.
    return started !== undefined && Date.parse(started) < Date.parse(changed)
  })
}

export const clusterCidr: Check = {
  id: 'kube-proxy.cluster-cidr', title: "kube-proxy's cluster CIDR lists both families and holds the Calico pools", area: 'kube-proxy',
  needs: ['configMaps', 'daemonSets', 'ipPools', 'systemPods'],
  run(f) {
    const config = proxyConfig(f)
    if (!config) return NOT_VISIBLE
    const fromConfigMap = config.source.startsWith('ConfigMap')
    const pools = known(f.ipPools) ?? []
    const list = readProxyCidrList(config.clusterCIDR ?? '')
    const controllerCidr = controllerClusterCidr(f)
    const wanted = wantedClusterCidr(list.cidrs, readProxyCidrList(controllerCidr ?? '').cidrs, pools)
    const kubeadm = fromConfigMap && known(f.configMaps)?.has('kubeadm-config')
      ? `; kubeadm rewrites this ConfigMap from ClusterConfiguration networking.podSubnet on upgrade (kubeadm upgrade apply): set podSubnet to "${wanted}" in ConfigMap kube-system/kubeadm-config too`
      : ''
    const fix = fromConfigMap
      ? `set clusterCIDR: "${wanted}" in ConfigMap kube-system/kube-proxy (config.conf), then ${RESTART}${kubeadm}`
      : `set --cluster-cidr=${wanted} in DaemonSet kube-system/kube-proxy (kubectl -n kube-system edit ds kube-proxy; its rollout restarts the pods)`
    const shown = (v: string) => (/\s/.test(v) ? `"${v}"` : v)
    const where = `clusterCIDR ${shown(config.clusterCIDR ?? '')} (${config.source})`
    const details = {clusterCIDR: config.clusterCIDR, wanted, source: config.source}

    if (!config.clusterCIDR) return warn(`no clusterCIDR (${config.source}): kube-proxy cannot tell pod traffic from outside traffic`, fix, details)
    const spacing = proxyCidrSpacingProblem(config.clusterCIDR)
    if (spacing) return fail(`${where} ${spacing}`, fix, details)
    const parsed = list.cidrs.map((c) => ({text: c, net: parseCidr(c)}))
    const bad = parsed.filter((c) => !c.net).map((c) => c.text)
    if (bad.length > 0) return fail(`${where}: ${bad.map((b) => `"${b}"`).join(', ')} is not a CIDR, and kube-proxy refuses it at its next start`, fix, details)
    const families = new Set(parsed.map((c) => c.net!.family))
    if (!(families.has('ipv4') && families.has('ipv6')) || parsed.length !== 2) return fail(`${where} is not one IPv4 and one IPv6 CIDR`, fix, details)
    for (const family of ['ipv4', 'ipv6'] as const) {
      const cidr = parsed.find((c) => c.net!.family === family)!.net!.text
      const outside = poolsOfFamily(pools, family).filter((p) => !p.spec?.disabled && !cidrWithin(p.spec!.cidr!, cidr))
      if (outside.length > 0) {
        // Outside kube-controller-manager's cluster CIDR too: the pool is the odd one out (a stale pool, as in the runbook).
        const controller = readProxyCidrList(controllerCidr ?? '').cidrs.map((c) => parseCidr(c)).find((c) => c?.family === family)?.text
        const poolIsOdd = controller !== undefined && outside.every((p) => !cidrWithin(p.spec!.cidr!, controller))
        return fail(`${where}: its ${FAMILY_NAME[family]} CIDR ${cidr} does not contain Calico pool ${outside.map((p) => `${p.metadata?.name} (${p.spec?.cidr})`).join(', ')}: kube-proxy takes traffic from those pods for outside traffic`,
          poolIsOdd ? `the pool lies outside kube-controller-manager's cluster CIDR ${controller} too: move it there (kubectl dualstack ippool fix; see calico.ippool.cidr-match), or ${fix}` : fix, details)
      }
    }

    // The value is right: do the running kube-proxy pods run it? They read their config when they start.
    const ds = need(f.daemonSets).find((d) => d.metadata?.name === 'kube-proxy' && d.metadata?.namespace === 'kube-system')
    const pods = (known(f.systemPods) ?? []).filter((p) => p.metadata?.namespace === 'kube-system' && p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet' && o.name === 'kube-proxy'))
    if (fromConfigMap) {
      const changed = known(f.configMapDataChanged)?.get('kube-proxy')
      const stale = changed ? podsStartedBefore(pods, changed.time) : []
      if (changed && stale.length > 0) {
        return warn(`${where}, but ${stale.length} of ${pods.length} kube-proxy pods started before the ConfigMap last changed (${changed.time}, ${changed.manager}): they still run the clusterCIDR they started with (${listSome(stale.map((p) => p.metadata?.name ?? ''), 5)})`,
          RESTART, {...details, changed, stale: stale.map((p) => p.metadata?.name)})
      }
      const why = changed ? 'every kube-proxy pod started after it last changed' : 'the API server keeps no managedFields, so whether the pods started after its last change is not known'
      return pass(`${where} holds the Calico pools of both families, and ${why}`, details)
    }
    const desired = ds?.status?.desiredNumberScheduled
    const updated = ds?.status?.updatedNumberScheduled
    if (desired !== undefined && updated !== undefined && updated < desired) {
      return warn(`${where}, but ${desired - updated} of ${desired} kube-proxy pods still run the DaemonSet's previous template: the rollout has not finished`, `kubectl -n kube-system rollout status ds kube-proxy (or ${RESTART})`, details)
    }
    return pass(`${where} holds the Calico pools of both families`, details)
  },
}
