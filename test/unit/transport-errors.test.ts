// How transport failures read: a timeout the user set says so; undici's own limits do not pretend to be it.
import {transportError} from '../../src/cluster/errors.js'

const target = {context: 'prod', server: 'https://10.0.0.1:6443', namespace: 'default', user: 'admin'}
const wrapped = (cause: Record<string, unknown>) => Object.assign(new TypeError('fetch failed'), {cause})

describe('transport errors', () => {
  it('--request-timeout firing names its value', () => {
    expect(transportError(Object.assign(new Error('aborted'), {name: 'TimeoutError'}), target, 30_000).message)
      .toBe('request timed out after 30s (context "prod", server https://10.0.0.1:6443)')
  })
  it('undici\'s connect timeout, with no --request-timeout, is a connection that timed out (not "after 0s")', () => {
    const error = transportError(wrapped({code: 'UND_ERR_CONNECT_TIMEOUT', message: 'Connect Timeout Error'}), target, 0)
    expect(error.message).toBe('cannot connect to the API server: the connection timed out (context "prod", server https://10.0.0.1:6443)')
    expect(error.exitCode).toBe(3)
  })
  it('undici\'s response timeout says the server did not answer', () => {
    expect(transportError(wrapped({code: 'UND_ERR_HEADERS_TIMEOUT', message: 'Headers Timeout Error'}), target, 0).message)
      .toBe('the API server did not answer in time (context "prod", server https://10.0.0.1:6443)')
  })
})
