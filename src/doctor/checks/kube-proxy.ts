import {parse} from 'yaml'

import {atLeast} from '../../k8s/version.js'
import {parseCidr} from '../../net/ip.js'
import {fail, need, pass, skip, warn, type Check} from '../check.js'
import type {Facts} from '../facts.js'

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

export const clusterCidr: Check = {
  id: 'kube-proxy.cluster-cidr', title: "kube-proxy's cluster CIDR lists both families", area: 'kube-proxy', needs: ['configMaps', 'daemonSets'],
  run(f) {
    const config = proxyConfig(f)
    if (!config) return NOT_VISIBLE
    if (!config.clusterCIDR) return warn(`no clusterCIDR (${config.source}): kube-proxy cannot tell pod traffic from outside traffic`, 'set clusterCIDR to "<IPv4 pod CIDR>,<IPv6 pod CIDR>"')
    const families = new Set(config.clusterCIDR.split(',').map((c) => parseCidr(c)?.family))
    if (families.has('ipv4') && families.has('ipv6')) return pass(`clusterCIDR ${config.clusterCIDR} (${config.source})`)
    return fail(`clusterCIDR ${config.clusterCIDR} has one family (${config.source})`, 'set clusterCIDR to "<IPv4 pod CIDR>,<IPv6 pod CIDR>", the same as kube-controller-manager --cluster-cidr, and restart kube-proxy')
  },
}
