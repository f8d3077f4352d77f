// Address allocation: Service ClusterIPs as kube-apiserver does it (pkg/registry/core/service/storage/alloc.go),
// and pod IPs from Calico pools (or the nodes' podCIDRs when there is no Calico).
import {addressFamily, addressOffset, cidrContains, cidrSize, nthAddress, parseCidr, type Family} from '../../src/net/ip.js'
import type {ResourceType} from './resources.js'
import {errors} from './status.js'
import type {Obj} from './store.js'

export type IPFamilyName = 'IPv4' | 'IPv6'
const FAMILY_NAME: Record<Family, IPFamilyName> = {ipv4: 'IPv4', ipv6: 'IPv6'}

export function familyName(family: Family): IPFamilyName {
  return FAMILY_NAME[family]
}

/** Hands out addresses of one CIDR in order, skipping the network address, as a deterministic stand-in for the apiserver's random bitmap. */
export class RangeAllocator {
  private readonly used = new Set<string>()
  private next = 1n
  readonly size: bigint

  constructor(readonly cidr: string, reserved: bigint[] = []) {
    this.size = cidrSize(cidr)
    for (const offset of reserved) this.used.add(nthAddress(cidr, offset))
  }

  allocateNext(dryRun: boolean): string {
    for (let tries = 0n; tries < this.size; tries++) {
      const offset = this.next
      this.next = this.next + 1n >= this.size ? 1n : this.next + 1n
      const ip = nthAddress(this.cidr, offset)
      if (!this.used.has(ip)) {
        if (!dryRun) this.used.add(ip)
        else this.next = offset
        return ip
      }
    }
    throw new Error(`range is full`)
  }

  allocate(ip: string, dryRun: boolean): void {
    const offset = addressOffset(this.cidr, ip)
    if (offset === undefined || offset === 0n || offset === this.size - 1n) {
      throw new Error(`the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr}`)
    }
    const canonical = nthAddress(this.cidr, offset)
    if (this.used.has(canonical)) throw new Error('provided IP is already allocated')
    if (!dryRun) this.used.add(canonical)
  }

  release(ip: string): void {
    const offset = addressOffset(this.cidr, ip)
    if (offset !== undefined) this.used.delete(nthAddress(this.cidr, offset))
  }

  contains(ip: string): boolean {
    return cidrContains(this.cidr, ip)
  }
}

/** NodePorts as kube-apiserver hands them out: from --service-node-port-range (default 30000-32767), each once. */
export class NodePortAllocator {
  private readonly used = new Set<number>()
  private next: number

  constructor(readonly low = 30000, readonly high = 32767) {
    this.next = low
  }

  allocateNext(dryRun: boolean): number {
    for (let tries = 0; tries <= this.high - this.low; tries++) {
      const port = this.next
      this.next = port >= this.high ? this.low : port + 1
      if (this.used.has(port)) continue
      if (dryRun) this.next = port
      else this.used.add(port)
      return port
    }
    throw new Error('range is full')
  }

  /** Throws the apiserver's detail for a port out of range or taken. */
  allocate(port: number, dryRun: boolean): void {
    if (port < this.low || port > this.high) throw new Error(`provided port is not in the valid range. The range of valid ports is ${this.low}-${this.high}`)
    if (this.used.has(port)) throw new Error('provided port is already allocated')
    if (!dryRun) this.used.add(port)
  }

  release(port: number): void {
    this.used.delete(port)
  }
}

export class ServiceIpAllocators {
  readonly byFamily = new Map<IPFamilyName, RangeAllocator>()
  readonly primary: IPFamilyName
  readonly nodePorts = new NodePortAllocator()

  constructor(serviceCidrs: string[]) {
    for (const cidr of serviceCidrs) {
      const parsed = parseCidr(cidr)
      if (!parsed) throw new Error(`bad service CIDR ${cidr}`)
      // The first address of the primary range belongs to the `kubernetes` Service.
      this.byFamily.set(familyName(parsed.family), new RangeAllocator(parsed.text))
    }
    const first = parseCidr(serviceCidrs[0] ?? '')
    if (!first) throw new Error('a cluster needs at least one service CIDR')
    this.primary = familyName(first.family)
  }

