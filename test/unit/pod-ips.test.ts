import type {PodObject} from '../../src/cluster/types.js'
import {addToSummary, collectPodIps, emptySummary, podIpRow, rawPodIps, violatesRequireDual} from '../../src/pods/pod-ips.js'
import {renderPodIpTable} from '../../src/render/pod-ips.js'
import {makeTheme} from '../../src/render/theme.js'

function pod(name: string, ips: string[], extra: {hostNetwork?: boolean; phase?: string; podIPOnly?: boolean} = {}): PodObject {
  return {
    metadata: {name, namespace: 'default', creationTimestamp: '2026-11-24T00:00:00Z'},
    spec: {nodeName: 'node-1', hostNetwork: extra.hostNetwork},
    status: {phase: extra.phase ?? 'Running', podIP: ips[0], ...(extra.podIPOnly ? {} : {podIPs: ips.map((ip) => ({ip}))})},
  }
}

describe('podIpRow', () => {
  it('splits and normalises addresses by family', () => {
    const row = podIpRow(pod('hello', ['3.2.184.119', '2001:0:0:2:0:0:17:c2fb']))
    expect(row).toMatchObject({ipv4: ['3.2.184.119'], ipv6: ['2001::2:0:0:17:c2fb'], stack: 'dual'})
  })

  it('handles a pod with one address without reading a second one', () => {
    expect(podIpRow(pod('old', ['3.2.0.5'])).stack).toBe('ipv4')
    expect(podIpRow(pod('v6', ['fd00::5'])).stack).toBe('ipv6')
    expect(podIpRow(pod('pending', [], {phase: 'Pending'})).stack).toBe('none')
  })

  it('falls back to status.podIP on servers older than 1.16', () => {
    const old = pod('old', ['10.0.0.1'], {podIPOnly: true})
    expect(rawPodIps(old)).toEqual(['10.0.0.1'])
    expect(podIpRow(old).stack).toBe('ipv4')
  })

  it('keeps addresses that are not IPs instead of dropping them', () => {
    expect(podIpRow(pod('odd', ['10.0.0.1', 'garbage'])).invalid).toEqual(['garbage'])
  })

  it('--require-dual flags only Running pod-network pods', () => {
    expect(violatesRequireDual(podIpRow(pod('a', ['10.0.0.1'])))).toBe(true)
    expect(violatesRequireDual(podIpRow(pod('b', ['10.0.0.1', 'fd00::1'])))).toBe(false)
    expect(violatesRequireDual(podIpRow(pod('c', ['10.0.0.1'], {hostNetwork: true})))).toBe(false)
    expect(violatesRequireDual(podIpRow(pod('d', [], {phase: 'Succeeded'})))).toBe(false)
  })
})

describe('pod-ips table', () => {
  it('renders kubectl-style columns, the hostNetwork mark and the summary', () => {
    const rows = [pod('hello', ['3.2.184.119', '2001::2:0:0:17:c2fb']), pod('calico-node-x', ['10.10.0.11', 'fd10::11'], {hostNetwork: true}), pod('old', ['3.2.0.5'])].map(podIpRow)
    const summary = emptySummary()
    rows.forEach((r) => addToSummary(summary, r))
    const text = renderPodIpTable({items: rows, summary}, {allNamespaces: false, wide: false, now: Date.parse('2026-11-24T01:00:00Z'), theme: makeTheme(false)})
    expect(text).toBe([
      'NAME            NODE     IPV4          IPV6                  STACK',
      'hello           node-1   3.2.184.119   2001::2:0:0:17:c2fb   dual',
      'calico-node-x   node-1   10.10.0.11    fd10::11              dual (hostNetwork)',
      'old             node-1   3.2.0.5       <none>                ipv4',
      '3 pods: 2 dual-stack, 1 single-stack (1 IPv4 only, 0 IPv6 only), 0 without an IP',
    ].join('\n'))
  })
})

describe('collectPodIps', () => {
  async function* pages(...lists: PodObject[][]) {
    yield* lists
  }
  const pods = [pod('a', ['10.0.0.1', 'fd00::1']), pod('b', ['10.0.0.2'])]

  it('streams raw addresses page by page, in API order', async () => {
    const chunks: string[] = []
    const {report} = await collectPodIps(pages([pods[0]!], [pods[1]!]), {keepRows: false, requireDual: false, onRawPage: (t) => chunks.push(t)})
    expect(chunks).toEqual(['10.0.0.1\nfd00::1\n', '10.0.0.2\n'])
    expect(report.items).toEqual([])
  })

  it('classifies when rows are kept or --require-dual asks', async () => {
    const kept = await collectPodIps(pages(pods), {keepRows: true, requireDual: false})
    expect(kept.report.items.map((r) => r.stack)).toEqual(['dual', 'ipv4'])
    expect(kept.report.summary).toEqual({total: 2, dual: 1, ipv4: 1, ipv6: 0, none: 0})
    const gate = await collectPodIps(pages(pods), {keepRows: false, requireDual: true, onRawPage: () => undefined})
    expect(gate.offenders.map((r) => r.name)).toEqual(['b'])
  })
})
