import type {CalicoRestartReport} from '../ops/calico-restart.js'
import {renderTable} from './table.js'
import type {Theme} from './theme.js'

export function renderCalicoRestart(report: CalicoRestartReport, theme: Theme): string {
  const lines = [theme.bold(`Calico in ${report.namespace} on context "${report.context}", server ${report.server}: ` +
    `${report.mode === 'all-at-once' ? 'all nodes at once' : `${report.maxUnavailable} node(s) at a time`}, then calico-kube-controllers`)]
  for (const warning of report.warnings) lines.push(theme.warn(`warning: ${warning}`))
  const rows = [...report.nodes, ...report.controllers.map((c) => ({...c, node: c.node ? `${c.node} (controllers)` : '(controllers)'}))]
  lines.push(renderTable(['NODE', 'POD', 'NEW POD', 'STATUS', 'SECONDS'], rows.map((r) => [r.node, r.pod, r.newPod ?? '', r.status, r.seconds === undefined ? '' : String(r.seconds)])))
  for (const r of rows.filter((x) => x.reason)) lines.push((r.status === 'not-restarted' ? theme.warn : theme.fail)(`${r.node}: ${r.reason}`))
  const good = report.result === 'restarted' || report.result === 'planned'
  // The plan shown before the confirmation has no outcome yet: no result line (it printed an empty `planned: `).
  if (report.message) lines.push((good ? theme.ok : theme.fail)(`${report.result}: ${report.message}`))
  return lines.join('\n')
}
