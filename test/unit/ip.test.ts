import {addressFamily, cidrContains, cidrSize, isUniqueLocal, nthAddress, parseAddress, parseCidr, rangeConcern} from '../../src/net/ip.js'
import {kubeadmLegacyIpv6NodeMask} from '../../src/k8s/defaults.js'

describe('parseAddress', () => {
  it.each([
    ['10.0.0.1', 'ipv4', '10.0.0.1'],
    ['2001:0:0:2::17:c2fb', 'ipv6', '2001::2:0:0:17:c2fb'],
    ['2001:0000:0000:0003:0000:0000:0000:4630', 'ipv6', '2001:0:0:3::4630'],
    ['::ffff:10.1.2.3', 'ipv4', '10.1.2.3'],
    ['FD00::1', 'ipv6', 'fd00::1'],
  ])('%s is %s, written %s', (text, family, canonical) => {
    expect(parseAddress(text)).toEqual({family, text: canonical})
  })

  it.each(['', 'abc', '10.0.0.256', '10.0.0.0/8', '1::2::3', '010.0.0.1'])('rejects %p', (text) => {
    expect(parseAddress(text)).toBeUndefined()
  })

  it('classifies families without string tests', () => {
    expect(addressFamily('3.2.184.119')).toBe('ipv4')
    expect(addressFamily('2001::2:0:0:17:c2fb')).toBe('ipv6')
  })
})

describe('CIDRs', () => {
  it('normalises and notices host bits', () => {
    expect(parseCidr('2001:0:0:2::/104')).toEqual({family: 'ipv6', prefix: 104, text: '2001:0:0:2::/104', hadHostBits: false})
    expect(parseCidr('10.1.2.3/16')).toMatchObject({text: '10.1.0.0/16', hadHostBits: true})
    expect(parseCidr('10.0.0.0/33')).toBeUndefined()
    expect(parseCidr('fd00::/129')).toBeUndefined()
    expect(parseCidr('10.0.0.0')).toBeUndefined()
  })

  it('tests containment by family', () => {
    expect(cidrContains('2001:0:0:2::/104', '2001::2:0:0:17:c2fb')).toBe(true)
    expect(cidrContains('2001:0:0:1::/104', '2001::2:0:0:17:c2fb')).toBe(false)
    expect(cidrContains('3.2.0.0/16', '3.2.184.119')).toBe(true)
    expect(cidrContains('3.2.0.0/16', '2001::1')).toBe(false)
  })

  it('counts and indexes addresses', () => {
    expect(cidrSize('10.0.0.0/24')).toBe(256n)
    expect(cidrSize('fd00::/64')).toBe(1n << 64n)
    expect(nthAddress('2001:0:0:3::/112', 0x4630n)).toBe('2001:0:0:3::4630')
    expect(nthAddress('3.3.0.0/16', 1n)).toBe('3.3.0.1')
  })
})

describe('ranges for a cluster', () => {
  it.each([
    ['10.244.0.0/16', undefined],
    ['3.2.0.0/16', 'public IPv4 space'],
    ['fd00:10:244::/56', undefined],
    ['2a01:4f8:c0c:1::/64', undefined],
    ['2001:db8:1::/64', 'inside the documentation prefix 2001:db8::/32 (RFC 3849)'],
    ['2001:0:0:2::/104', 'inside the Teredo prefix 2001::/32 (RFC 4380)'],
    ['2002:a::/56', 'inside the 6to4 prefix 2002::/16 (RFC 3056)'],
    ['2001:2::/64', 'inside the benchmarking prefix 2001:2::/48 (RFC 5180)'],
    ['2001:20::/32', 'inside the ORCHIDv2 prefix 2001:20::/28 (RFC 7343)'],
    ['fe80::/64', 'inside link-local space fe80::/10'],
    ['ff05::/64', 'inside multicast space ff00::/8'],
    ['2000::/3', 'overlaps the documentation prefix 2001:db8::/32 (RFC 3849)'],
    ['4000::/64', 'outside both global unicast (2000::/3) and unique local (fc00::/7) space'],
  ])('%s: %s', (cidr, concern) => {
    expect(rangeConcern(cidr)).toBe(concern)
  })
  it('unique local is fc00::/7 only', () => {
    expect([isUniqueLocal('fd00:10:244::/56'), isUniqueLocal('fc00::/7'), isUniqueLocal('2001:db8::/32'), isUniqueLocal('10.0.0.0/8')]).toEqual([true, true, false, false])
  })
})

describe("kubeadm's IPv6 node mask before 1.21 (calcNodeCidrSize)", () => {
  it.each([[112, 120], [104, 120], [64, 80], [56, 72], [48, 64], [120, 120]])('a /%i pod subnet gets /%i', (pod, node) => {
    expect(kubeadmLegacyIpv6NodeMask(pod)).toBe(node)
  })
})
