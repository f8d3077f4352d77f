import {readCniConfig} from '../../calico/cni-config.js'
import {blockSizeProblem, DEFAULT_BLOCK_SIZE, poolFromEnv} from '../../calico/pools.js'
import {imageTag} from '../../calico/env.js'
import {calicoInstall, calicoNodeEnvOf, configuredPool, installationPoolOf, installationPools, poolsOfFamily, type CalicoInstall, type InstallationObject, type InstallationPool} from '../../calico/install.js'
import {calicoNodeContainer} from '../../calico/node.js'
import {isUniqueLocal, parseAddress, parseCidr, rangeConcern, type Family} from '../../net/ip.js'
import {isPodReady} from '../../cluster/resources.js'
import {CALICO_NODE_ENV_DEFAULTS} from '../../k8s/defaults.js'
import {managedPoolFix, poolManager, type FieldChange} from '../../calico/managers.js'
import {describeUnfinished, type UnfinishedRun} from '../../ops/repairs.js'
import {fail, listSome, need, pass, skip, warn, type Check, type Outcome} from '../check.js'
import type {Facts, IPPoolObject} from '../facts.js'

export const NOT_INSTALLED = skip('Calico is not installed')

/** The operator's Installation, undefined where there is no operator. One that could not be read is the check's error: guessing "no operator" could give a wrong verdict. */
function installationOf(f: Facts): InstallationObject | undefined {
  return need(f.installation)
}

export function calicoInstallOf(f: Facts): CalicoInstall | undefined {
  return calicoInstall(need(f.daemonSets), installationOf(f))
}

function installationPoolsOf(f: Facts): InstallationPool[] {
  return installationPools(installationOf(f))
}

function envOf(f: Facts) {
  const install = calicoInstallOf(f)
  return install ? calicoNodeEnvOf(install, need(f.configMaps)) : undefined
}

/** What the installation asks for the IPv6 pool: from the Installation (operator) or calico-node's env. */
function configuredIpv6(f: Facts, install: CalicoInstall) {
  return configuredPool(install, 'ipv6', installationOf(f), install.operator ? undefined : envOf(f))
}

function poolsOf(f: Facts, family: Family): IPPoolObject[] {
  return poolsOfFamily(need(f.ipPools) ?? [], family)
}

const POOL_FACTS = ['daemonSets', 'installation', 'ipPools', 'repairLease'] as const

/**
 * What the pool checks say of the pools they leave out: a disabled pool gives pods no address (one being
 * migrated away from is disabled), so only enabled pools are judged.
 */
function notJudged(pools: readonly IPPoolObject[]): string {
  const disabled = pools.filter((p) => p.spec?.disabled).map((p) => p.metadata?.name ?? '')
  return disabled.length > 0 ? ` (enabled pools judged; ${disabled.join(', ')} ${disabled.length === 1 ? 'is' : 'are'} disabled: pods get no address from ${disabled.length === 1 ? 'it' : 'them'})` : ''
}

/** An ippool fix left half-done (its journal in the Lease), when it is changing this pool. */
function unfinishedFixOf(f: Facts, pool: string): UnfinishedRun | undefined {
  const read = f.repairLease
  if (!read.ok || !read.value.lease || read.value.lease.held) return undefined
  const run = describeUnfinished(read.value.lease.journal, read.value.namespace)
  return run?.command === 'ippool fix' && run.pools.includes(pool) ? run : undefined
}

/**
 * The fix of a pool's field: finish the ippool fix that is changing it, if one was left half-done; change it
 * where it is managed (the Installation, Git), where a manager would put a kubectl change back; else `direct`.
 */
function poolFix(f: Facts, install: CalicoInstall, pool: IPPoolObject, changes: readonly FieldChange[], direct: string): string {
  const name = pool.metadata?.name ?? ''
  const run = unfinishedFixOf(f, name)
  if (run) return `an ippool fix changing ${name} stopped half-way (see repairs.unfinished): ${run.finish}`
  const manager = poolManager(pool, install, installationOf(f))
  if (manager) return `${name} is managed by ${manager.text}, which would put a kubectl change back: ${managedPoolFix(manager, changes)}`
  return direct
}

