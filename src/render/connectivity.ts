import type {Family} from '../net/ip.js'
import type {ConnectivityReport, ConnectivityResult} from '../svc/connectivity.js'
import type {JunitCase} from './junit.js'
import {renderTable} from './table.js'
import type {Theme} from './theme.js'

const MARK = {pass: '✔', fail: '✖', skip: '-'} as const

/** One row per test and path, one column per family: the matrix at a glance, failures spelled out below. */
export function renderConnectivity(report: ConnectivityReport, families: Family[], theme: Theme): string {
  const key = (r: ConnectivityResult) => `${r.test}\t${r.from}\t${r.to.split(' ')[0]}`
  const rows = new Map<string, Partial<Record<Family, ConnectivityResult>>>()
  for (const r of report.results) rows.set(key(r), {...rows.get(key(r)), [r.family]: r})
  const cell = (r: ConnectivityResult | undefined) => {
    if (!r) return ''
    const text = `${MARK[r.status]}${r.latencyMs !== undefined ? ` ${r.latencyMs.toFixed(2)} ms` : ''}`
    return r.status === 'pass' ? theme.ok(text) : r.status === 'fail' ? theme.fail(text) : theme.dim(text)
  }
  const table = renderTable(['TEST', 'FROM', 'TO', ...families.map((f) => (f === 'ipv4' ? 'IPV4' : 'IPV6'))],
    [...rows].map(([k, byFamily]) => [...k.split('\t'), ...families.map((f) => cell(byFamily[f]))]))
  const failures = report.results.filter((r) => r.status === 'fail').map((r) => `  ${theme.fail(MARK.fail)} ${r.test} ${r.family === 'ipv4' ? 'IPv4' : 'IPv6'} ${r.from} -> ${r.to}: ${r.message}`)
  const verdict = report.summary.fail === 0
    ? theme.ok(`all ${report.summary.pass} tests passed`)
    : theme.fail(`${report.summary.fail} of ${report.summary.pass + report.summary.fail} tests failed`)
  return [`Test workload in namespace ${report.namespace} on ${report.nodes.join(', ')} (deleted afterwards)`, '', table,
    ...(failures.length > 0 ? ['', 'Failures:', ...failures] : []), '', verdict].join('\n')
}

export function connectivityJunitCases(report: ConnectivityReport): JunitCase[] {
  return report.results.map((r) => ({
    classname: `connectivity.${r.test}`,
    name: `${r.family} ${r.from} -> ${r.to}`,
    outcome: r.status === 'pass' ? 'passed' as const : r.status === 'skip' ? 'skipped' as const : 'failure' as const,
    message: r.message,
  }))
}
