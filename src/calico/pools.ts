// Rules of Calico IP pools, shared by doctor (pools in the cluster) and lint (pools in config files).
import type {IPPoolObject, IPPoolSpec} from '../cluster/types.js'
import {cidrsOverlap, parseCidr, type Family, type ParsedCidr} from '../net/ip.js'
import {poolEnvName, type InstallationPool} from './install.js'

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

/** The spec fields that say how a pool behaves, in the order reports show them. */
export const POOL_FIELDS = ['cidr', 'blockSize', 'ipipMode', 'vxlanMode', 'natOutgoing', 'nodeSelector', 'disabled'] as const
export type PoolField = (typeof POOL_FIELDS)[number]

/** The pool calico-node writes at start-up, every field explicit. */
export interface DesiredPool {
  name: string
  spec: Required<Pick<IPPoolSpec, 'cidr' | 'blockSize' | 'ipipMode' | 'vxlanMode' | 'natOutgoing' | 'nodeSelector'>> & IPPoolSpec
  /** Where each field's value came from (env var and value, or its default), for the plan. */
  sources: Partial<Record<PoolField, string>>
}

/** Go's strconv.ParseBool, which calico-node's evaluateENVBool uses; anything else means the default. */
function goBool(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false
  return undefined
}

/** calico-node's createIPPool: "", off, never -> Never; crosssubnet, cross-subnet -> CrossSubnet; always -> Always. */
function encapsulationMode(text: string | undefined): string | undefined {
  const value = (text ?? '').toLowerCase()
  if (value === '' || value === 'off' || value === 'never') return 'Never'
  if (value === 'crosssubnet' || value === 'cross-subnet') return 'CrossSubnet'
  if (value === 'always') return 'Always'
  return undefined
}

/**
 * The default pool of a family exactly as calico-node creates it at start-up when none exists
 * (node/pkg/lifecycle/startup: configureIPPools + createIPPool): name default-ipvN-ippool, CIDR normalised,
 * block size 26/122, NAT outgoing true for IPv4 and false for IPv6, IPIP never on IPv6, node selector all().
 * `cidr` overrides the env's CIDR (--cidr). Returns what is wrong instead when calico-node would refuse to start.
 */
export function poolFromEnv(env: ReadonlyMap<string, {value?: string}>, family: Family, cidr?: string): DesiredPool | {problem: string} {
  const get = (setting: Parameters<typeof poolEnvName>[1]) => env.get(poolEnvName(family, setting))?.value
  const sources: DesiredPool['sources'] = {}
  const cidrText = cidr ?? get('CIDR')
  if (!cidrText) return {problem: `${poolEnvName(family, 'CIDR')} is not set on calico-node: pass --cidr`}
  const parsed = parseCidr(cidrText)
  if (!parsed || parsed.family !== family) return {problem: `${cidr ? '--cidr' : poolEnvName(family, 'CIDR')} "${cidrText}" is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} CIDR`}
  sources.cidr = cidr ? '--cidr' : `${poolEnvName(family, 'CIDR')}=${cidrText}`
  const blockText = get('BLOCK_SIZE')
  const blockSize = blockText === undefined || blockText === '' ? DEFAULT_BLOCK_SIZE[family] : Number(blockText)
  sources.blockSize = blockText ? `${poolEnvName(family, 'BLOCK_SIZE')}=${blockText}` : `default ${DEFAULT_BLOCK_SIZE[family]}`
  if (!Number.isInteger(blockSize)) return {problem: `${poolEnvName(family, 'BLOCK_SIZE')} "${blockText}" is not a number`}
  const ipipMode = family === 'ipv6' ? 'Never' : encapsulationMode(get('IPIP'))
  if (!ipipMode) return {problem: `${poolEnvName(family, 'IPIP')} "${get('IPIP')}" is not Always, CrossSubnet or Never`}
  sources.ipipMode = family === 'ipv6' ? 'always Never for IPv6' : get('IPIP') ? `${poolEnvName(family, 'IPIP')}=${get('IPIP')}` : 'default Never'
  const vxlanMode = encapsulationMode(get('VXLAN'))
  if (!vxlanMode) return {problem: `${poolEnvName(family, 'VXLAN')} "${get('VXLAN')}" is not Always, CrossSubnet or Never`}
  sources.vxlanMode = get('VXLAN') ? `${poolEnvName(family, 'VXLAN')}=${get('VXLAN')}` : 'default Never'
  const natDefault = family === 'ipv4'
  const natOutgoing = goBool(get('NAT_OUTGOING')) ?? natDefault
  sources.natOutgoing = goBool(get('NAT_OUTGOING')) === undefined ? `default ${natDefault}` : `${poolEnvName(family, 'NAT_OUTGOING')}=${get('NAT_OUTGOING')}`
  const nodeSelector = get('NODE_SELECTOR') || 'all()'
  sources.nodeSelector = get('NODE_SELECTOR') ? `${poolEnvName(family, 'NODE_SELECTOR')}=${get('NODE_SELECTOR')}` : 'default all()'
  const disableBGPExport = goBool(get('DISABLE_BGP_EXPORT')) ?? false
  const spec: DesiredPool['spec'] = {cidr: parsed.text, blockSize, ipipMode, vxlanMode, natOutgoing, nodeSelector, ...(disableBGPExport ? {disableBGPExport} : {})}
  return {name: `default-${family}-ippool`, spec, sources}
}

