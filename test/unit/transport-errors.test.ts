// How transport failures read: a timeout the user set says so; the transport's own limits do not pretend to be it.
import {ANSWER_TIMEOUT, transportCode, transportError} from '../../src/cluster/errors.js'
import {retryDelay} from '../../src/cluster/retry.js'

const target = {context: 'prod', server: 'https://10.0.0.1:6443', namespace: 'default', user: 'admin'}
const wrapped = (cause: Record<string, unknown>) => Object.assign(new TypeError('fetch failed'), {cause})

describe('transport errors', () => {
  it('--request-timeout firing names its value', () => {
    expect(transportError(Object.assign(new Error('aborted'), {name: 'TimeoutError'}), target, 30_000).message)
      .toBe('request timed out after 30s (context "prod", server https://10.0.0.1:6443)')
  })
  it('the connect timeout, with no --request-timeout, is a connection that timed out (not "after 0s")', () => {
    const error = transportError(Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:6443'), {code: 'ETIMEDOUT'}), target, 0)
    expect(error.message).toBe('cannot connect to the API server: the connection timed out (context "prod", server https://10.0.0.1:6443)')
    expect(error.exitCode).toBe(3)
  })
  it('the server\'s silence past the answer timeout says the server did not answer', () => {
    expect(transportError(Object.assign(new Error('no answer from 10.0.0.1:6443 in 300s'), {code: ANSWER_TIMEOUT}), target, 0).message)
      .toBe('the API server did not answer in time (context "prod", server https://10.0.0.1:6443)')
  })
  it('an HTTP/2 GOAWAY (how the API server ends an anonymous client\'s connection) is tried again for reads, on a new connection', () => {
    for (const cause of [{code: 'UND_ERR_INFO', message: 'HTTP/2: "GOAWAY" frame received with code 0'}, {code: 'UND_ERR_SOCKET', message: 'HTTP/2: "GOAWAY" frame received with code 2'}]) {
      const thrown = wrapped(cause)
      expect(transportCode(thrown)).toBe('GOAWAY')
      expect(retryDelay({method: 'GET', transportCode: transportCode(thrown)}, 1, 0)).toBeGreaterThan(0)
      expect(retryDelay({method: 'POST', transportCode: transportCode(thrown)}, 1, 0)).toBeUndefined()
      expect(transportError(thrown, target, 0).message).toBe('the API server ended the connection (HTTP/2 GOAWAY) (context "prod", server https://10.0.0.1:6443)')
    }
  })
})
