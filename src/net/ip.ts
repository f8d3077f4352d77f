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
 * Whether a range is private: RFC 1918 for IPv4, unique local fc00::/7 (RFC 4193) for IPv6. For others,
 * what the range is, for the message (2001::/32 is Teredo, RFC 4380).
 */
export function privateRange(cidr: string): {private: boolean; what?: string} {
  const net = parseCidr(cidr)
  if (!net) return {private: true}
  if (net.family === 'ipv4') return PRIVATE_V4.some((p) => cidrWithin(net.text, p)) ? {private: true} : {private: false, what: 'public IPv4 space'}
  if (cidrWithin(net.text, 'fc00::/7')) return {private: true}
  if (cidrWithin(net.text, '2001::/32')) return {private: false, what: 'inside 2001::/32, the Teredo prefix'}
  return {private: false, what: 'global IPv6 space'}
}