  get dualStack(): boolean {
    return this.byFamily.size === 2
  }

  /** Allocates ClusterIPs for a Service being created, mutating its spec as the apiserver does. */
  allocateForCreate(svcType: ResourceType, svc: Obj, dryRun: boolean, legacyIpFamily: boolean): void {
    const spec = (svc.spec ??= {})
    const name = svc.metadata.name
    if (spec.type === 'ExternalName') return
    if (legacyIpFamily) {
      this.allocateLegacy(svcType, svc, dryRun)
      return this.allocateNodePorts(svcType, svc, dryRun)
    }
    if (spec.clusterIP && !spec.clusterIPs) spec.clusterIPs = [spec.clusterIP]
    const causes: Array<{field: string; value: unknown; detail: string}> = []
    const policies = ['SingleStack', 'PreferDualStack', 'RequireDualStack']
    if (spec.ipFamilyPolicy !== undefined && !policies.includes(spec.ipFamilyPolicy)) {
      causes.push({field: 'spec.ipFamilyPolicy', value: spec.ipFamilyPolicy, detail: `supported values: "PreferDualStack", "RequireDualStack", "SingleStack"`})
    }
    for (const [i, fam] of (spec.ipFamilies ?? []).entries()) {
      if (fam !== 'IPv4' && fam !== 'IPv6') causes.push({field: `spec.ipFamilies[${i}]`, value: fam, detail: 'supported values: "IPv4", "IPv6"'})
    }
    for (const [i, ip] of (spec.clusterIPs ?? []).entries()) {
      if (ip !== 'None' && ip !== '' && !addressFamily(ip)) causes.push({field: `spec.clusterIPs[${i}]`, value: ip, detail: 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'})
    }
    if (causes.length > 0) throw errors.invalid(svcType, name, causes)

    if (spec.ipFamilyPolicy === undefined) {
      spec.ipFamilyPolicy = spec.clusterIP === 'None' && !spec.selector ? 'RequireDualStack' : 'SingleStack'
    }
    if (spec.ipFamilyPolicy === 'SingleStack') {
      if (spec.clusterIPs?.length === 2) causes.push({field: 'spec.ipFamilyPolicy', value: spec.ipFamilyPolicy, detail: "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"})
      if (spec.ipFamilies?.length === 2) causes.push({field: 'spec.ipFamilyPolicy', value: spec.ipFamilyPolicy, detail: "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"})
    }
    spec.ipFamilies ??= []
    for (const [i, ip] of (spec.clusterIPs ?? []).entries()) {
      if (ip === 'None') break
      if (!ip) continue
      const fam = familyName(addressFamily(ip)!)
      if (i >= spec.ipFamilies.length) {
        if (!this.byFamily.has(fam)) causes.push({field: `spec.clusterIPs[${i}]`, value: spec.clusterIPs, detail: `${fam} is not configured on this cluster`})
        else spec.ipFamilies.push(fam)
      }
    }
    if (causes.length > 0) throw errors.invalid(svcType, name, causes)

    if (spec.clusterIP === 'None' && !spec.selector) {
      if (spec.ipFamilies.length === 0) spec.ipFamilies = [this.primary]
      if (spec.ipFamilies.length < 2 && spec.ipFamilyPolicy !== 'SingleStack') spec.ipFamilies.push(spec.ipFamilies[0] === 'IPv4' ? 'IPv6' : 'IPv4')
      spec.clusterIPs = ['None']
      return
    }
    if (spec.ipFamilyPolicy === 'RequireDualStack' && this.byFamily.size < 2) {
      causes.push({field: 'spec.ipFamilyPolicy', value: spec.ipFamilyPolicy, detail: 'this cluster is not configured for dual-stack services'})
    }
    for (const [i, fam] of spec.ipFamilies.entries()) {
      if (!this.byFamily.has(fam)) causes.push({field: `spec.ipFamilies[${i}]`, value: fam, detail: 'not configured on this cluster'})
    }
    if (causes.length > 0) throw errors.invalid(svcType, name, causes)
    if (spec.ipFamilies.length === 0) spec.ipFamilies = [this.primary]
    if (spec.ipFamilyPolicy !== 'SingleStack' && spec.ipFamilies.length === 1 && this.byFamily.size === 2) {
      spec.ipFamilies.push(spec.ipFamilies[0] === 'IPv4' ? 'IPv6' : 'IPv4')
    }
    if (spec.clusterIP === 'None') {
      spec.clusterIPs = ['None']
      return
    }
    const ips: string[] = spec.clusterIPs ?? []
    const allocated: Array<[RangeAllocator, string]> = []
    try {
      spec.ipFamilies.forEach((fam: IPFamilyName, i: number) => {
        const allocator = this.byFamily.get(fam)!
        const wanted = ips[i]
        if (wanted) {
          try {
            allocator.allocate(wanted, dryRun)
          } catch (error) {
            throw errors.invalid(svcType, name, [{field: 'spec.clusterIPs', value: ips, detail: `failed to allocate IP ${wanted}: ${(error as Error).message}`}])
          }
          allocated.push([allocator, wanted])
        } else {
          ips[i] = allocator.allocateNext(dryRun)
          allocated.push([allocator, ips[i]!])
        }
      })
    } catch (error) {
      if (!dryRun) for (const [allocator, ip] of allocated) allocator.release(ip)
      throw error
    }
    spec.clusterIPs = ips
    spec.clusterIP = ips[0]
    try {
      this.allocateNodePorts(svcType, svc, dryRun)
    } catch (error) {
      if (!dryRun) for (const [allocator, ip] of allocated) allocator.release(ip)
      throw error
    }
  }

  /** A NodePort or LoadBalancer Service: a NodePort for each of its ports, the one asked for or the next free. */
  private allocateNodePorts(svcType: ResourceType, svc: Obj, dryRun: boolean): void {
    if (svc.spec.type !== 'NodePort' && svc.spec.type !== 'LoadBalancer') return
    const ports: Array<{nodePort?: number}> = svc.spec.ports ?? []
    const taken: number[] = []
    try {
      for (const [i, port] of ports.entries()) {
        if (port.nodePort) {
          try {
            this.nodePorts.allocate(port.nodePort, dryRun)
          } catch (error) {
            throw errors.invalid(svcType, svc.metadata.name, [{field: `spec.ports[${i}].nodePort`, value: port.nodePort, detail: (error as Error).message}])
          }
        } else {
          port.nodePort = this.nodePorts.allocateNext(dryRun)
        }
        taken.push(port.nodePort)
      }
    } catch (error) {
      if (!dryRun) for (const port of taken) this.nodePorts.release(port)
      throw error
    }
  }

  /** Kubernetes 1.16-1.19 (IPv6DualStack alpha): one ClusterIP, family chosen by spec.ipFamily. */
  private allocateLegacy(svcType: ResourceType, svc: Obj, dryRun: boolean): void {
    const spec = svc.spec
    const fam: IPFamilyName = spec.ipFamily ?? this.primary
    const allocator = this.byFamily.get(fam)
    if (!allocator) {
      const allowed = [...this.byFamily.keys()].join(', ')
      throw errors.invalid(svcType, svc.metadata.name, [{field: 'spec.ipFamily', value: fam, detail: `only the following families are allowed: ${allowed}`}])
    }
    spec.ipFamily = fam
    if (spec.clusterIP === 'None') return
    if (spec.clusterIP) allocator.allocate(spec.clusterIP, dryRun)
    else spec.clusterIP = allocator.allocateNext(dryRun)
  }

  /**
   * An update of a Service's families, as the apiserver does it (alloc.go initIPFamilyFields and allocUpdate):
   * SingleStack -> PreferDualStack/RequireDualStack gains the other family and a ClusterIP of it; back to
   * SingleStack with its fields unchanged (or trimmed to the first) drops the second, whose address is freed
   * once the write is stored (`stored` writes it). The primary family and ClusterIP do not change.
   */
  updateFor<T>(svcType: ResourceType, current: Obj, svc: Obj, dryRun: boolean, stored: () => T): T {
    const spec = svc.spec
    const before = current.spec ?? {}
    const name = svc.metadata.name
    if (spec.type === 'ExternalName' || before.type === 'ExternalName' || spec.ipFamily !== undefined) return stored()
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? []) === JSON.stringify(b ?? [])
    const invalid = (field: string, value: unknown, detail: string) => errors.invalid(svcType, name, [{field, value, detail}])
    if (spec.ipFamilyPolicy === 'SingleStack') {
      if (same(spec.clusterIPs, before.clusterIPs) && spec.clusterIPs?.length > 1) spec.clusterIPs = spec.clusterIPs.slice(0, 1)
      if (same(spec.ipFamilies, before.ipFamilies) && spec.ipFamilies?.length > 1) spec.ipFamilies = spec.ipFamilies.slice(0, 1)
      if (spec.ipFamilies?.length > 1 || spec.clusterIPs?.length > 1) throw invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified")
    } else if ((spec.clusterIPs?.length ?? 0) < (before.clusterIPs?.length ?? 0) || (spec.ipFamilies?.length ?? 0) < (before.ipFamilies?.length ?? 0)) {
      throw invalid('spec.ipFamilies', spec.ipFamilies, 'may not be reduced unless ipFamilyPolicy is SingleStack')
    }
    if (before.ipFamilies?.[0] && spec.ipFamilies?.[0] !== before.ipFamilies[0]) throw invalid('spec.ipFamilies[0]', spec.ipFamilies?.[0], 'may not change once set')
    if (spec.ipFamilyPolicy === 'RequireDualStack' && !this.dualStack) throw invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy, 'this cluster is not configured for dual-stack services')
    const families: IPFamilyName[] = spec.ipFamilies ?? []
    if (spec.ipFamilyPolicy !== 'SingleStack' && families.length === 1 && this.dualStack) spec.ipFamilies = [...families, families[0] === 'IPv4' ? 'IPv6' : 'IPv4']
    const allocated: Array<[RangeAllocator, string]> = []
    if (spec.clusterIP !== 'None' && spec.clusterIPs?.length > 0) {
      spec.clusterIPs = [...spec.clusterIPs]
      for (let i = spec.clusterIPs.length; i < spec.ipFamilies.length; i++) {
        const allocator = this.byFamily.get(spec.ipFamilies[i])!
        const ip = allocator.allocateNext(dryRun)
        spec.clusterIPs.push(ip)
        allocated.push([allocator, ip])
      }
    }
    let result: T
    try {
      result = stored()
    } catch (error) {
      if (!dryRun) for (const [allocator, ip] of allocated) allocator.release(ip)
      throw error
    }
    const kept = new Set<string>(spec.clusterIPs ?? [])
    if (!dryRun) this.release({...current, spec: {...before, clusterIPs: ((before.clusterIPs ?? []) as string[]).filter((ip) => !kept.has(ip))}})
    return result
  }

  release(svc: Obj): void {
    for (const port of (svc.spec?.ports as Array<{nodePort?: number}> | undefined) ?? []) if (port.nodePort) this.nodePorts.release(port.nodePort)
    for (const ip of (svc.spec?.clusterIPs as string[] | undefined) ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])) {
      if (ip === 'None') continue
      const fam = addressFamily(ip)
      if (fam) this.byFamily.get(familyName(fam))?.release(ip)
    }
  }
}
