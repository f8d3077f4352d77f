// The fast path's credentials are client-node's: for every plain kind of user and cluster, what
// plainCredentials makes without loading KubeConfig equals what KubeConfig.applyToHTTPSOptions gives
// (through clientNodeCredentials, which the lazy path uses), headers and TLS settings alike; and an exec's
// WebSocket options (plainExecConfig) equal what KubeConfig.applyToHTTPSOptions gives client-node's exec.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {Cluster, User} from '@kubernetes/client-node/dist/config_types.js'

import {clientNodeCredentials, clientNodeNeed, plainCredentials, plainExecConfig, type Credentials} from '../../src/cluster/kube.js'

const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-parity-'))
const file = (name: string, text: string) => {
  writeFileSync(path.join(dir, name), text)
  return path.join(dir, name)
}
const b64 = (text: string) => Buffer.from(text).toString('base64')

/** Credentials without the fields left undefined (client-node copies every TLS field, set or not). */
function defined(credentials: Credentials): unknown {
  const tls = Object.fromEntries(Object.entries(credentials.tls).filter(([, value]) => value !== undefined))
  return {headers: credentials.headers, tls, proxyAgent: credentials.proxyAgent}
}

/** An exec connection's options, its agent as its class and options, without the fields left undefined. */
function execOptions(opts: Record<string, unknown>): unknown {
  const {agent, ...rest} = opts as {agent?: {constructor: {name: string}; options: Record<string, unknown>}}
  const set = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, value]) => value !== undefined))
  return {...set(rest), agent: agent && {kind: agent.constructor.name, options: set({...agent.options})}}
}

const server = 'https://10.0.0.1:6443'
const cases: Array<[string, Omit<Cluster, 'name' | 'server'>, Omit<User, 'name'>]> = [
  ['a token and CA data', {caData: b64('CA PEM'), skipTLSVerify: false}, {token: 'tok'}],
  ['a CA file, a client certificate and key as files', {caFile: file('ca.crt', 'CA FILE'), skipTLSVerify: false}, {certFile: file('me.crt', 'CERT'), keyFile: file('me.key', 'KEY')}],
  ['a CA file over CA data; certificate and key data', {caFile: file('ca2.crt', 'CA FILE'), caData: b64('CA DATA'), skipTLSVerify: false}, {certData: b64('CERT DATA'), keyData: b64('KEY DATA')}],
  ['username and password', {skipTLSVerify: false}, {username: 'alice', password: 's3cret'}],
  ['a username without a password (client-node sends "alice:undefined")', {skipTLSVerify: false}, {username: 'alice'}],
  ['username, password and a token (the token wins)', {skipTLSVerify: false}, {username: 'alice', password: 's3cret', token: 'tok'}],
  ['insecure-skip-tls-verify and tls-server-name', {skipTLSVerify: true, tlsServerName: 'api.internal'}, {token: 'tok'}],
  ['impersonation (as:) and no credentials', {skipTLSVerify: false}, {impersonateUser: 'viewer'}],
  ['nothing at all', {skipTLSVerify: false}, {}],
]

describe('the fast path\'s credentials equal client-node\'s KubeConfig\'s', () => {
  it.each(cases)('%s', async (_what, clusterFields, userFields) => {
    const cluster: Cluster = {name: 'c', server, ...clusterFields}
    const user: User = {name: 'u', ...userFields}
    expect(clientNodeNeed(cluster, user)).toBeUndefined()
    const {KubeConfig} = await import('@kubernetes/client-node/dist/config.js')
    const kc = new KubeConfig()
    kc.loadFromOptions({clusters: [cluster], users: [user], contexts: [{name: 'x', cluster: 'c', user: 'u'}], currentContext: 'x'})
    expect(defined(plainCredentials(cluster, user))).toEqual(defined(await clientNodeCredentials(kc)))
  })

  const execCases: Array<[string, Omit<Cluster, 'name' | 'server'> & {server?: string}, Omit<User, 'name'>]> = [
    ...cases, ['plain HTTP with insecure-skip-tls-verify', {skipTLSVerify: true, server: 'http://10.0.0.1:8080'}, {token: 'tok'}],
  ]
  it.each(execCases)(
    "an exec's WebSocket options: %s", async (_what, clusterFields, userFields) => {
      const cluster: Cluster = {name: 'c', server, ...clusterFields}
      const user: User = {name: 'u', ...userFields}
      const {KubeConfig} = await import('@kubernetes/client-node/dist/config.js')
      const kc = new KubeConfig()
      kc.loadFromOptions({clusters: [cluster], users: [user], contexts: [{name: 'x', cluster: 'c', user: 'u'}], currentContext: 'x'})
      const config = plainExecConfig(cluster, user, () => plainCredentials(cluster, user))
      const ours: Record<string, unknown> = {}
      const theirs: Record<string, unknown> = {}
      await config.applyToHTTPSOptions(ours)
      await kc.applyToHTTPSOptions(theirs)
      expect(execOptions(ours)).toEqual(execOptions(theirs))
      expect(config.getCurrentCluster()?.server).toBe(kc.getCurrentCluster()?.server)
      // One agent for every exec of the run, as KubeConfig's agent cache gives.
      const again: Record<string, unknown> = {}
      await config.applyToHTTPSOptions(again)
      expect(again.agent).toBe(ours.agent)
    })

  it('what only KubeConfig does takes the lazy path: exec plugins, auth providers, proxy-url', () => {
    const cluster: Cluster = {name: 'c', server, skipTLSVerify: false}
    expect(clientNodeNeed(cluster, {name: 'u', exec: {command: 'get-token'}})).toBe('an exec credential plugin')
    expect(clientNodeNeed(cluster, {name: 'u', authProvider: {name: 'oidc', config: {}}})).toBe('the auth provider oidc')
    expect(clientNodeNeed({...cluster, proxyUrl: 'http://proxy:3128'}, {name: 'u', token: 'tok'})).toBe('a proxy-url')
  })
})
