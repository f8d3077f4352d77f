import type {ConnectivityReport} from '../connectivity/run.js'
import {ambiguityText, FAMILY_LABEL, pathText, type ConnectivityResult, type NodeSummary} from '../connectivity/report.js'
import type {NodeCulprit, PathCulprit} from '../connectivity/verdict.js'
import {parseAddress, type Family} from '../net/ip.js'
import type {JunitCase} from './junit.js'
import {renderTable} from './table.js'
import type {Theme} from './theme.js'

const MARK = {pass: '✔', fail: '✖', skip: '-'} as const
/** Beyond this many nodes the table keeps the ones that did not pass (-o wide lists every one). */
const ALL_NODES_UP_TO = 50
const FAILURES_SHOWN = 20

const count = (n: number) => n.toLocaleString('en-US')

/** Exactly what becomes of what the run made: its namespace, or what it made in one it did not. */
export function afterwards(report: Pick<ConnectivityReport, 'namespace' | 'workload'>): string {
  const {namespace, workload} = report
  const objects = [
    ...(workload.daemonSets.length > 0 ? [`DaemonSets ${workload.daemonSets.join(', ')}`] : []),
    ...(workload.services.length > 0 ? [`Service${workload.services.length === 1 ? '' : 's'} ${workload.services.join(', ')}`] : []),
  ].join(' and ')
  if (workload.kept) {
    return workload.namespaceCreated
      ? `kept (--keep); delete it with: kubectl delete namespace ${namespace}`
      : `kept (--keep): ${objects}; delete them with: kubectl delete daemonsets,services -n ${namespace} -l dualstack.run=${workload.run}`
  }
  return workload.namespaceCreated ? 'deleted afterwards' : `the namespace stays, not made by this run; deleted afterwards: the run's ${objects}`
}

/** What was tested, where, and what was left out: the report's first lines. */
function header(report: ConnectivityReport): string[] {
  const where = `from namespace ${report.namespace} (${afterwards(report)})`
  const lines: string[] = []
  if (report.sample) {
    const suspicious = report.sample.suspicious
    const named = suspicious.slice(0, 5).map((s) => `${s.node}: ${s.reasons.join(', ')}`).join('; ')
    lines.push(`Testing ${count(report.nodes.length)} of ${count(report.candidates)} nodes ${where}: a sample holding ${suspicious.length === 0 ? 'no suspicious node'
      : `the ${suspicious.length} suspicious node${suspicious.length === 1 ? '' : 's'} (${named}${suspicious.length > 5 ? `; ${suspicious.length - 5} more` : ''})`}` +
      ` and the rest spread over the node names; --sample 0 tests all`)
  } else {
    const n = count(report.nodes.length)
    const which = report.picked === 'nodes' ? `the ${n} node${report.nodes.length === 1 ? '' : 's'} of --nodes`
      : report.picked === 'node-selector' ? `the ${n} node${report.nodes.length === 1 ? '' : 's'} of --node-selector`
        : report.nodes.length === 1 ? 'the only node' : `all ${n} nodes`
    lines.push(`Testing ${which} ${where}`)
  }
  if (report.skipped.length > 0) {
    lines.push(`Skipped ${report.skipped.length}: ${report.skipped.slice(0, 10).map((s) => `${s.node} (${s.reason})`).join(', ')}${report.skipped.length > 10 ? `, and ${report.skipped.length - 10} more` : ''}`)
  }
  if (report.chosen) lines.push(`Tests of --test ${report.chosen.expressions.join(',')}: ${report.chosen.tests.join(', ')}`)
  return lines
}

function trafficCell(traffic: {pass: number; fail: number} | undefined, theme: Theme): string {
  if (!traffic || traffic.pass + traffic.fail === 0) return '-'
  const text = `${traffic.fail === 0 ? MARK.pass : MARK.fail} ${traffic.pass}/${traffic.pass + traffic.fail}`
  return traffic.fail === 0 ? theme.ok(text) : theme.fail(text)
}

function statusCell(node: NodeSummary, theme: Theme): string {
  if (node.status === 'pass') return theme.ok('pass')
  if (node.status === 'affected') return theme.warn('affected')
  return theme.fail(node.status)
}

