import type {CheckResult, Status} from '../doctor/check.js'
import type {DoctorReport} from '../doctor/run.js'
import type {JunitCase} from './junit.js'
import type {Theme} from './theme.js'

const SYMBOL: Record<Status, string> = {pass: '✔', warn: '!', fail: '✖', skip: '-', error: '?'}

function paint(status: Status, text: string, theme: Theme): string {
  if (status === 'pass') return theme.ok(text)
  if (status === 'warn') return theme.warn(text)
  if (status === 'fail' || status === 'error') return theme.fail(text)
  return theme.dim(text)
}

export function summaryText(summary: Record<Status, number>): string {
  return `${summary.pass} passed, ${summary.warn} warned, ${summary.fail} failed, ${summary.skip} skipped, ${summary.error} errored`
}

export function renderDoctorTable(report: DoctorReport, theme: Theme): string {
  const {cluster} = report
  const lines = [theme.bold(`Cluster: context "${cluster.context}" at ${cluster.server}, Kubernetes ${cluster.version} (${cluster.distribution}), ${cluster.calico ? `Calico ${cluster.calico}` : 'no Calico'}`)]
  const width = Math.max(...report.checks.map((c) => c.id.length))
  let area = ''
  for (const check of report.checks) {
    if (check.area !== area) {
      area = check.area
      lines.push('', theme.bold(area))
    }
    lines.push(`  ${paint(check.status, `${SYMBOL[check.status]} ${check.status.padEnd(5)}`, theme)} ${check.id.padEnd(width)}  ${check.message}`)
    if (check.remediation && (check.status === 'fail' || check.status === 'warn')) {
      const [first, ...rest] = check.remediation.split('\n')
      lines.push(`  ${' '.repeat(8 + width)}  ${theme.dim('fix:')} ${first}`, ...rest.map((l) => `  ${' '.repeat(8 + width)}       ${l}`))
    }
  }
  lines.push('', summaryText(report.summary))
  return lines.join('\n')
}

/** The documented JSON/YAML model. */
export function doctorModel(report: DoctorReport): unknown {
  return {
    cluster: report.cluster,
    checks: report.checks.map(({id, title, status, message, remediation, details}: CheckResult) => ({
      id, title, status, message, ...(remediation ? {remediation} : {}), ...(details ? {details} : {}),
    })),
    summary: report.summary,
  }
}

/** One JUnit testcase per check; with --strict a warning fails its case too. */
export function doctorJunitCases(report: DoctorReport, strict: boolean): JunitCase[] {
  return report.checks.map((c) => ({
    classname: `doctor.${c.area}`,
    name: c.id,
    outcome: c.status === 'fail' || (strict && c.status === 'warn') ? 'failure' as const
      : c.status === 'error' ? 'error' as const : c.status === 'skip' ? 'skipped' as const : 'passed' as const,
    message: `${c.status}: ${c.message}`,
    body: c.remediation,
  }))
}