export const installed: Check = {
  id: 'calico.installed', title: 'Calico is installed', area: 'Calico', needs: ['daemonSets', 'installation', 'ipPools'],
  run(f) {
    const install = calicoInstallOf(f)
    if (!install) {
      return fail('no calico-node DaemonSet, no Tigera Installation' + (need(f.ipPools) === undefined ? ', no Calico CRDs' : ''),
        'install Calico 3.11 or later with Calico IPAM (the runbook uses the Helm chart; docs.tigera.io covers the operator)')
    }
    const version = install.ds ? imageTag(calicoNodeContainer(install.ds)?.image) : undefined
    const how = install.operator ? 'Tigera operator (Installation "default")' : `manifest/Helm (DaemonSet ${install.ds!.metadata?.namespace}/calico-node)`
    const m = /^v?(\d+)\.(\d+)/.exec(version ?? '')
    if (m && (Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 11))) {
      return fail(`Calico ${version} via ${how}: dual-stack needs 3.11 or later`, 'upgrade Calico to 3.11 or later')
    }
    return pass(`Calico ${version ?? '(version unknown)'} via ${how}`, {version, operator: install.operator})
  },
}

export const cniIpam: Check = {
  id: 'calico.cni-ipam', title: 'CNI config assigns IPv4 and IPv6 with calico-ipam', area: 'Calico', needs: ['daemonSets', 'installation', 'ipPools', 'configMaps'],
  run(f) {
    const install = calicoInstallOf(f)
    if (!install) return NOT_INSTALLED
    if (install.operator && f.installation.ok) {
      const pools = installationPoolsOf(f).map((p) => p.cidr ?? '')
      const v6 = pools.find((c) => parseCidr(c)?.family === 'ipv6')
      return v6 ? pass(`the Installation has an IPv6 pool ${v6}; the operator writes the CNI config`)
        : fail(`the Installation's calicoNetwork.ipPools has no IPv6 pool (${pools.join(', ') || 'none'})`, 'add an IPv6 entry to spec.calicoNetwork.ipPools of the Installation "default"')
    }
    const text = need(f.configMaps).get('calico-config')?.cni_network_config
    if (!text) return fail('ConfigMap calico-config has no cni_network_config key', 'restore calico-config from the Calico manifest or chart')
    const reading = readCniConfig(text)
    const fix = 'in calico-config cni_network_config set "ipam": {"type": "calico-ipam", "assign_ipv4": "true", "assign_ipv6": "true"}, then restart calico-node (kubectl dualstack calico-restart)'
    if (reading.error) return fail(`cni_network_config cannot be read: ${reading.error}`, fix)
    const ipam = reading.ipam
    if (!ipam || ipam.type !== 'calico-ipam') return fail(`the CNI ipam is ${ipam?.type ?? 'missing'}, not calico-ipam`, fix)
    if (!ipam.assignIpv4 || !ipam.assignIpv6) {
      return fail(`calico-ipam with assign_ipv4=${ipam.assignIpv4} assign_ipv6=${ipam.assignIpv6}: pods get only ${ipam.assignIpv6 ? 'IPv6' : 'IPv4'}`, fix)
    }
    return pass('calico-ipam with assign_ipv4 and assign_ipv6 "true"')
  },
}