/** One row per node: sent (OUT) and received (IN) per family. */
function nodeTable(report: ConnectivityReport, families: readonly Family[], theme: Theme, all: boolean): string[] {
  const quiet = (n: NodeSummary) => n.status === 'pass' || (n.status === 'affected' && n.findings.length === 0)
  const shown = all || report.nodeSummary.length <= ALL_NODES_UP_TO ? report.nodeSummary : report.nodeSummary.filter((n) => !quiet(n))
  const lines: string[] = []
  if (shown.length > 0) {
    lines.push(renderTable(['NODE', ...families.flatMap((f) => [`${FAMILY_LABEL[f].toUpperCase()} OUT`, `${FAMILY_LABEL[f].toUpperCase()} IN`]), 'RESULT'],
      shown.map((n) => [n.node, ...families.flatMap((f) => [trafficCell(n.families[f]?.sent, theme), trafficCell(n.families[f]?.received, theme)]), statusCell(n, theme)])))
  }
  const hidden = report.nodeSummary.length - shown.length
  if (hidden > 0) {
    lines.push(`${count(hidden)} more node${hidden === 1 ? '' : 's'} passed every test${report.everywhere.length > 0 ? ' but what fails on every node' : ''}, not listed (-o wide lists them)`)
  }
  return lines
}

/** The per-test matrix (-o wide): one row per test and path, one column per family. */
function testTable(report: ConnectivityReport, families: readonly Family[], theme: Theme): string {
  const key = (r: ConnectivityResult) => `${r.test}\t${r.from}\t${r.to.split(' ').filter((part) => !parseAddress(part)).join(' ')}`
  const rows = new Map<string, Partial<Record<Family, ConnectivityResult>>>()
  for (const r of report.results) rows.set(key(r), {...rows.get(key(r)), [r.family]: r})
  const cell = (r: ConnectivityResult | undefined) => {
    if (!r) return ''
    const text = `${MARK[r.status]}${r.latencyMs !== undefined ? ` ${r.latencyMs.toFixed(2)} ms` : ''}`
    return r.status === 'pass' ? theme.ok(text) : r.status === 'fail' ? theme.fail(text) : theme.dim(text)
  }
  return renderTable(['TEST', 'FROM', 'TO', ...families.map((f) => FAMILY_LABEL[f].toUpperCase())],
    [...rows].map(([k, byFamily]) => [...k.split('\t'), ...families.map((f) => cell(byFamily[f]))]))
}

/** Per node at a glance, then the verdict's culprits and what each other node shows, the failed tests, and the verdict. */
export function renderConnectivity(report: ConnectivityReport, families: readonly Family[], theme: Theme, wide = false): string {
  const out = [...header(report), '', ...nodeTable(report, families, theme, wide)]
  if (wide && report.results.length > 0) out.push('', testTable(report, families, theme))
  const {verdict} = report
  const culpritNodes = new Set(verdict.culprits.map((c) => c.node))
  const noted = report.nodeSummary.filter((n) => n.findings.length > 0)
  if (noted.length > 0 || report.everywhere.length > 0 || verdict.paths.length > 0 || verdict.ambiguous.length > 0) {
    out.push('', 'Nodes:')
    // The culprits first: nodes, then paths, then what the tests cannot tell apart; then what fails everywhere, then the rest.
    const line = (n: NodeSummary) => `  ${n.status === 'affected' ? theme.warn('!') : theme.fail(MARK.fail)} ${n.node}: ${n.findings.join('; ')}`
    for (const n of noted.filter((x) => culpritNodes.has(x.node))) out.push(line(n))
    for (const p of verdict.paths) out.push(`  ${theme.fail(MARK.fail)} ${pathText(p)}`)
    for (const a of verdict.ambiguous) {
      out.push(`  ${theme.warn('?')} ${ambiguityText(a)}${report.nodes.length === 2 ? ' (a third node would tell them apart)' : ''}`)
    }
    if (verdict.partial) out.push(`  ${theme.warn('?')} so many tests failed that the verdict above is a quick one, not proven the smallest explanation`)
    for (const e of report.everywhere) out.push(`  ${theme.fail(MARK.fail)} every node: ${e.test} ${FAMILY_LABEL[e.family]} fails: ${e.message}`)
    for (const n of noted.filter((x) => !culpritNodes.has(x.node))) out.push(line(n))
  }
  const failures = report.results.filter((r) => r.status === 'fail')
  if (failures.length > 0) {
    out.push('', 'Failures:')
    for (const r of failures.slice(0, FAILURES_SHOWN)) out.push(`  ${theme.fail(MARK.fail)} ${r.test} ${FAMILY_LABEL[r.family]} ${r.from} -> ${r.to}: ${r.message}`)
    if (failures.length > FAILURES_SHOWN) out.push(`  and ${count(failures.length - FAILURES_SHOWN)} more (-o json lists every test)`)
  }
  out.push('', conclusion(report, theme))
  return out.join('\n')
}

