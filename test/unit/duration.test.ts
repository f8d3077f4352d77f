import {parseDuration} from '../../src/cluster/duration.js'
import {UsageError} from '../../src/errors.js'
import {humanDuration} from '../../src/render/age.js'

describe('--request-timeout durations (kubectl semantics)', () => {
  it.each([['0', 0], ['5', 5000], ['500ms', 500], ['30s', 30_000], ['2m', 120_000], ['1m30s', 90_000], ['1h', 3_600_000], ['1.5s', 1500], ['3000µs', 3], ['2000us', 2]])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text, '--request-timeout')).toBe(ms)
  })
  it.each(['soon', '1x', '-1s', '', '10 s'])('rejects %p as bad usage', (text) => {
    expect(() => parseDuration(text, '--request-timeout')).toThrow(UsageError)
  })
})

describe('AGE like kubectl', () => {
  it.each([[5_000, '5s'], [119_000, '119s'], [150_000, '2m30s'], [600_000, '10m'], [3 * 3600_000 + 60_000, '3h1m'], [30 * 3600_000, '30h'], [3 * 86400_000, '3d'], [400 * 86400_000, '400d'], [3 * 365 * 86400_000, '3y']])('%d ms reads %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text)
  })
})
