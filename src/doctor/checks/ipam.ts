// What `calicoctl ipam check` reports, without calicoctl: Calico's IPAM blocks against the pods and tunnel
// addresses that hold their addresses now. IPv6 tunnel addresses (VXLAN, WireGuard) count as in use: calicoctl's
// check collects only the IPv4 ones, so on dual-stack it calls them leaked (and releasing them breaks the tunnel).
import {cidrContains, parseAddress} from '../../net/ip.js'
import {blockAllocations, TUNNEL_ANNOTATIONS, TUNNEL_TYPES} from '../../ops/pods.js'
import {fail, listSome, need, pass, skip, warn, type Check} from '../check.js'
import {calicoInstallOf, NOT_INSTALLED} from './calico.js'

const text = (ip: string) => parseAddress(ip)?.text ?? ip

export const ipam: Check = {
  id: 'calico.ipam', title: "Calico's IPAM matches the pods (what calicoctl ipam check reports)", area: 'Calico',
  needs: ['daemonSets', 'installation', 'ipPools', 'ipamBlocks', 'podAddresses', 'nodes'],
  run(f) {
    if (!calicoInstallOf(f)) return NOT_INSTALLED
    const blocks = need(f.ipamBlocks)
    if (!blocks) return skip("Calico's CRDs are not installed: no IPAM blocks to check")
    const pools = need(f.ipPools) ?? []
    const pods = need(f.podAddresses).filter((p) => !p.hostNetwork)
    const holders = new Map<string, string[]>()
    for (const pod of pods) for (const ip of pod.ips) holders.set(text(ip), [...(holders.get(text(ip)) ?? []), `${pod.namespace}/${pod.name}`])
    const tunnels = new Set<string>()
    for (const node of need(f.nodes)) for (const annotation of Object.keys(TUNNEL_ANNOTATIONS)) {
      const ip = node.metadata?.annotations?.[annotation]
      if (ip) tunnels.add(text(ip))
    }

    const leaked: string[] = []
    const twoOwners: string[] = []
    const orphanBlocks: string[] = []
    let allocated = 0
    let tunnelCount = 0
    for (const block of blocks) {
      const cidr = block.spec?.cidr ?? ''
      const pool = pools.find((p) => p.spec?.cidr && cidrContains(p.spec.cidr, cidr.split('/')[0] ?? ''))
      const allocations = blockAllocations(block)
      if (!pool) orphanBlocks.push(`${cidr} (${allocations.length} allocated)`)
      for (const {ip, attrs} of allocations) {
        allocated++
        const held = holders.get(ip) ?? []
        if (attrs.type && TUNNEL_TYPES.has(attrs.type)) {
          tunnelCount++
          if (held.length > 0) twoOwners.push(`${ip}: node ${attrs.node ?? '?'}'s ${attrs.type} and pod ${held.join(', ')}`)
          continue
        }
        if (!attrs.pod) continue
        const owner = `${attrs.namespace}/${attrs.pod}`
        if (held.includes(owner)) continue
        if (held.length > 0) twoOwners.push(`${ip}: IPAM gives it to ${owner}, ${held.join(', ')} holds it`)
        else if (!tunnels.has(ip)) leaked.push(`${ip} (${owner}, gone)`)
      }
    }
    for (const [ip, pods2] of holders) if (pods2.length > 1) twoOwners.push(`${ip}: held by ${pods2.join(' and ')}`)

    const enabled = pools.filter((p) => !p.spec?.disabled && p.spec?.cidr)
    const disabled = pools.filter((p) => p.spec?.disabled && p.spec?.cidr)
    const outside: string[] = []
    const inDisabled = new Map<string, number>()
    for (const pod of pods.filter((p) => p.phase === 'Running')) {
      for (const ip of pod.ips) {
        if (enabled.some((p) => cidrContains(p.spec!.cidr!, ip))) continue
        const old = disabled.find((p) => cidrContains(p.spec!.cidr!, ip))
        if (old) inDisabled.set(old.metadata?.name ?? '', (inDisabled.get(old.metadata?.name ?? '') ?? 0) + 1)
        else outside.push(`${pod.namespace}/${pod.name} (${text(ip)})`)
      }
    }

    const findings: string[] = []
    const fixes: string[] = []
    if (twoOwners.length > 0) {
      findings.push(`${twoOwners.length} address(es) with two owners: ${listSome(twoOwners, 3)}`)
      fixes.push('an address given twice breaks the traffic of both: delete one of the pods (its controller makes a new one with a new address), then look again')
    }
    if (outside.length > 0) {
      findings.push(`${outside.length} pod address(es) in no IPPool (left behind by a pool recreated with another range, or deleted): ${listSome(outside, 5)}`)
      fixes.push('kubectl dualstack pods recreate --outside-pools -A   (their owners give them addresses of the pools there are now)')
    }
    if (inDisabled.size > 0) {
      findings.push(`pods still hold addresses of disabled pool(s) (a migration not finished): ${[...inDisabled.entries()].map(([pool, n]) => `${pool} (${n})`).join(', ')}`)
      fixes.push(...[...inDisabled.keys()].map((pool) => `kubectl dualstack pods recreate --in-pool ${pool} -A, then kubectl dualstack ippool fix (it deletes the emptied pool)`))
    }
    if (leaked.length > 0) {
      findings.push(`${leaked.length} address(es) allocated to pods that are gone (leaked): ${listSome(leaked, 5)}`)
      fixes.push('calicoctl ipam check --show-problem-ips -o report.json, then calicoctl ipam release --from-report report.json (check that the report lists no IPv6 tunnel address: older calicoctl counts those as leaked; this check counts them as in use)')
    }
    if (orphanBlocks.length > 0) {
      findings.push(`${orphanBlocks.length} IPAM block(s) of no IPPool (a deleted pool's): ${listSome(orphanBlocks, 5)}`)
      fixes.push("empty ones go with Calico's IPAM garbage collection (calico-kube-controllers); ones with allocations hold addresses of pods still running: recreate those pods (above)")
    }
    const details = {blocks: blocks.length, allocated, tunnels: tunnelCount, leaked, twoOwners, outside, inDisabledPools: Object.fromEntries(inDisabled), orphanBlocks}
    if (findings.length === 0) return pass(`${blocks.length} IPAM block(s), ${allocated} allocation(s) (${tunnelCount} tunnel address(es), IPv6 ones counted as in use): each held by its pod or node, every pod address in an enabled pool`, details)
    const broken = twoOwners.length > 0 || outside.length > 0
    return (broken ? fail : warn)(findings.join('; '), fixes.join('\n'), details)
  },
}
