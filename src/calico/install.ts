// How Calico is installed and what it is configured to create: the calico-node DaemonSet (manifest/Helm) or
// the Tigera operator's Installation. Shared by doctor's checks and the repair commands, over plain data.
import type {DaemonSetObject, IPPoolObject, KubeObject} from '../cluster/types.js'
import {parseCidr, type Family} from '../net/ip.js'
import {readCniConfig} from './cni-config.js'
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

/**
 * Why a pod made now would not get an address of `family` either, and what to do first; undefined when it would,
 * or when it cannot be told (Calico not there, its CRDs not served, a CNI IPAM other than calico-ipam).
 */
export function whyNotAssigned(family: Family, install: CalicoInstall | undefined, installation: InstallationObject | undefined,
  configMaps: ReadonlyMap<string, Record<string, string>>, pools: readonly IPPoolObject[] | undefined): {why: string; fix: string} | undefined {
  if (!install || pools === undefined) return undefined
  const name = family === 'ipv4' ? 'IPv4' : 'IPv6'
  const entry = install.operator ? installationPoolOf(installation, family) : undefined
  if (install.operator && !entry) {
    return {why: `the Installation "default" has no ${name} pool (spec.calicoNetwork.ipPools), so the operator's CNI config does not assign ${name}`,
      fix: `add an ${name} pool to spec.calicoNetwork.ipPools with kubectl edit installation default first: the Tigera operator then creates the IPPool and writes the CNI config`}
  }
  if (!install.operator) {
    const text = configMaps.get('calico-config')?.cni_network_config
    const ipam = text ? readCniConfig(text).ipam : undefined
    if (ipam?.type === 'calico-ipam' && !(family === 'ipv4' ? ipam.assignIpv4 : ipam.assignIpv6)) {
      return {why: `calico-config's cni_network_config does not assign ${name} (its ipam has assign_${family} "${family === 'ipv4' ? 'false' : 'false or unset'}")`,
        fix: `set "assign_${family}": "true" in the ipam of calico-config's cni_network_config and restart calico-node first (kubectl dualstack calico-restart; see kubectl dualstack doctor --only calico.cni-ipam)`}
    }
  }
  if (!poolsOfFamily(pools, family).some((p) => !p.spec?.disabled)) {
    return {why: `there is no enabled ${name} IPPool, so Calico's CNI cannot give pods an ${name} address`,
      fix: entry
        ? `the Tigera operator creates it from the Installation "default" (${entry.field}): kubectl get tigerastatus ippools says why it has not`
        : `create it first: kubectl dualstack ippool fix${family === 'ipv4' ? ' --family ipv4' : ''} (see kubectl dualstack doctor --only calico.ippool)`}
  }
  return undefined
}
