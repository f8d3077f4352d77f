// Reachability in the simulated cluster: which packets arrive, by family. IPv6 pod traffic needs
// net.ipv6.conf.all.forwarding=1 on the nodes it crosses; a node's firewall (NodeSpec.firewall) drops what
// crosses to or from other nodes; reaching outside needs NAT outgoing on the source pod's pool; a ClusterIP
// forwards to a ready endpoint of its family, a NodePort on a node's address too (kube-proxy's
// --nodeport-addresses permitting); UDP reaches a pod listening on the port; a full-size packet across a node
// narrower than 1500 bytes is lost (mtu), and so is a pod's packet to itself through a Service on a node
// without hairpin mode.
import {addressFamily, cidrContains, parseAddress, type Family} from '../../src/net/ip.js'
import type {SimCluster} from './cluster.js'
import {isReady} from './controllers.js'
import type {Obj} from './store.js'

export type Failure = {ok: false; why: 'no-route' | 'timeout' | 'refused'; detail: string}

export type Outcome =
  | {ok: true; node?: string; pod?: Obj; external?: boolean; rttMs: number}
  | Failure

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
      // The node's own host sending to a pod on it originates the packet: nothing is forwarded.
      const fromItsHost = !srcOnPodNetwork && srcNode === dstNode
      if (!fromItsHost && !this.forwarding(dstNode, family)) return {ok: false, why: 'timeout', detail: `node ${dstNode} does not forward ${family} (sysctl forwarding is 0)`}
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

  /** The largest packet to and from a node (1500 unless the scenario narrows it). */
  private mtu(node: string, family: Family): number {
    const mtu = this.sim.nodeSpec(node)?.mtu
    return (typeof mtu === 'number' ? mtu : mtu?.[family]) ?? 1500
  }

  /**
   * Why a transfer with `bytes` in one direction between two nodes is lost: its fullest packet (a TCP segment
   * of the pods' 1500-byte MTU) does not fit a narrower path, and PMTU discovery does not help (ICMP lost).
   */
  private blackHole(srcNode: string | undefined, dstNode: string | undefined, family: Family, bytes: number): string | undefined {
    if (!srcNode || !dstNode || srcNode === dstNode) return undefined
    const path = Math.min(this.mtu(srcNode, family), this.mtu(dstNode, family))
    const header = family === 'ipv6' ? 60 : 40
    const packet = Math.min(bytes, 1500 - header) + header
    return packet > path ? `a ${packet}-byte packet does not fit the ${path}-byte path between ${srcNode} and ${dstNode}` : undefined
  }

  /** The Service behind a NodePort on a node's address, and kube-proxy's refusal when it serves no NodePort there. */
  private nodePort(node: string, ip: string, port: number, protocol: 'TCP' | 'UDP'): {service: Obj; svcPort: {port: number; targetPort?: number | string}} | Failure | undefined {
    for (const service of this.sim.store.list(this.sim.type('v1', 'Service'))) {
      if (service.spec?.type !== 'NodePort' && service.spec?.type !== 'LoadBalancer') continue
      const svcPort = (service.spec?.ports ?? []).find((p: {nodePort?: number; protocol?: string}) => p.nodePort === port && (p.protocol ?? 'TCP') === protocol)
      if (!svcPort) continue
      const allowed = this.sim.nodeSpec(node)?.nodePortAddresses
      if (allowed && !allowed.some((cidr) => cidrContains(cidr, ip))) {
        return {ok: false, why: 'refused', detail: `kube-proxy on ${node} serves NodePorts on ${allowed.join(', ')} only (--nodeport-addresses)`}
      }
      return {service, svcPort}
    }
    return undefined
  }

  /**
   * Where a packet to ip:port goes: through a ClusterIP, or a NodePort on a node's address, to an endpoint of
   * its family (internalTrafficPolicy Local: on the sender's node; externalTrafficPolicy Local: on the node
   * addressed); else to the address itself.
   */
  private route(src: Obj, ip: string, port: number, protocol: 'TCP' | 'UDP'): {target: string; targetPort: number; service?: Obj} | Failure {
    const owner = this.sim.ownerOfAddress(parseAddress(ip)?.text ?? ip)
    const family = addressFamily(ip)
    if (!family) return {ok: false, why: 'no-route', detail: `bad address ${ip}`}
    let service: Obj | undefined
    let svcPort: {port: number; targetPort?: number | string} | undefined
    let onNode: string | undefined
    let local = false
    if (owner?.kind === 'service') {
      service = owner.service
      svcPort = (service.spec?.ports ?? []).find((p: {port: number; protocol?: string}) => p.port === port && (p.protocol ?? 'TCP') === protocol)
      if (!svcPort) return {ok: false, why: 'refused', detail: `no Service port ${port}/${protocol}`}
      // internalTrafficPolicy Local: kube-proxy sends the packet only to endpoints on the sender's own node.
      local = service.spec?.internalTrafficPolicy === 'Local'
      onNode = local ? src.spec?.nodeName : undefined
    } else if (owner?.kind === 'node') {
      const found = this.nodePort(owner.node, ip, port, protocol)
      if (found && 'ok' in found) return found
      if (found) {
        const toNode = this.reach(src, ip)
        if (!toNode.ok) return toNode
        ;({service, svcPort} = found)
        local = service.spec?.externalTrafficPolicy === 'Local'
        onNode = local ? owner.node : undefined
      }
    }
    if (!service || !svcPort) return {target: ip, targetPort: port}
    // A Service of the other family only has no rule for this one: the node's own stack answers, nothing listens.
    const families: string[] = service.spec?.ipFamilies ?? [service.spec?.ipFamily ?? this.sim.serviceIps.primary]
    if (owner?.kind === 'node' && !families.includes(family === 'ipv4' ? 'IPv4' : 'IPv6')) return {ok: false, why: 'refused', detail: `the Service has no ${family} NodePort`}
    const backends = this.endpointAddresses(service, family, onNode)
    if (backends.length === 0) return {ok: false, why: local ? 'timeout' : 'refused', detail: `no ${family} endpoints${local ? ' on this node' : ''}`}
    return {target: backends[0]!, targetPort: typeof svcPort.targetPort === 'number' ? svcPort.targetPort : svcPort.port, service}
  }

  /** Whether the pod listens on port/protocol (a declared containerPort). */
  private listens(pod: Obj, port: number, protocol: 'TCP' | 'UDP'): boolean {
    return (pod.spec?.containers ?? []).some((c: {ports?: Array<{containerPort: number; protocol?: string}>}) =>
      (c.ports ?? []).some((p) => p.containerPort === port && (p.protocol ?? 'TCP') === protocol))
  }

  /** A pod's packet back to itself through a Service, on a node without hairpin mode, is lost. */
  private hairpinDropped(src: Obj, pod: Obj, service: Obj | undefined): Failure | undefined {
    if (!service || pod.metadata.uid !== src.metadata.uid || this.sim.nodeSpec(pod.spec?.nodeName)?.hairpin !== false) return undefined
    return {ok: false, why: 'timeout', detail: `hairpin traffic is dropped on ${pod.spec?.nodeName}`}
  }

  /**
   * An HTTP request from `src` to ip:port (path as a curl would send it): through a ClusterIP or NodePort to an
   * endpoint, or to a pod directly. agnhost netexec's paths answer as it does: /hostname its pod's name, /echo
   * its msg; any other the pod's page.
   */
  http(src: Obj, ip: string, port: number, path = '/'): {ok: true; status: number; body: string; rttMs: number} | Failure {
    const routed = this.route(src, ip, port, 'TCP')
    if ('ok' in routed) return routed
    const reached = this.reach(src, routed.target)
    if (!reached.ok) return reached
    if (reached.external) return {ok: true, status: 200, body: '<html>outside</html>\n', rttMs: reached.rttMs}
    const pod = reached.pod
    if (!pod || !this.listens(pod, routed.targetPort, 'TCP')) return {ok: false, why: 'refused', detail: 'Connection refused'}
    const dropped = this.hairpinDropped(src, pod, routed.service)
    if (dropped) return dropped
    const echo = /^\/echo\?(?:.*&)?msg=([^&]*)/.exec(path)
    const body = path.startsWith('/hostname') ? pod.metadata.name : echo ? decodeURIComponent(echo[1]!) : pod.metadata.annotations?.['sim.dualstack.dev/http-body'] ??
      `<!DOCTYPE html>\n<html>\n<head><title>Hello Kubernetes!</title></head>\n<body><div id="message">Hello world!</div><table><tr><th>pod:</th><td>${pod.metadata.name}</td></tr></table></body>\n</html>\n`
    // The request line carries the path; what crosses the nodes in one direction is the larger of it and the answer.
    const lost = this.blackHole(src.spec?.nodeName, pod.spec?.nodeName, addressFamily(routed.target)!, Math.max(path.length + 100, body.length + 150))
    if (lost) return {ok: false, why: 'timeout', detail: lost}
    return {ok: true, status: 200, body, rttMs: reached.rttMs}
  }

  /**
   * A UDP datagram from `src` to ip:port, answered as agnhost netexec's UDP server answers: "hostname" with its
   * pod's name, "echo MSG" with MSG, "clientip" with the sender's address.
   */
  udp(src: Obj, ip: string, port: number, message: string): {ok: true; reply: string; rttMs: number} | Failure {
    const routed = this.route(src, ip, port, 'UDP')
    if ('ok' in routed) return routed
    const reached = this.reach(src, routed.target)
    if (!reached.ok) return reached
    const pod = reached.pod
    if (!pod || !this.listens(pod, routed.targetPort, 'UDP')) return {ok: false, why: 'refused', detail: 'Connection refused'}
    const family = addressFamily(routed.target)!
    for (const node of new Set([src.spec?.nodeName, pod.spec?.nodeName])) {
      if (this.sim.nodeSpec(node)?.udpDropped?.includes(family)) return {ok: false, why: 'timeout', detail: `UDP over ${family} is dropped on ${node}`}
    }
    const dropped = this.hairpinDropped(src, pod, routed.service)
    if (dropped) return dropped
    const lost = this.blackHole(src.spec?.nodeName, pod.spec?.nodeName, family, message.length + 8)
    if (lost) return {ok: false, why: 'timeout', detail: lost}
    const command = message.trim()
    const reply = command === 'hostname' ? pod.metadata.name : command.startsWith('echo ') ? command.slice(5)
      : command === 'clientip' ? `${this.sourceAddresses(src).find((a) => addressFamily(a) === family) ?? ''}:40000` : ''
    return {ok: true, reply, rttMs: reached.rttMs}
  }

  private endpointAddresses(service: Obj, family: Family, onNode?: string): string[] {
    const families: string[] = service.spec?.ipFamilies ?? [service.spec?.ipFamily ?? this.sim.serviceIps.primary]
    if (!families.includes(family === 'ipv4' ? 'IPv4' : 'IPv6')) return []
    return endpointsOf(this.sim, service).filter((e) => !onNode || e.node === onNode).flatMap((e) => e.ips.filter((a) => addressFamily(a) === family))
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

/**
 * A Service's ready endpoints (node and addresses), computed once per store version: a big run sends tens of
 * thousands of requests through a few Services, each of which would otherwise scan every pod.
 */
const endpointCache = new WeakMap<SimCluster, {rv: number; byService: Map<string, Array<{node: string; ips: string[]}>>}>()

function endpointsOf(sim: SimCluster, service: Obj): Array<{node: string; ips: string[]}> {
  let cache = endpointCache.get(sim)
  if (cache?.rv !== sim.store.resourceVersion) endpointCache.set(sim, (cache = {rv: sim.store.resourceVersion, byService: new Map()}))
  const key = `${service.metadata.namespace}/${service.metadata.name}/${service.metadata.uid ?? ''}`
  let endpoints = cache.byService.get(key)
  if (!endpoints) {
    const selector: Record<string, string> = service.spec?.selector ?? {}
    endpoints = sim.store.list(sim.type('v1', 'Pod'), service.metadata.namespace)
      .filter((p) => isReady(p) && Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v))
      .map((p) => ({node: p.spec?.nodeName, ips: podIps(p)}))
    cache.byService.set(key, endpoints)
  }
  return endpoints
}