/** The operator's encapsulation (operator.tigera.io IPPool) as the IPPool's modes, as the operator converts it. */
const OPERATOR_ENCAPSULATION: Record<string, {ipipMode: string; vxlanMode: string}> = {
  IPIP: {ipipMode: 'Always', vxlanMode: 'Never'}, IPIPCrossSubnet: {ipipMode: 'CrossSubnet', vxlanMode: 'Never'},
  VXLAN: {ipipMode: 'Never', vxlanMode: 'Always'}, VXLANCrossSubnet: {ipipMode: 'Never', vxlanMode: 'CrossSubnet'}, None: {ipipMode: 'Never', vxlanMode: 'Never'},
}

/**
 * A pool exactly as the Tigera operator writes it from an Installation's pool (`field`, e.g.
 * spec.calicoNetwork.ipPools[1]): block size 26/122, encapsulation IPIP for IPv4 and None for IPv6, NAT outgoing
 * Enabled and node selector all() unless the Installation says otherwise.
 */
export function poolFromInstallation(pool: InstallationPool, field: string): DesiredPool | {problem: string} {
  const parsed = parseCidr(pool.cidr ?? '')
  if (!parsed) return {problem: `${field}.cidr "${pool.cidr ?? ''}" of the Installation "default" is not a CIDR`}
  const family = parsed.family
  const set = (name: string, value: unknown) => `${field}.${name}: ${String(value)}`
  const unset = (name: string, value: unknown) => `${field}.${name} unset, default ${String(value)}`
  const sources: DesiredPool['sources'] = {cidr: set('cidr', pool.cidr)}
  const blockSize = pool.blockSize ?? DEFAULT_BLOCK_SIZE[family]
  sources.blockSize = pool.blockSize === undefined ? unset('blockSize', blockSize) : set('blockSize', blockSize)
  const encapsulation = pool.encapsulation ?? (family === 'ipv4' ? 'IPIP' : 'None')
  const modes = OPERATOR_ENCAPSULATION[encapsulation]
  if (!modes) return {problem: `${field}.encapsulation "${encapsulation}" of the Installation "default" is not IPIP, IPIPCrossSubnet, VXLAN, VXLANCrossSubnet or None`}
  sources.ipipMode = sources.vxlanMode = pool.encapsulation === undefined ? unset('encapsulation', encapsulation) : set('encapsulation', encapsulation)
  const nat = pool.natOutgoing ?? 'Enabled'
  sources.natOutgoing = pool.natOutgoing === undefined ? unset('natOutgoing', nat) : set('natOutgoing', nat)
  const nodeSelector = pool.nodeSelector || 'all()'
  sources.nodeSelector = pool.nodeSelector ? set('nodeSelector', nodeSelector) : unset('nodeSelector', nodeSelector)
  sources.disabled = 'the operator keeps its pools enabled'
  return {name: pool.name || `default-${family}-ippool`, sources,
    spec: {cidr: parsed.text, blockSize, ipipMode: modes.ipipMode, vxlanMode: modes.vxlanMode, natOutgoing: nat === 'Enabled', nodeSelector}}
}

