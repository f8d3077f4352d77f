// All address and CIDR math goes through ip-address; the rest of the code never parses addresses itself.
import {Address4, Address6} from 'ip-address'

export type Family = 'ipv4' | 'ipv6'

export interface ParsedAddress {
  family: Family
  /** Canonical text: dotted quad, or RFC 5952 compressed IPv6. */
  text: string
}

function tryV4(text: string): Address4 | undefined {
  try {
    return new Address4(text)
  } catch {
    return undefined
  }
}

function tryV6(text: string): Address6 | undefined {
  try {
    return new Address6(text)
  } catch {
    return undefined
  }
}

/** Parses a single address (no prefix). IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as IPv4, as Kubernetes treats it. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const trimmed = text.trim()
  if (trimmed.includes('/')) return undefined
  // Only an IPv6 text has a colon: trying the other family first would throw (slowly) for half of all input.
  if (!trimmed.includes(':')) {
    const v4 = tryV4(trimmed)
    return v4 ? {family: 'ipv4', text: v4.correctForm()} : undefined
  }
  const v6 = tryV6(trimmed)
  if (!v6) return undefined
  if (v6.is4()) return {family: 'ipv4', text: v6.to4().correctForm()}
  return {family: 'ipv6', text: v6.correctForm()}
}

export function addressFamily(text: string): Family | undefined {
  return parseAddress(text)?.family
}

export interface ParsedCidr {
  family: Family
  /** Canonical network form, e.g. 10.0.0.0/16 or fd00::/48. */
  text: string
  prefix: number
  /** True when the text had host bits set (10.0.0.1/16): kube-apiserver rejects those. */
  hadHostBits: boolean
}

export function parseCidr(text: string): ParsedCidr | undefined {
  const trimmed = text.trim()
  const slash = trimmed.indexOf('/')
  if (slash < 0) return undefined
  const prefixText = trimmed.slice(slash + 1)
  if (!/^\d{1,3}$/.test(prefixText)) return undefined
  const v4 = trimmed.includes(':') ? undefined : tryV4(trimmed)
  if (v4) {
    const network = v4.startAddress().correctForm()
    return {family: 'ipv4', prefix: v4.subnetMask, text: `${network}/${v4.subnetMask}`, hadHostBits: network !== new Address4(trimmed.slice(0, slash)).correctForm()}
  }
  const v6 = tryV6(trimmed)
  if (!v6 || v6.subnetMask > 128) return undefined
  const network = v6.startAddress().correctForm()
  return {family: 'ipv6', prefix: v6.subnetMask, text: `${network}/${v6.subnetMask}`, hadHostBits: network !== new Address6(trimmed.slice(0, slash)).correctForm()}
}

/** True when `address` lies inside `cidr` (same family only). */
export function cidrContains(cidr: string, address: string): boolean {
  const net = parseCidr(cidr)
  const addr = parseAddress(address)
  if (!net || !addr || net.family !== addr.family) return false
  if (net.family === 'ipv4') return new Address4(addr.text).isInSubnet(new Address4(net.text))
  return new Address6(addr.text).isInSubnet(new Address6(net.text))
}

/** Number of addresses in a CIDR, as a bigint (IPv6 ranges do not fit in a number). */
export function cidrSize(cidr: string): bigint {
  const net = parseCidr(cidr)
  if (!net) throw new Error(`not a CIDR: ${cidr}`)
  const bits = net.family === 'ipv4' ? 32 : 128
  return 1n << BigInt(bits - net.prefix)
}

/** The n-th address of a CIDR (0 = network address). */
export function nthAddress(cidr: string, n: bigint): string {
  const net = parseCidr(cidr)
  if (!net) throw new Error(`not a CIDR: ${cidr}`)
  if (net.family === 'ipv4') {
    const start = new Address4(net.text).startAddress().bigInt()
    return Address4.fromBigInt(start + n).correctForm()
  }
  const start = new Address6(net.text).startAddress().bigInt()
  return Address6.fromBigInt(start + n).correctForm()
}