export const nodeEnv: Check = {
  id: 'calico.node-env', title: 'calico-node environment enables IPv6', area: 'Calico', needs: ['daemonSets', 'installation', 'ipPools', 'configMaps'],
  run(f): Outcome {
    const install = calicoInstallOf(f)
    if (!install) return NOT_INSTALLED
    const env = envOf(f)
    if (install.operator || !env) return skip('calico-node is configured by the Tigera operator from the Installation (see calico.cni-ipam)')
    const value = (name: string) => env.get(name)?.value
    const problems: string[] = []
    // Unset means calico-node's and Felix's defaults, the same ones lint applies (k8s/defaults.ts).
    const ip6 = value('IP6')
    if (ip6 === undefined || ip6 === 'none' || ip6 === '') problems.push(`IP6 is ${ip6 === undefined ? `default ${CALICO_NODE_ENV_DEFAULTS.IP6.value}, not set` : `"${ip6}"`} (want autodetect)`)
    else if (ip6 !== 'autodetect' && parseAddress(ip6)?.family !== 'ipv6') problems.push(`IP6 "${ip6}" is neither autodetect nor an IPv6 address`)
    const felix = value('FELIX_IPV6SUPPORT') ?? CALICO_NODE_ENV_DEFAULTS.FELIX_IPV6SUPPORT.value
    if (felix !== 'true') problems.push(`FELIX_IPV6SUPPORT is ${felix} (want true)`)
    const cidr = value('CALICO_IPV6POOL_CIDR')
    const parsed = cidr ? parseCidr(cidr) : undefined
    if (!cidr) problems.push(`CALICO_IPV6POOL_CIDR is unset${env.get('CALICO_IPV6POOL_CIDR') ? ` (${env.get('CALICO_IPV6POOL_CIDR')!.source})` : ''}`)
    else if (parsed?.family !== 'ipv6') problems.push(`CALICO_IPV6POOL_CIDR "${cidr}" is not an IPv6 CIDR`)
    const observed = ['IP6', 'FELIX_IPV6SUPPORT', 'CALICO_IPV6POOL_CIDR', 'CALICO_IPV6POOL_NAT_OUTGOING'].map((n) => `${n}=${value(n) ?? '(unset)'}`).join(' ')
    const fix = [
      'set in the calico-node container env (Helm values calicoNode.env / extraEnv in the runbook):',
      '  - {name: IP6, value: autodetect}',
      '  - {name: FELIX_IPV6SUPPORT, value: "true"}',
      '  - {name: CALICO_IPV6POOL_CIDR, value: "<IPv6 pod CIDR, e.g. fd00:10:244::/56>"}',
      '  - {name: CALICO_IPV6POOL_NAT_OUTGOING, value: "true"}',
    ].join('\n')
    if (problems.length > 0) return fail(problems.join('; '), fix, {env: Object.fromEntries([...env].map(([k, v]) => [k, v.value]))})
    const pool = poolFromEnv(env, 'ipv6')
    if ('spec' in pool && !pool.spec.natOutgoing) {
      return warn(`${observed}: without NAT outgoing, pods reach outside over IPv6 only if their range is routed`, fix)
    }
    return pass(observed)
  },
}

export const podsReady: Check = {
  id: 'calico.pods-ready', title: 'A Ready calico-node pod on every node', area: 'Calico', needs: ['daemonSets', 'installation', 'ipPools', 'systemPods', 'nodes'],
  run(f) {
    if (!calicoInstallOf(f)) return NOT_INSTALLED
    const pods = need(f.systemPods).filter((p) => p.metadata?.labels?.['k8s-app'] === 'calico-node')
    const nodes = need(f.nodes).map((n) => n.metadata?.name ?? '')
    const without = nodes.filter((n) => !pods.some((p) => p.spec?.nodeName === n && isPodReady(p)))
    const restarts = pods.reduce((sum, p) => sum + (p.status?.containerStatuses ?? []).reduce((s, c) => s + (c.restartCount ?? 0), 0), 0)
    const restartNote = restarts > 0 ? `; ${restarts} container restart(s) in total` : ''
    if (without.length > 0) {
      return fail(`no Ready calico-node pod on ${without.length} of ${nodes.length} nodes: ${listSome(without)}${restartNote}`,
        'kubectl -n kube-system describe pod -l k8s-app=calico-node, and its logs, on those nodes')
    }
    return pass(`${nodes.length} of ${nodes.length} nodes have a Ready calico-node pod${restartNote}`)
  },
}

function poolCheck(family: Family): Check {
  const name = family === 'ipv4' ? 'IPv4' : 'IPv6'
  return {
    id: `calico.ippool.${family}`, title: `An enabled ${name} IPPool exists`, area: 'Calico', needs: ['daemonSets', 'installation', 'ipPools'],
    run(f) {
      const install = calicoInstallOf(f)
      if (!install) return NOT_INSTALLED
      const pools = poolsOf(f, family)
      const enabled = pools.filter((p) => !p.spec?.disabled)
      if (enabled.length > 0) return pass(enabled.map((p) => `${p.metadata?.name} ${p.spec?.cidr}`).join(', '))
      const entry = install.operator ? installationPoolOf(installationOf(f), family) : undefined
      const fix = install.operator
        ? entry
          ? `the Tigera operator creates it from the Installation "default" (${entry.field}, ${entry.pool.cidr}) while the Calico API server runs: kubectl get tigerastatus ippools says why it has not`
          : `add an ${name} entry to spec.calicoNetwork.ipPools with kubectl edit installation default: the Tigera operator then creates the pool`
        : family === 'ipv6'
        ? 'calico-node creates default-ipv6-ippool at start-up from CALICO_IPV6POOL_CIDR when no IPv6 pool exists: set it (see calico.node-env), then restart calico-node (kubectl dualstack calico-restart)'
        : 'create an IPv4 IPPool, or restart calico-node with CALICO_IPV4POOL_CIDR set'
      return fail(pools.length > 0 ? `every ${name} pool is disabled: ${pools.map((p) => p.metadata?.name).join(', ')}` : `no ${name} IPPool`, fix)
    },
  }
}
export const ipv4Pool = poolCheck('ipv4')
export const ipv6Pool = poolCheck('ipv6')

