// --test: which tests a run makes, by name, as cilium-cli's `connectivity test --test` chooses them: each
// expression is a regular expression matched anywhere in a test's name; one starting with `!` leaves the
// tests it matches out. A test runs when it matches an expression that keeps (or none is given) and none that
// leaves out. Expressions are given one per flag or several separated by commas.
import {UsageError} from '../errors.js'
import {CONNECTIVITY_TESTS, type ConnectivityTest} from './plan.js'

export interface TestSelection {
  /** The expressions as given, in order. */
  expressions: string[]
  /** The tests it keeps, in plan order. */
  tests: ConnectivityTest[]
  has(test: ConnectivityTest): boolean
}

/** Every test, for a run without --test. */
export const ALL_TESTS: TestSelection = {expressions: [], tests: [...CONNECTIVITY_TESTS], has: () => true}

/** The selection of --test's values (undefined or empty: every test); a bad expression, or one keeping nothing, is a usage error. */
export function parseTestSelection(values: readonly string[] | undefined): TestSelection {
  const expressions = (values ?? []).flatMap((v) => v.split(',')).map((e) => e.trim()).filter((e) => e !== '' && e !== '!')
  if (expressions.length === 0) return ALL_TESTS
  const keep: RegExp[] = []
  const leave: RegExp[] = []
  for (const expression of expressions) {
    const excluding = expression.startsWith('!')
    const source = excluding ? expression.slice(1) : expression
    let regex: RegExp
    try {
      regex = new RegExp(source)
    } catch (error) {
      throw new UsageError(`--test ${JSON.stringify(expression)} is not a regular expression (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`,
        `e.g. --test 'pod-to-pod' or --test '!dns'; the tests: ${CONNECTIVITY_TESTS.join(', ')}`)
    }
    ;(excluding ? leave : keep).push(regex)
  }
  const chosen = (test: string) => (keep.length === 0 || keep.some((r) => r.test(test))) && !leave.some((r) => r.test(test))
  const tests = CONNECTIVITY_TESTS.filter(chosen)
  if (tests.length === 0) {
    throw new UsageError(`--test ${expressions.join(',')} chooses no test`, `the tests: ${CONNECTIVITY_TESTS.join(', ')}`)
  }
  const set = new Set<ConnectivityTest>(tests)
  return {expressions, tests, has: (test) => set.has(test)}
}