/** A pool's spec with Calico's defaults filled in, for comparing what a pool does rather than how it is written. */
export function effectiveSpec(spec: IPPoolSpec | undefined): Record<PoolField, string | number | boolean | undefined> {
  const cidr = parseCidr(spec?.cidr ?? '')
  return {
    cidr: cidr?.text ?? spec?.cidr,
    blockSize: spec?.blockSize ?? (cidr ? DEFAULT_BLOCK_SIZE[cidr.family] : undefined),
    ipipMode: spec?.ipipMode || 'Never',
    vxlanMode: spec?.vxlanMode || 'Never',
    natOutgoing: spec?.natOutgoing ?? false,
    nodeSelector: spec?.nodeSelector || 'all()',
    disabled: spec?.disabled ?? false,
  }
}

/** The spec with every field written out, Calico's defaults included: a backup that restores by itself. */
export function explicitPoolSpec(spec: IPPoolSpec | undefined): IPPoolSpec {
  const effective = effectiveSpec(spec)
  return {...spec, cidr: spec?.cidr, blockSize: effective.blockSize as number | undefined, ipipMode: effective.ipipMode as string, vxlanMode: effective.vxlanMode as string,
    natOutgoing: effective.natOutgoing as boolean, nodeSelector: effective.nodeSelector as string, disabled: effective.disabled as boolean}
}

/** The fields whose effective values differ between two pool specs. */
export function poolDifferences(current: IPPoolSpec | undefined, desired: IPPoolSpec): PoolField[] {
  const a = effectiveSpec(current)
  const b = effectiveSpec(desired)
  return POOL_FIELDS.filter((field) => a[field] !== b[field])
}

/**
 * What Calico's API server would refuse about a pool (libcalico-go validateIPPoolSpec and the IPPool client's
 * overlap check), because writes to crd.projectcalico.org/v1 skip it. `others` are the pools that will still
 * exist beside it.
 */
export function poolProblems(name: string, spec: IPPoolSpec, others: readonly IPPoolObject[]): string[] {
  const problems: string[] = []
  const cidr = parseCidr(spec.cidr ?? '')
  if (!cidr) return [`cidr "${spec.cidr}" is not a valid CIDR`]
  if (cidr.hadHostBits) problems.push(`cidr ${spec.cidr} has host bits set: Calico wants the network address (${cidr.text})`)
  const block = blockSizeProblem(cidr, spec.blockSize ?? DEFAULT_BLOCK_SIZE[cidr.family])
  if (block && !(spec.disabled && block.includes('larger than the pool'))) problems.push(block)
  const linkLocal = cidr.family === 'ipv4' ? '169.254.0.0/16' : 'fe80::/10'
  if (cidrsOverlap(cidr.text, linkLocal)) problems.push(`${cidr.text} overlaps the link-local range ${linkLocal}`)
  if (cidr.family === 'ipv6' && spec.ipipMode && spec.ipipMode !== 'Never') problems.push(`ipipMode ${spec.ipipMode} on an IPv6 pool (IPIP carries IPv4 only)`)
  if (spec.ipipMode && spec.ipipMode !== 'Never' && spec.vxlanMode && spec.vxlanMode !== 'Never') problems.push('IPIP and VXLAN cannot both be enabled on one pool')
  for (const other of others) {
    if (other.metadata?.name === name || !other.spec?.cidr) continue
    if (cidrsOverlap(cidr.text, other.spec.cidr)) problems.push(`${cidr.text} overlaps IPPool ${other.metadata?.name} (${other.spec.cidr})`)
  }
  return problems
}