export const cidrMatch: Check = {
  id: 'calico.ippool.cidr-match', title: 'The IPv6 pool has the configured CIDR', area: 'Calico', needs: [...POOL_FACTS, 'configMaps'],
  run(f) {
    const install = calicoInstallOf(f)
    if (!install) return NOT_INSTALLED
    const configured = configuredIpv6(f, install)
    const wanted = configured.cidr
    if (!wanted) return skip(`${install.operator ? 'the Installation has no IPv6 pool' : 'CALICO_IPV6POOL_CIDR is not set on calico-node'}: nothing to compare with`)
    const want = parseCidr(wanted)?.text
    const all = poolsOf(f, 'ipv6')
    const pools = all.filter((p) => !p.spec?.disabled)
    if (pools.length === 0) return skip(`there is no enabled IPv6 pool${all.length > 0 ? notJudged(all) : ' yet'} (see calico.ippool.ipv6)`)
    if (pools.some((p) => parseCidr(p.spec?.cidr ?? '')?.text === want)) return pass(`an enabled IPv6 pool has ${want}, as ${configured.source} asks${notJudged(all)}`)
    const pool = pools.find((p) => p.metadata?.name === 'default-ipv6-ippool') ?? pools[0]!
    const name = pool.metadata?.name
    const details = {pool: name, poolCidr: pool.spec?.cidr, configured: wanted}
    if (install.operator) {
      const field = installationPoolOf(installationOf(f), 'ipv6')?.field ?? 'spec.calicoNetwork.ipPools'
      return fail(`${name} has ${pool.spec?.cidr} but ${configured.source} (${field}.cidr) is ${wanted}${notJudged(all)}`,
        `the Installation is the pools' source: the Tigera operator creates ${want} and removes the pools it manages that are not in it while the Calico API server runs (kubectl get tigerastatus ippools says why it has not); to keep ${pool.spec?.cidr}, set ${field}.cidr back with kubectl edit installation default; see docs.tigera.io "Migrate from one IP pool to another"`,
        details)
    }
    return fail(`${name} has ${pool.spec?.cidr} but ${configured.source} is ${wanted}: calico-node never edits an existing pool${notJudged(all)}`,
      poolFix(f, install, pool, [{field: 'cidr', from: pool.spec?.cidr, to: want}],
        `kubectl dualstack ippool fix   (plans, backs up and recreates ${name} from CALICO_IPV6POOL_CIDR; by hand: kubectl delete ippool ${name}, then restart every calico pod in kube-system)`),
      details)
  },
}