const DIRECTION: Record<NodeCulprit['direction'], string> = {in: 'in', out: 'out', both: 'in and out', 'on-node': 'between its own pods'}

function culpritName(c: NodeCulprit | PathCulprit): string {
  const tests = c.tests ? ` ${c.tests.join(', ')}` : ''
  if ('from' in c) return `the path ${c.from} ${c.bothWays ? '<->' : '->'} ${c.to} (${FAMILY_LABEL[c.family]}${tests})`
  return `${c.node} (${FAMILY_LABEL[c.family]}${tests} ${c.pod && !c.tests ? `${c.pod} pod` : c.tests && c.direction === 'on-node' ? 'on the node' : DIRECTION[c.direction]})`
}

function conclusion(report: ConnectivityReport, theme: Theme): string {
  const {pass, fail, notReady} = report.summary
  const names = (nodes: string[]) => `${nodes.slice(0, 10).join(', ')}${nodes.length > 10 ? ` and ${nodes.length - 10} more` : ''}`
  if (fail === 0 && notReady === 0) return theme.ok(`all ${count(pass)} tests passed on ${count(report.nodes.length)} node${report.nodes.length === 1 ? '' : 's'}`)
  const parts = [fail > 0 ? `${count(fail)} of ${count(pass + fail)} tests failed` : `${count(pass)} tests passed`]
  const culprits = [...report.verdict.culprits, ...report.verdict.paths].map(culpritName)
  if (culprits.length > 0) parts.push(`culprit${culprits.length === 1 ? '' : 's'}: ${names(culprits)}`)
  const undecided = report.verdict.ambiguous.map((a) => a.alternatives.map((alt) => [...alt.culprits, ...alt.paths].map(culpritName).join(' and ')).join(' or '))
  if (undecided.length > 0) parts.push(`undecided: ${names(undecided)}`)
  // Nodes failing on their own account beyond the verdict's (e.g. only their DNS lookups fail).
  const named = new Set([...report.verdict.culprits.map((c) => c.node), ...report.verdict.ambiguous.flatMap((a) => a.alternatives.flatMap((alt) => alt.culprits.map((c) => c.node)))])
  const failing = report.nodeSummary.filter((n) => n.status === 'fail' && !named.has(n.node)).map((n) => n.node)
  if (failing.length > 0) parts.push(`failing node${failing.length === 1 ? '' : 's'}: ${names(failing)}`)
  if (notReady > 0) parts.push(`not tested (test pods not Ready): ${names(report.notReady.map((n) => n.node))}`)
  return theme.fail(parts.join('; '))
}

export function connectivityJunitCases(report: ConnectivityReport): JunitCase[] {
  return [
    ...report.notReady.map((n) => ({classname: 'connectivity.test-pods', name: `${n.node} ready`, outcome: 'failure' as const, message: n.reason})),
    ...report.results.map((r) => ({
      classname: `connectivity.${r.test}`,
      name: `${r.family} ${r.from} -> ${r.to}`,
      outcome: r.status === 'pass' ? 'passed' as const : r.status === 'skip' ? 'skipped' as const : 'failure' as const,
      message: r.message,
    })),
  ]
}
