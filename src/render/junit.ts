// JUnit XML, the format CI systems read: one testcase per check or finding.

export interface JunitCase {
  classname: string
  name: string
  /** failure and error fail the case; skipped marks it skipped; otherwise it passed. */
  outcome: 'passed' | 'failure' | 'error' | 'skipped'
  message: string
  body?: string
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
}

export function renderJunit(suite: string, cases: readonly JunitCase[]): string {
  const count = (o: JunitCase['outcome']) => cases.filter((c) => c.outcome === o).length
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suite)}" tests="${cases.length}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}">`,
    `  <testsuite name="${xml(suite)}" tests="${cases.length}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}">`,
  ]
  for (const c of cases) {
    const open = `    <testcase classname="${xml(c.classname)}" name="${xml(c.name)}"`
    if (c.outcome === 'passed') {
      lines.push(`${open}>`, `      <system-out>${xml(c.message)}</system-out>`, '    </testcase>')
    } else {
      const tag = c.outcome === 'skipped' ? 'skipped' : c.outcome
      lines.push(`${open}>`, `      <${tag} message="${xml(c.message)}">${xml(c.body ?? '')}</${tag}>`, '    </testcase>')
    }
  }
  lines.push('  </testsuite>', '</testsuites>')
  return lines.join('\n')
}
