import type {PodIpReport, PodIpRow, PodIpSummary} from '../pods/pod-ips.js'
import {ageOf} from './age.js'
import type {Theme} from './theme.js'
import {renderTable} from './table.js'

export interface PodIpTableOptions {
  allNamespaces: boolean
  wide: boolean
  now: number
  theme: Theme
}

function stackCell(row: PodIpRow, theme: Theme): string {
  const text = row.hostNetwork ? `${row.stack} (hostNetwork)` : row.stack
  if (row.hostNetwork) return theme.dim(text)
  return row.stack === 'dual' ? theme.ok(text) : row.stack === 'none' ? theme.dim(text) : theme.warn(text)
}

export function renderPodIpTable(report: PodIpReport, options: PodIpTableOptions): string {
  const head = [...(options.allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'NODE', 'IPV4', 'IPV6', 'STACK', ...(options.wide ? ['PHASE', 'AGE'] : [])]
  const rows = report.items.map((row) => [
    ...(options.allNamespaces ? [row.namespace] : []),
    row.name,
    row.node || '<none>',
    row.ipv4.join(',') || '<none>',
    row.ipv6.join(',') || '<none>',
    stackCell(row, options.theme),
    ...(options.wide ? [row.phase || '<unknown>', ageOf(row.createdAt, options.now)] : []),
  ])
  const table = report.items.length > 0 ? renderTable(head, rows) + '\n' : ''
  return table + summaryLine(report.summary)
}

export function summaryLine(summary: PodIpSummary): string {
  const single = summary.ipv4 + summary.ipv6
  return `${summary.total} pods: ${summary.dual} dual-stack, ${single} single-stack (${summary.ipv4} IPv4 only, ${summary.ipv6} IPv6 only), ${summary.none} without an IP`
}

/** The JSON/YAML model: the documented shape, without the table-only fields. */
export function podIpModel(report: PodIpReport): PodIpReport {
  return {
    items: report.items.map(({namespace, name, node, phase, hostNetwork, ipv4, ipv6, stack, invalid}) => ({
      namespace, name, node, phase, hostNetwork, ipv4, ipv6, stack, ...(invalid ? {invalid} : {}),
    })),
    summary: report.summary,
  }
}
