import path from 'node:path'

import {NOT_UNDERSTOOD} from '../lint/clusters.js'
import type {Finding} from '../lint/rules.js'
import {LINT_RULES} from '../lint/rules.js'
import type {Skipped, Unreadable} from '../lint/reader.js'
import type {JunitCase} from './junit.js'
import type {Theme} from './theme.js'

export interface LintReport {
  files: number
  /** Which files were linted together, as one cluster. */
  clusters: Array<{name: string; files: string[]}>
  findings: Finding[]
  skipped: Skipped[]
  /** Files that could not be linted (exit 2). */
  unreadable: Unreadable[]
  summary: {error: number; warning: number}
  /** Said once: which Kubernetes version the rules judged by, or that the version rules did not run. */
  notes: string[]
  /** What each file was read as. */
  readAs: Record<string, string[]>
}

function where(f: Finding): string {
  return `${f.at.file}:${f.at.line}:${f.at.column}`
}

function unreadableAt(u: Unreadable): string {
  return u.line === undefined ? u.file : `${u.file}:${u.line}:${u.column ?? 1}`
}

/** Not a rule: what SARIF and JUnit call a file that could not be linted. */
const INPUT_RULE = {id: 'input.unreadable', title: 'The file can be read as YAML'}

export function renderLintText(report: LintReport, theme: Theme): string {
  const lines: string[] = []
  for (const f of report.findings) {
    lines.push(`${where(f)}: ${f.severity === 'error' ? theme.fail('error') : theme.warn('warning')} ${f.message} ${theme.dim(`[${f.rule}]`)}`)
    if (f.fix) lines.push(`    fix: ${f.fix}`)
  }
  for (const u of report.unreadable) lines.push(`${unreadableAt(u)}: ${theme.fail('error')}: ${u.message}`)
  for (const s of report.skipped) lines.push(`${s.file}: ${theme.dim('not linted')}: ${s.reason}`)
  for (const note of report.notes) lines.push(theme.dim(`note: ${note}`))
  lines.push(`${report.files} file(s): ${report.summary.error} error(s), ${report.summary.warning} warning(s)${report.skipped.length > 0 ? `, ${report.skipped.length} not linted` : ''}${report.unreadable.length > 0 ? `, ${report.unreadable.length} could not be read` : ''}`)
  return lines.join('\n')
}

export function lintModel(report: LintReport): unknown {
  return {
    findings: report.findings.map((f) => ({rule: f.rule, severity: f.severity, file: f.at.file, line: f.at.line, column: f.at.column, message: f.message, ...(f.fix ? {fix: f.fix} : {})})),
    skipped: report.skipped,
    unreadable: report.unreadable.map((u) => ({file: u.file, ...(u.line !== undefined ? {line: u.line, column: u.column} : {}), message: u.message})),
    clusters: report.clusters,
    readAs: report.readAs,
    notes: report.notes,
    summary: report.summary,
  }
}

export function lintJunitCases(report: LintReport): JunitCase[] {
  return [
    ...report.findings.map((f) => ({classname: `lint.${f.rule}`, name: where(f), outcome: f.severity === 'error' ? 'failure' as const : 'passed' as const, message: `${f.severity}: ${f.message}`, body: f.fix})),
    ...report.unreadable.map((u) => ({classname: `lint.${INPUT_RULE.id}`, name: unreadableAt(u), outcome: 'failure' as const, message: `error: ${u.message}`})),
    ...report.skipped.map((s) => ({classname: 'lint.not-linted', name: s.file, outcome: 'skipped' as const, message: s.reason})),
  ]
}

/** SARIF 2.1.0, which code-scanning tools (GitHub, GitLab) read. */
export function renderSarif(report: LintReport, cwd: string): string {
  const uri = (file: string) => path.relative(cwd, path.resolve(file)).split(path.sep).join('/')
  return JSON.stringify({
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: {driver: {name: 'kubectl-dualstack lint', rules: [...LINT_RULES, INPUT_RULE, NOT_UNDERSTOOD].map((r) => ({id: r.id, shortDescription: {text: r.title}}))}},
      results: [...report.findings.map((f) => ({
        ruleId: f.rule,
        level: f.severity,
        message: {text: f.fix ? `${f.message} Fix: ${f.fix}` : f.message},
        locations: [{physicalLocation: {artifactLocation: {uri: uri(f.at.file)}, region: {startLine: f.at.line, startColumn: f.at.column}}}],
      })), ...report.unreadable.map((u) => ({
        ruleId: INPUT_RULE.id,
        level: 'error',
        message: {text: u.message},
        locations: [{physicalLocation: {artifactLocation: {uri: uri(u.file)}, ...(u.line !== undefined ? {region: {startLine: u.line, startColumn: u.column ?? 1}} : {})}}],
      }))],
    }],
  }, null, 2)
}
