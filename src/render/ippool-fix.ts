// ippool fix as a person reads it: what is wrong, the strategy and its impact, the plan; then what happened.
import type {ActionStatus, PoolFixReport} from '../ops/ippool/run.js'
import {listSome} from '../doctor/check.js'
import type {Theme} from './theme.js'

const MARK: Record<ActionStatus, string> = {done: '✔', failed: '✖', undone: '↺', skipped: '-', pending: ' '}

export function renderPoolFixPlan(report: PoolFixReport, theme: Theme): string {
  const lines = [theme.bold(`IPPool ${report.pool || '(none)'} (${report.family === 'ipv4' ? 'IPv4' : 'IPv6'}) on context "${report.context}", server ${report.server}`)]
  if (report.wrong.length > 0) {
    lines.push('What is wrong:')
    const width = Math.max(...report.wrong.map((d) => d.field.length))
    for (const d of report.wrong) lines.push(`  ${d.field.padEnd(width)}   ${String(d.from ?? '(no pool)')} -> ${String(d.to)}${d.source ? theme.dim(`   (${d.source})`) : ''}`)
  }
  if (report.strategy && report.strategy !== 'none') lines.push(`Strategy: ${report.strategy}`)
  const impact = report.impact
  if (report.from) {
    lines.push(`Impact: ${impact.pods.length} pod(s) and ${impact.tunnels.length} node tunnel address(es) hold addresses of ${impact.cidr ?? String(report.from.cidr)}` +
      `${impact.ipamBlocks !== undefined ? `; ${impact.ipamBlocks} IPAM block(s) in it` : ''}${impact.leaked.length > 0 ? `; ${impact.leaked.length} leaked allocation(s)` : ''}`)
    if (impact.pods.length > 0) lines.push(`  pods: ${listSome(impact.pods)}`)
    if (impact.tunnels.length > 0) lines.push(`  tunnels: ${listSome(impact.tunnels)}`)
    if (impact.ipamError) lines.push(theme.warn(`  IPAM blocks could not be read (${impact.ipamError}): the pod list above comes from pod IPs only`))
  }
  if (report.notes.length > 0) lines.push('Notes:', ...report.notes.map((n) => `  - ${n}`))
  if (report.actions.length > 0 && report.result !== 'unchanged') {
    lines.push('Plan:', ...report.actions.map((a, i) => `  ${i + 1}. ${a.title}`))
  }
  return lines.join('\n')
}

export function renderPoolFixOutcome(report: PoolFixReport, theme: Theme): string {
  const lines: string[] = []
  const ran = report.actions.some((a) => a.status !== 'pending')
  if (ran) {
    lines.push('Actions:')
    for (const [i, a] of report.actions.entries()) {
      const paint = a.status === 'done' ? theme.ok : a.status === 'failed' ? theme.fail : a.status === 'undone' ? theme.warn : theme.dim
      lines.push(`  ${paint(MARK[a.status])} ${i + 1}. ${a.title}${a.status === 'pending' || a.status === 'done' ? '' : ` (${a.status})`}${a.message ? theme.dim(`: ${a.message}`) : ''}`)
    }
  }
  const good = ['fixed', 'unchanged', 'planned'].includes(report.result)
  lines.push((good ? theme.ok : theme.fail)(`${report.result}: ${report.message}`))
  if (report.hint) lines.push(`  ${report.hint}`)
  if (report.backup) lines.push(`Backup: ${report.backup} (restore: kubectl apply -f ${report.backup})`)
  if (report.left.length > 0) lines.push('Left to do:', ...report.left.map((l) => `  - ${l}`))
  return lines.join('\n')
}