export const natOutgoing: Check = {
  id: 'calico.ippool.nat-outgoing', title: 'NAT outgoing on the IPv6 pool', area: 'Calico', needs: [...POOL_FACTS, 'configMaps'],
  run(f) {
    const install = calicoInstallOf(f)
    if (!install) return NOT_INSTALLED
    const all = poolsOf(f, 'ipv6')
    const pools = all.filter((p) => !p.spec?.disabled)
    if (pools.length === 0) return skip(`there is no enabled IPv6 pool${notJudged(all)} (see calico.ippool.ipv6)`)
    const configured = configuredIpv6(f, install).natOutgoing
    const off = pools.filter((p) => p.spec?.natOutgoing !== true)
    if (off.length === 0) return pass(`natOutgoing true on ${pools.map((p) => p.metadata?.name).join(', ')}${notJudged(all)}`)
    const names = off.map((p) => p.metadata?.name ?? '')
    // A range the internet does not route (unique local fc00::/7, a special-purpose block): without NAT outgoing
    // pods cannot reach outside over IPv6 at all, whatever the env or the Installation says.
    const unrouted = off.map((p) => ({pool: p, why: isUniqueLocal(p.spec?.cidr ?? '') ? 'unique local (fc00::/7)' : rangeConcern(p.spec?.cidr ?? '')})).filter((u) => u.why)
    const unroutedText = unrouted.length > 0 ? `; ${unrouted.map((u) => `${u.pool.metadata?.name} (${u.pool.spec?.cidr}) is ${u.why}, which the internet does not route, so its pods cannot reach outside over IPv6`).join('; ')}` : ''
    const severity = unrouted.length > 0 ? fail : warn
    if (install.operator) {
      // The Installation is the source: the operator reconciles the pools it manages to it, reverting a patch of the IPPool alone.
      const field = `${installationPoolOf(installationOf(f), 'ipv6')?.field ?? 'spec.calicoNetwork.ipPools[]'}.natOutgoing`
      if (configured === 'true') {
        return fail(`natOutgoing is false on ${names.join(', ')} but the Installation's IPv6 pool has natOutgoing Enabled (${field})`,
          `the Installation already asks for it (kubectl edit installation default: ${field} is Enabled) and the Tigera operator reconciles the pool to it while the Calico API server runs: kubectl get tigerastatus ippools says why it has not; a change made only to the IPPool is reverted`)
      }
      return severity(`natOutgoing is false on ${names.join(', ')} (the Installation's IPv6 pool has ${field} ${configured === undefined ? 'unset' : 'Disabled'}): pods reach outside over IPv6 only if their range is routed${unroutedText}`,
        `kubectl edit installation default and set ${field}: Enabled; the Tigera operator then updates the IPPool (a change made only to the IPPool is reverted)`)
    }
    const fix = poolFix(f, install, off[0]!, [{field: 'natOutgoing', from: off[0]!.spec?.natOutgoing ?? false, to: true}],
      `kubectl patch ippools.crd.projectcalico.org ${names[0]} --type merge -p '{"spec":{"natOutgoing":true}}'   (and set CALICO_IPV6POOL_NAT_OUTGOING=true so a recreated pool keeps it)`)
    if (configured === 'true') {
      return fail(`natOutgoing is false on ${names.join(', ')} but ${install.operator ? "the Installation's IPv6 pool has natOutgoing Enabled" : 'CALICO_IPV6POOL_NAT_OUTGOING is true'}: the pool predates the setting${notJudged(all)}`, fix)
    }
    return severity(`natOutgoing is false on ${names.join(', ')} (CALICO_IPV6POOL_NAT_OUTGOING ${configured ?? 'unset, default false'}): pods reach outside over IPv6 only if their range is routed${unroutedText}${notJudged(all)}`, fix)
  },
}

// Block sizes per src/calico/pools.ts; IPIP encapsulates IPv4 only.
export const blockSize: Check = {
  id: 'calico.ippool.block-size', title: 'Pool block sizes and encapsulation are valid', area: 'Calico', needs: ['daemonSets', 'installation', 'ipPools'],
  run(f) {
    if (!calicoInstallOf(f)) return NOT_INSTALLED
    const problems: string[] = []
    const all = need(f.ipPools) ?? []
    const pools = all.filter((p) => !p.spec?.disabled)
    for (const pool of pools) {
      const cidr = parseCidr(pool.spec?.cidr ?? '')
      const name = pool.metadata?.name
      if (!cidr) {
        problems.push(`${name}: cidr "${pool.spec?.cidr}" is not a CIDR`)
        continue
      }
      const problem = blockSizeProblem(cidr, pool.spec?.blockSize ?? DEFAULT_BLOCK_SIZE[cidr.family])
      if (problem) problems.push(`${name}: ${problem}`)
      if (cidr.family === 'ipv6' && pool.spec?.ipipMode && pool.spec.ipipMode !== 'Never') problems.push(`${name}: ipipMode ${pool.spec.ipipMode} on an IPv6 pool (IPIP carries IPv4 only)`)
    }
    if (problems.length > 0) return fail(`${problems.join('; ')}${notJudged(all)}`, 'recreate the pool with a valid blockSize (IPv4 20-32, IPv6 116-128, not larger than the pool) and ipipMode Never for IPv6 (kubectl dualstack ippool fix)')
    return pass(`${pools.map((p) => `${p.metadata?.name} /${p.spec?.blockSize ?? '?'}`).join(', ') || 'no enabled pools'}${notJudged(all)}`)
  },
}
