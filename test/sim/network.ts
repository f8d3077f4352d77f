// Reachability in the simulated cluster: which packets arrive, by family. IPv6 pod traffic needs
// net.ipv6.conf.all.forwarding=1 on the nodes it crosses; a node's firewall (NodeSpec.firewall) drops what
// crosses to or from other nodes; reaching outside needs NAT outgoing on the source pod's pool; a ClusterIP
// forwards to a ready endpoint of its family.
import {addressFamily, cidrContains, parseAddress, type Family} from '../../src/net/ip.js'
import type {SimCluster} from './cluster.js'
import {isReady} from './controllers.js'
import type {Obj} from './store.js'

export type Outcome =
  | {ok: true; node?: string; pod?: Obj; external?: boolean; rttMs: number}
  | {ok: false; why: 'no-route' | 'timeout' | 'refused'; detail: string}

function podIps(pod: Obj): string[] {
  return ((pod.status?.podIPs as Array<{ip: string}> | undefined) ?? []).map((p) => p.ip)
}

export class Network {
  constructor(private readonly sim: SimCluster) {}

  /** The source's addresses: the pod's own, or its node's for hostNetwork pods. */
  sourceAddresses(pod: Obj): string[] {
    return pod.spec?.hostNetwork ? this.sim.nodeAddresses(pod.spec.nodeName) : podIps(pod)
  }

  private forwarding(node: string, family: Family): boolean {
    const key = family === 'ipv6' ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward'
    return this.sim.sysctl(node, key) === '1'
  }

  /** Why a packet of a family from node `from` to another node `to` is dropped by either's firewall, if it is. */
  private firewalled(from: string, to: string, family: Family): string | undefined {
    if (from === to) return undefined
    const drops = (node: string, direction: 'in' | 'out', peer: string) => (this.sim.nodeSpec(node)?.firewall ?? [])
      .some((rule) => rule.family === family && (rule.direction === direction || rule.direction === 'both') && (!rule.peers || rule.peers.includes(peer)))
    if (drops(from, 'out', to)) return `node ${from}'s firewall drops ${family} to ${to}`
    if (drops(to, 'in', from)) return `node ${to}'s firewall drops ${family} from ${from}`
    return undefined
  }

  /** Can `src` reach `ip` (an address of any kind) at the IP layer? */
  reach(src: Obj, ip: string): Outcome {
    const parsed = parseAddress(ip)
    if (!parsed) return {ok: false, why: 'no-route', detail: `bad address ${ip}`}
    const family = parsed.family
    if (!this.sourceAddresses(src).some((a) => addressFamily(a) === family)) {
      return {ok: false, why: 'no-route', detail: 'Network is unreachable'}
    }
    const srcNode: string = src.spec?.nodeName
    const srcOnPodNetwork = !src.spec?.hostNetwork
    if (srcOnPodNetwork && !this.forwarding(srcNode, family)) {
      return {ok: false, why: 'timeout', detail: `node ${srcNode} does not forward ${family} (sysctl forwarding is 0)`}
    }
    const owner = this.sim.ownerOfAddress(parsed.text) ?? this.sim.ownerOfAddress(ip)
    if (owner?.kind === 'node') {
      const dropped = this.firewalled(srcNode, owner.node, family)
      if (dropped) return {ok: false, why: 'timeout', detail: dropped}
      return {ok: true, node: owner.node, rttMs: srcNode === owner.node ? 0.05 : 0.3}
    }
    if (owner?.kind === 'pod') {
      const dstNode: string = owner.pod.spec?.nodeName
      if (!this.forwarding(dstNode, family)) return {ok: false, why: 'timeout', detail: `node ${dstNode} does not forward ${family} (sysctl forwarding is 0)`}
      const dropped = this.firewalled(srcNode, dstNode, family)
      if (dropped) return {ok: false, why: 'timeout', detail: dropped}
      return {ok: true, node: dstNode, pod: owner.pod, rttMs: srcNode === dstNode ? 0.08 : 0.4}
    }
    if (owner?.kind === 'service') return {ok: false, why: 'timeout', detail: 'a ClusterIP does not answer ping'}
    const external = (this.sim.scenario.external ?? []).find((e) => parseAddress(e.address)?.text === parsed.text)
    if (external) {
      if (srcOnPodNetwork && !this.natOutgoing(src, family)) {
        return {ok: false, why: 'timeout', detail: `the ${family} pool of the pod has natOutgoing off`}
      }
      return {ok: true, external: true, rttMs: 8.5}
    }
    return {ok: false, why: 'timeout', detail: 'no host answers at that address'}
  }

