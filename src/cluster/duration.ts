import {UsageError} from '../errors.js'

const UNIT_MS: Record<string, number> = {ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/**
 * Parses a duration the way kubectl's --request-timeout does: a bare integer is seconds, otherwise a Go
 * duration such as 500ms, 30s, 1m30s. Returns milliseconds; 0 means no timeout.
 */
export function parseDuration(text: string, flagName: string): number {
  const value = text.trim()
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const part = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/gy
  let total = 0
  let matched = 0
  let m: RegExpExecArray | null
  while ((m = part.exec(value)) !== null) {
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0)
    matched = part.lastIndex
  }
  if (value === '' || matched !== value.length) {
    throw new UsageError(`invalid duration "${text}" for ${flagName}`, 'use a whole number of seconds or a unit: 500ms, 30s, 2m')
  }
  return Math.round(total)
}

/** A duration a repair waits for: 0 would give up before the first wait (a pod deleted, never waited for). */
export function waitDuration(text: string, flagName: string): number {
  const ms = parseDuration(text, flagName)
  if (ms <= 0) throw new UsageError(`${flagName} ${text} leaves no time to wait for what the repair changes`, `give ${flagName} a duration above 0, e.g. ${flagName} 5m`)
  return ms
}
