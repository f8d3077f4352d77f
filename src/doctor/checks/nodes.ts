import {addressFamily} from '../../net/ip.js'
import {fail, listSome, need, pass, skip, type Check, type Outcome} from '../check.js'
import {detectDistribution} from '../distribution.js'
import {NO_HOST_POD, type NodeReading} from '../facts.js'

export const addresses: Check = {
  id: 'node.addresses', title: 'Nodes have an InternalIP of each family', area: 'Nodes', needs: ['nodes'],
  run(f) {
    const nodes = need(f.nodes)
    const missing = nodes.flatMap((n) => {
      const families = new Set((n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => addressFamily(a.address)))
      const lack = (['ipv4', 'ipv6'] as const).filter((fam) => !families.has(fam))
      return lack.length > 0 ? [`${n.metadata?.name} (no ${lack.join(', no ')})`] : []
    })
    if (missing.length === 0) return pass(`all ${nodes.length} nodes have IPv4 and IPv6 InternalIPs`)
    return fail(`${missing.length} of ${nodes.length} nodes lack an InternalIP family: ${listSome(missing)}`,
      "give each node an IPv6 address on its main interface and start kubelet with --node-ip=<IPv4>,<IPv6>; Calico's IP6=autodetect needs it too")
  },
}

const NOW = 'on each listed node: sysctl -w net.ipv6.conf.all.forwarding=1   (takes effect now, lost on reboot)'
const PERSIST = "to keep it: echo 'net.ipv6.conf.all.forwarding = 1' | sudo tee /etc/sysctl.d/99-ipv6-forwarding.conf && sudo sysctl --system"
/** How to keep it where the distribution has its own way; the generic fix comes first everywhere. */
const PERSIST_ON: Record<string, string[]> = {
  rke: [
    "on RKE nodes that run RancherOS (the runbook), keep it in RancherOS's config instead: write fwdipv6.yml with",
    '  #cloud-config',
    '  rancher:',
    '    sysctl:',
    '      net.ipv6.conf.all.forwarding: 1',
    '  then: sudo ros config merge -i fwdipv6.yml',
  ],
}

/** The forwarding fix: the generic sysctl fix, then what the detected distribution needs besides. */
export function forwardingFix(distribution: string): string {
  return [NOW, PERSIST, ...(PERSIST_ON[distribution] ?? [])].join('\n')
}

/** The nodes whose forwarding could not be read, and why. */
function unreadText(unread: readonly NodeReading[], total: number): string {
  const reasons = new Set(unread.map((r) => r.error))
  return reasons.size === 1
    ? `could not read forwarding on ${unread.length} of ${total} nodes (${listSome(unread.map((r) => r.node), 5)}): ${[...reasons][0]}`
    : `could not read forwarding on ${listSome(unread.map((r) => `${r.node} (${r.error})`), 3)}`
}

export const ipv6Forwarding: Check = {
  id: 'node.ipv6-forwarding', title: 'IPv6 forwarding is on on every node', area: 'Nodes', needs: ['forwarding'],
  run(f): Outcome {
    const readings = need(f.forwarding)
    const off = readings.filter((r) => r.value !== undefined && r.value !== '1')
    const unread = readings.filter((r) => r.error)
    const details = {nodes: Object.fromEntries(readings.map((r) => [r.node, r.value ?? `error: ${r.error}`]))}
    if (off.length > 0) {
      // The nodes it could not read are said too (in the table, not only the JSON): nothing is known of them.
      return fail(`net.ipv6.conf.all.forwarding is ${off[0]!.value} on ${off.length} of ${readings.length} nodes: ${listSome(off.map((r) => r.node))}${unread.length > 0 ? `; ${unreadText(unread, readings.length)}` : ''}`, forwardingFix(detectDistribution(f)), details)
    }
    if (unread.length === readings.length && unread.every((r) => r.error === NO_HOST_POD)) {
      return skip(`${NO_HOST_POD}: install Calico, or read it on each node with: sysctl net.ipv6.conf.all.forwarding`)
    }
    if (unread.length > 0) return {status: 'error', message: unreadText(unread, readings.length), details}
    return pass(`net.ipv6.conf.all.forwarding = 1 on all ${readings.length} nodes`, details)
  },
}

// status.hostIPs (KEP-2681: alpha 1.28 behind PodHostIPs, on by default from 1.29): the node's addresses as the
// kubelet reports them to each pod. One family there means the kubelet was started with one --node-ip, or before
// the node had its second address: pods (and the downward API's status.hostIPs) then see one family.
export const hostIps: Check = {
  id: 'node.host-ips', title: 'Pods see both host IP families (status.hostIPs)', area: 'Nodes', needs: ['nodes', 'podAddresses'],
  run(f) {
    if (f.version.major === 1 && f.version.minor < 28) return skip(`${f.version.gitVersion} has no status.hostIPs (Kubernetes 1.28+); node.addresses judges the nodes`)
    const nodes = need(f.nodes)
    const dualNodes = new Set(nodes.filter((n) => {
      const families = new Set((n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => addressFamily(a.address)))
      return families.has('ipv4') && families.has('ipv6')
    }).map((n) => n.metadata?.name ?? ''))
    const running = need(f.podAddresses).filter((p) => p.phase === 'Running' && p.node && dualNodes.has(p.node))
    if (running.length === 0) return skip(`no Running pod on a node with both InternalIP families (see node.addresses)`)
    if (!running.some((p) => p.hasHostIPs)) return skip(`no pod reports status.hostIPs: the PodHostIPs feature gate is off (alpha in 1.28, on by default from 1.29)`)
    const single = new Map<string, {pods: number; families: Set<string>}>()
    for (const pod of running) {
      const families = new Set(pod.hostIPs.map((ip) => addressFamily(ip)))
      if (families.has('ipv4') && families.has('ipv6')) continue
      const entry = single.get(pod.node!) ?? {pods: 0, families: new Set<string>()}
      entry.pods++
      for (const family of families) if (family) entry.families.add(family === 'ipv4' ? 'IPv4' : 'IPv6')
      single.set(pod.node!, entry)
    }
    if (single.size === 0) return pass(`every Running pod on the ${dualNodes.size} node(s) with both InternalIP families has a host IP of each in status.hostIPs`)
    const list = [...single.entries()].map(([node, e]) => `${node} (${e.pods} pod(s): ${[...e.families].join(', ') || 'none'} only)`)
    return fail(`pods on ${single.size} node(s) see one host IP family in status.hostIPs although the node has both InternalIPs: ${listSome(list, 5)}`,
      'the kubelet on those nodes reports the addresses it was started with: start it with --node-ip=<IPv4>,<IPv6> (kubeadm: nodeRegistration.kubeletExtraArgs node-ip; RKE2/k3s: node-ip in config.yaml) and restart it; pods report both from then on',
      {nodes: Object.fromEntries([...single.entries()].map(([node, e]) => [node, e.pods]))})
  },
}