  private natOutgoing(pod: Obj, family: Family): boolean {
    const ip = podIps(pod).find((a) => addressFamily(a) === family)
    if (!ip) return false
    const pool = this.sim.calicoPools(family).find((p) => cidrContains(p.spec.cidr, ip))
    return pool ? pool.spec.natOutgoing === true : false
  }

  /** An HTTP request from `src` to ip:port: through a ClusterIP to an endpoint, or to a pod directly. */
  http(src: Obj, ip: string, port: number): {ok: true; status: number; body: string; rttMs: number} | {ok: false; why: 'no-route' | 'timeout' | 'refused'; detail: string} {
    const owner = this.sim.ownerOfAddress(parseAddress(ip)?.text ?? ip)
    let target = ip
    let targetPort = port
    if (owner?.kind === 'service') {
      const family = addressFamily(ip)!
      const svcPort = (owner.service.spec?.ports ?? []).find((p: {port: number}) => p.port === port)
      if (!svcPort) return {ok: false, why: 'refused', detail: `no Service port ${port}`}
      // internalTrafficPolicy Local: kube-proxy sends the packet only to endpoints on the sender's own node.
      const local = owner.service.spec?.internalTrafficPolicy === 'Local'
      const backends = this.endpointAddresses(owner.service, family, local ? src.spec?.nodeName : undefined)
      if (backends.length === 0) return {ok: false, why: local ? 'timeout' : 'refused', detail: `no ${family} endpoints${local ? ' on this node' : ''}`}
      target = backends[0]!
      targetPort = typeof svcPort.targetPort === 'number' ? svcPort.targetPort : svcPort.port
    }
    const reached = this.reach(src, target)
    if (!reached.ok) return reached
    if (reached.external) return {ok: true, status: 200, body: '<html>outside</html>\n', rttMs: reached.rttMs}
    const pod = reached.pod
    const listens = pod && (pod.spec?.containers ?? []).some((c: {ports?: Array<{containerPort: number}>}) => (c.ports ?? []).some((p) => p.containerPort === targetPort))
    if (!pod || !listens) return {ok: false, why: 'refused', detail: 'Connection refused'}
    const body = pod.metadata.annotations?.['sim.dualstack.dev/http-body'] ??
      `<!DOCTYPE html>\n<html>\n<head><title>Hello Kubernetes!</title></head>\n<body><div id="message">Hello world!</div><table><tr><th>pod:</th><td>${pod.metadata.name}</td></tr></table></body>\n</html>\n`
    return {ok: true, status: 200, body, rttMs: reached.rttMs}
  }

  private endpointAddresses(service: Obj, family: Family, onNode?: string): string[] {
    const selector: Record<string, string> = service.spec?.selector ?? {}
    const families: string[] = service.spec?.ipFamilies ?? [service.spec?.ipFamily ?? this.sim.serviceIps.primary]
    if (!families.includes(family === 'ipv4' ? 'IPv4' : 'IPv6')) return []
    return this.sim.store.list(this.sim.type('v1', 'Pod'), service.metadata.namespace)
      .filter((p) => isReady(p) && (!onNode || p.spec?.nodeName === onNode) && Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v))
      .flatMap((p) => podIps(p).filter((a) => addressFamily(a) === family))
  }

  /** Cluster DNS: <svc>.<ns>[.svc[.cluster.local]] to ClusterIPs of a family. */
  resolve(name: string, namespace: string, family: Family): string[] {
    const parts = name.replace(/\.$/, '').split('.')
    const svcName = parts[0]!
    const ns = parts.length >= 2 ? parts[1]! : namespace
    const svc = this.sim.store.get(this.sim.type('v1', 'Service'), ns, svcName)
    if (svc) {
      const ips: string[] = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])
      return ips.filter((ip) => ip !== 'None' && addressFamily(ip) === family)
    }
    const external = (this.sim.scenario.external ?? []).filter((e) => e.name === name && addressFamily(e.address) === family)
    return external.map((e) => e.address)
  }
}
