// How Calico is installed and what it is configured to create: the calico-node DaemonSet (manifest/Helm) or
// the Tigera operator's Installation. Shared by doctor's checks and the repair commands, over plain data.
import type {DaemonSetObject, IPPoolObject, KubeObject} from '../cluster/types.js'
import {parseCidr, type Family} from '../net/ip.js'
import type {ResolvedEnvValue} from './env.js'
import {calicoNodeDaemonSet, calicoNodeEnv} from './node.js'

export interface InstallationPool {
  name?: string
  cidr?: string
  blockSize?: number
  encapsulation?: string
  natOutgoing?: string
  nodeSelector?: string
}

export type InstallationObject = KubeObject & {spec?: Record<string, unknown>}

export interface CalicoInstall {
  /** The calico-node DaemonSet, when there is one to be seen. */
  ds?: DaemonSetObject
  /** Installed by the Tigera operator (an Installation "default" exists). */
  operator: boolean
  /** Where Calico's pods run: kube-system for manifest/Helm installs, calico-system for the operator. */
  namespace: string
}

export function calicoInstall(daemonSets: readonly DaemonSetObject[], installation: InstallationObject | undefined): CalicoInstall | undefined {
  const ds = calicoNodeDaemonSet(daemonSets)
  const operator = installation !== undefined
  if (!ds && !operator) return undefined
  return {ds, operator, namespace: ds?.metadata?.namespace ?? 'calico-system'}
}

/** The Installation's spec.calicoNetwork.ipPools (operator installs). */
export function installationPools(installation: InstallationObject | undefined): InstallationPool[] {
  const network = installation?.spec?.calicoNetwork as {ipPools?: InstallationPool[]} | undefined
  return network?.ipPools ?? []
}

/** The Installation's pool of a family and where it is in the Installation ("spec.calicoNetwork.ipPools[1]"), for messages. */
export function installationPoolOf(installation: InstallationObject | undefined, family: Family): {pool: InstallationPool; field: string} | undefined {
  const pools = installationPools(installation)
  const index = pools.findIndex((p) => parseCidr(p.cidr ?? '')?.family === family)
  return index < 0 ? undefined : {pool: pools[index]!, field: `spec.calicoNetwork.ipPools[${index}]`}
}

export function calicoNodeEnvOf(install: CalicoInstall, configMaps: ReadonlyMap<string, Record<string, string>>): Map<string, ResolvedEnvValue> | undefined {
  return install.ds ? calicoNodeEnv(install.ds, configMaps) : undefined
}

export interface ConfiguredPool {
  cidr?: string
  /** "true"/"false" as calico-node's env spells it, undefined when unset. */
  natOutgoing?: string
  /** Where the value comes from, for messages. */
  source: string
}

const ENV_PREFIX: Record<Family, string> = {ipv4: 'CALICO_IPV4POOL', ipv6: 'CALICO_IPV6POOL'}

export function poolEnvName(family: Family, setting: 'CIDR' | 'BLOCK_SIZE' | 'NAT_OUTGOING' | 'IPIP' | 'VXLAN' | 'NODE_SELECTOR' | 'DISABLE_BGP_EXPORT'): string {
  return `${ENV_PREFIX[family]}_${setting}`
}

/** What the installation asks for a family's pool: the Installation's pool (operator) or calico-node's env. */
export function configuredPool(install: CalicoInstall, family: Family, installation: InstallationObject | undefined,
  env: ReadonlyMap<string, ResolvedEnvValue> | undefined): ConfiguredPool {
  if (install.operator) {
    const pool = installationPoolOf(installation, family)?.pool
    return {cidr: pool?.cidr, natOutgoing: pool ? String((pool.natOutgoing ?? 'Enabled') === 'Enabled') : undefined,
      source: `the Installation's ${family === 'ipv4' ? 'IPv4' : 'IPv6'} pool`}
  }
  return {cidr: env?.get(poolEnvName(family, 'CIDR'))?.value, natOutgoing: env?.get(poolEnvName(family, 'NAT_OUTGOING'))?.value, source: poolEnvName(family, 'CIDR')}
}

export function poolsOfFamily(pools: readonly IPPoolObject[], family: Family): IPPoolObject[] {
  return pools.filter((p) => parseCidr(p.spec?.cidr ?? '')?.family === family)
}
