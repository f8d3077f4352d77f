import {DEFAULT_RETRY, parseRetryAfter, retryDelay} from '../../src/cluster/retry.js'

const half = () => 0.5

describe('retryDelay', () => {
  it('retries reads on 429, 5xx and a dropped connection, with backoff that doubles, jittered', () => {
    expect(retryDelay({method: 'GET', status: 500}, 1, 0, DEFAULT_RETRY, half)).toBe(188) // 250 * (0.5 + 0.5 * 0.5)
    expect(retryDelay({method: 'GET', status: 503}, 2, 0, DEFAULT_RETRY, half)).toBe(375)
    expect(retryDelay({method: 'GET', transportCode: 'ECONNRESET'}, 3, 0, DEFAULT_RETRY, half)).toBe(750)
    expect(retryDelay({method: 'GET', status: 502}, 4, 0, DEFAULT_RETRY, () => 0)).toBe(1000)
    expect(retryDelay({method: 'GET', status: 502}, 4, 0, DEFAULT_RETRY, () => 1)).toBe(2000)
  })

  it('honours Retry-After, cut to its bound', () => {
    expect(retryDelay({method: 'GET', status: 429, retryAfterSeconds: 3}, 1, 0)).toBe(3000)
    expect(retryDelay({method: 'GET', status: 429, retryAfterSeconds: 600}, 1, 0)).toBe(DEFAULT_RETRY.maxRetryAfterMs)
  })

  it('never retries a write, except on 429 (the API server refused it before doing anything)', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(retryDelay({method, status: 500}, 1, 0)).toBeUndefined()
      expect(retryDelay({method, status: 503}, 1, 0)).toBeUndefined()
      expect(retryDelay({method, transportCode: 'ECONNRESET'}, 1, 0)).toBeUndefined()
      expect(retryDelay({method, status: 429, retryAfterSeconds: 1}, 1, 0)).toBe(1000)
    }
  })

  it('does not retry what waiting will not change, nor past its bounds', () => {
    for (const status of [400, 401, 403, 404, 409, 410, 422, 501]) expect(retryDelay({method: 'GET', status}, 1, 0)).toBeUndefined()
    expect(retryDelay({method: 'GET', transportCode: 'ECONNREFUSED'}, 1, 0)).toBeUndefined()
    expect(retryDelay({method: 'GET'}, 1, 0)).toBeUndefined() // our own --request-timeout: no code
    expect(retryDelay({method: 'GET', status: 500}, DEFAULT_RETRY.maxAttempts, 0)).toBeUndefined()
    expect(retryDelay({method: 'GET', status: 429, retryAfterSeconds: 5}, 1, DEFAULT_RETRY.maxTotalMs - 1000)).toBeUndefined()
  })
})

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7)
    expect(parseRetryAfter(new Date(Date.UTC(2026, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2026, 0, 1))).toBe(30)
    expect(parseRetryAfter('soon')).toBeUndefined()
    expect(parseRetryAfter(null)).toBeUndefined()
  })
})
