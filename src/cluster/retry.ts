// When a failed API request is tried again, and after how long. Reads (GET) are idempotent: they are
// retried on throttling (429), on an unavailable or failing server (5xx) and on a connection that dropped.
// A write is retried only on 429, which the API server sends before doing anything; any other failure of
// a write leaves its outcome unknown, and the caller re-reads before deciding (the repairs' executor does).

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number
  /** First backoff; it doubles per attempt, with jitter, up to maxDelayMs. */
  baseDelayMs: number
  maxDelayMs: number
  /** No retry starts once this long has passed since the first attempt. */
  maxTotalMs: number
  /** A Retry-After longer than this is cut to it. */
  maxRetryAfterMs: number
}

export const DEFAULT_RETRY: RetryPolicy = {maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 4000, maxTotalMs: 30_000, maxRetryAfterMs: 10_000}

export interface Failure {
  method: string
  /** The HTTP status, when the server answered. */
  status?: number
  /** The Retry-After header, in seconds, when there was one. */
  retryAfterSeconds?: number
  /** The transport error's code (ECONNRESET...), when there was no answer. */
  transportCode?: string
}

// A connection that broke after it was made: the server may be restarting or a proxy cut it. A refused
// connection is not retried: nothing is listening, and waiting rarely changes that within a command.
// GOAWAY: an HTTP/2 connection the server ended; a new one is made for the next attempt.
const RETRIED_TRANSPORT = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'GOAWAY'])

function retryable(failure: Failure): boolean {
  if (failure.status === 429) return true
  if (failure.method !== 'GET') return false
  if (failure.status !== undefined) return failure.status >= 500 && failure.status !== 501
  return failure.transportCode !== undefined && RETRIED_TRANSPORT.has(failure.transportCode)
}

/**
 * How long to wait before attempt `attempt + 1`, or undefined to give up. `attempt` counts the attempts
 * made so far (1 after the first failure); `elapsedMs` is the time since the first one started.
 */
export function retryDelay(failure: Failure, attempt: number, elapsedMs: number, policy: RetryPolicy = DEFAULT_RETRY, random: () => number = Math.random): number | undefined {
  if (!retryable(failure) || attempt >= policy.maxAttempts) return undefined
  let delay: number
  if (failure.retryAfterSeconds !== undefined && failure.retryAfterSeconds >= 0) {
    delay = Math.min(failure.retryAfterSeconds * 1000, policy.maxRetryAfterMs)
  } else {
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
    delay = Math.round(ceiling / 2 + (random() * ceiling) / 2) // "equal jitter": never less than half
  }
  return elapsedMs + delay > policy.maxTotalMs ? undefined : delay
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim())
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000))
}
