// Rules of Calico IP pools, shared by doctor (pools in the cluster) and lint (pools in config files).
import type {ParsedCidr} from '../net/ip.js'

// Calico's IPPool validation (docs.tigera.io/calico/latest/reference/resources/ippool): blockSize 20-32
// for IPv4 and 116-128 for IPv6, and no larger than the pool.
const BLOCK_SIZE_RANGE = {ipv4: [20, 32], ipv6: [116, 128]} as const
export const DEFAULT_BLOCK_SIZE = {ipv4: 26, ipv6: 122} as const

/** What is wrong with a block size for a pool, or undefined when it is valid. */
export function blockSizeProblem(pool: ParsedCidr, blockSize: number): string | undefined {
  const [min, max] = BLOCK_SIZE_RANGE[pool.family]
  if (!Number.isInteger(blockSize) || blockSize < min || blockSize > max) return `block size ${blockSize} is outside ${min}-${max} for ${pool.family === 'ipv4' ? 'IPv4' : 'IPv6'}`
  if (blockSize < pool.prefix) return `block size /${blockSize} is larger than the pool ${pool.text}`
  return undefined
}
