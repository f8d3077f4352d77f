import type {PodsRecreateReport} from '../ops/pods-recreate.js'
import {listSome} from '../doctor/check.js'
import {renderTable} from './table.js'
import type {Theme} from './theme.js'

/** What the action does to the group, said where the plan is read: a bare pod evicted is gone for good. */
function actionText(g: PodsRecreateReport['groups'][number]): string {
  if (g.action === 'rollout-restart') return `rollout restart (the ${g.owner?.kind ?? 'owner'} replaces its pods)`
  if (g.action === 'evict') return g.owner ? `evict one by one (the ${g.owner.kind} replaces each)` : 'evict (gone for good: nothing recreates it)'
  if (g.action === 'list') return 'list only'
  return g.action
}

export function renderPodsRecreate(report: PodsRecreateReport, theme: Theme): string {
  const lines: string[] = []
  if (report.groups.length > 0) {
    const ran = report.groups.some((g) => g.status !== 'pending')
    lines.push(renderTable(['NAMESPACE', 'OWNER', 'PODS', 'ACTION', ...(ran ? ['RESULT'] : [])], report.groups.map((g) => [
      g.namespace, g.owner ? `${g.owner.kind}/${g.owner.name}` : '<none>', listSome(g.pods, 3), actionText(g),
      ...(ran ? [`${g.status}${g.message ? `: ${g.message}` : ''}`] : []),
    ])))
  }
  const good = report.result !== 'incomplete' && report.result !== 'refused'
  // The plan shown before the confirmation has no outcome yet: no result line (it printed an empty `planned: `).
  if (report.message) lines.push((good ? theme.ok : theme.fail)(`${report.result}: ${report.message}`))
  if (report.notes.length > 0) lines.push(...report.notes.map((n) => `  - ${n}`))
  return lines.join('\n')
}
