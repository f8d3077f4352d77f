import type {ServicesDualReport} from '../ops/services/run.js'
import {renderTable} from './table.js'
import type {Theme} from './theme.js'

const GOOD = new Set(['converted', 'planned', 'nothing'])

export function renderServicesDual(report: ServicesDualReport, theme: Theme): string {
  const lines: string[] = []
  if (report.services.length > 0) {
    lines.push(renderTable(['NAMESPACE', 'SERVICE', 'TYPE', 'POLICY', 'FAMILIES', 'GAINS', 'STATUS'], report.services.map((s) => [
      s.namespace, s.name, s.type || '-', s.policy.from === s.policy.to ? s.policy.from || '-' : `${s.policy.from} -> ${s.policy.to}`,
      s.families.from.join(',') === s.families.to.join(',') ? s.families.from.join(',') || '-' : `${s.families.from.join(',') || '-'} -> ${s.families.to.join(',')}`,
      s.gains ? `${s.gains}${s.headless ? ' (headless: no address)' : ' ClusterIP'}` : '-',
      `${s.status}${s.message ? `: ${s.message}` : ''}`,
    ])))
  }
  if (report.message) lines.push((GOOD.has(report.result) ? theme.ok : theme.fail)(`${report.result}: ${report.message}`))
  if (report.notes.length > 0) lines.push(...report.notes.map((n) => `  - ${n}`))
  return lines.join('\n')
}