/** Offset of `address` from the start of `cidr`, or undefined when it lies outside. */
export function addressOffset(cidr: string, address: string): bigint | undefined {
  if (!cidrContains(cidr, address)) return undefined
  const net = parseCidr(cidr)!
  const addr = parseAddress(address)!
  if (net.family === 'ipv4') return new Address4(addr.text).bigInt() - new Address4(net.text).startAddress().bigInt()
  return new Address6(addr.text).bigInt() - new Address6(net.text).startAddress().bigInt()
}

/** Two CIDRs of the same family share addresses when either contains the other's network address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a)
  const y = parseCidr(b)
  if (!x || !y || x.family !== y.family) return false
  const start = (c: ParsedCidr) => c.text.split('/')[0]!
  return cidrContains(x.text, start(y)) || cidrContains(y.text, start(x))
}

/** True when `inner` lies wholly inside `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const i = parseCidr(inner)
  const o = parseCidr(outer)
  return !!i && !!o && i.family === o.family && i.prefix >= o.prefix && cidrContains(o.text, i.text.split('/')[0]!)
}

const PRIVATE_V4 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']

/**
 * IPv6 blocks that are not for a cluster's pods or Services (IANA's special-purpose registry, RFC 6890 and
 * its updates), by name. Global unicast space assigned to the operator is fine, as Kubernetes' documentation
 * recommends it for IPv6; unique local (fc00::/7) is fine too.
 */
const SPECIAL_V6: ReadonlyArray<[string, string]> = [
  ['2001:db8::/32', 'the documentation prefix 2001:db8::/32 (RFC 3849)'],
  ['3fff::/20', 'the documentation prefix 3fff::/20 (RFC 9637)'],
  ['2001:2::/48', 'the benchmarking prefix 2001:2::/48 (RFC 5180)'],
  ['2001:10::/28', 'the deprecated ORCHID prefix 2001:10::/28 (RFC 4843)'],
  ['2001:20::/28', 'the ORCHIDv2 prefix 2001:20::/28 (RFC 7343)'],
  ['2001::/32', 'the Teredo prefix 2001::/32 (RFC 4380)'],
  ['2002::/16', 'the 6to4 prefix 2002::/16 (RFC 3056)'],
  ['64:ff9b::/96', 'the NAT64 prefix 64:ff9b::/96 (RFC 6052)'],
  ['100::/64', 'the discard-only prefix 100::/64 (RFC 6666)'],
  ['fe80::/10', 'link-local space fe80::/10'],
  ['ff00::/8', 'multicast space ff00::/8'],
  ['::ffff:0:0/96', 'IPv4-mapped space ::ffff:0:0/96'],
]

/**
 * What is wrong with using a range for pods or Services, if anything: IPv4 outside RFC 1918 is someone
 * else's; IPv6 in a special-purpose block is not routable as a cluster's, and IPv6 outside both global
 * unicast (2000::/3) and unique local (fc00::/7) is unassigned.
 */
export function rangeConcern(cidr: string): string | undefined {
  const net = parseCidr(cidr)
  if (!net) return undefined
  if (net.family === 'ipv4') return PRIVATE_V4.some((p) => cidrWithin(net.text, p)) ? undefined : 'public IPv4 space'
  const special = SPECIAL_V6.find(([block]) => cidrsOverlap(net.text, block))
  if (special) return `${cidrWithin(net.text, special[0]) ? 'inside' : 'overlaps'} ${special[1]}`
  if (cidrWithin(net.text, 'fc00::/7') || cidrWithin(net.text, '2000::/3')) return undefined
  return 'outside both global unicast (2000::/3) and unique local (fc00::/7) space'
}

/** A unique local IPv6 range (fc00::/7, RFC 4193): never routed on the internet. */
export function isUniqueLocal(cidr: string): boolean {
  const net = parseCidr(cidr)
  return net?.family === 'ipv6' && cidrWithin(net.text, 'fc00::/7')
}
