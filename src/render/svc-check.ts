import type {SvcCheckReport, TestResult} from '../svc/run.js'
import {renderTable} from './table.js'
import type {Theme} from './theme.js'

function statusCell(result: TestResult, theme: Theme): string {
  if (result.status === 'pass') return theme.ok('pass')
  if (result.status === 'fail') return theme.fail('FAIL')
  return theme.dim('skip')
}

export function svcCheckVerdict(report: SvcCheckReport): string {
  const failed = report.results.filter((r) => r.status === 'fail').length
  const ran = report.results.filter((r) => r.status !== 'skip').length
  const name = `${report.service.namespace}/${report.service.name}`
  return failed === 0 ? `${name}: all ${ran} tests passed` : `${name}: ${failed} of ${ran} tests failed`
}

export function renderSvcCheckTable(report: SvcCheckReport, theme: Theme): string {
  const s = report.service
  const header = `Service ${s.namespace}/${s.name}: ClusterIPs ${s.clusterIPs.join(', ') || 'none'}, families ${s.ipFamilies.join(', ') || 'none'}, policy ${s.ipFamilyPolicy ?? 'unset'}; from pod ${report.source.pod}${report.source.created ? ' (created for this check)' : ''}`
  const rows = report.results.map((r) => [
    r.family === 'ipv4' ? 'IPv4' : 'IPv6', r.kind, r.target, statusCell(r, theme), r.latencyMs !== undefined ? `${r.latencyMs.toFixed(2)} ms` : '', r.message,
  ])
  return [header, '', renderTable(['FAMILY', 'TEST', 'TARGET', 'RESULT', 'LATENCY', 'DETAILS'], rows), '', theme.bold(svcCheckVerdict(report))].join('\n')
}
