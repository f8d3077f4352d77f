// The only module that imports @kubernetes/client-node. Everything else talks to the cluster through
// ClusterClient and gets plain JSON objects and typed errors back.
// Start-up: client-node's KubeConfig (dist/config.js) loads undici, socks, hpagent, openid-client and the
// cloud auth providers whatever the kubeconfig holds, which costs more than kubectl's whole run. A
// kubeconfig is read here with client-node's own dist/config_types.js (which loads nothing) and js-yaml,
// client-node's YAML parser; a plain user (a token, a client certificate, a username and password) talks
// to the cluster on node:https (./transport.ts) without anything else. KubeConfig is imported on first
// use, for what only it does: exec credential plugins, auth providers (oidc, gcp, azure, the in-cluster
// token file) and proxies (proxy-url). An exec in a container loads client-node's exec and ws only: a plain
// user's exec connections are configured as KubeConfig would configure them (plainExecConfig).
import type {KubeConfig} from '@kubernetes/client-node/dist/config.js'
import {newClusters, newContexts, newUsers, type Cluster, type Context, type User} from '@kubernetes/client-node/dist/config_types.js'
import type {V1Status} from '@kubernetes/client-node/dist/gen/models/V1Status.js'
import {load as loadYaml} from 'js-yaml'
import {existsSync, readFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import {isIPv6} from 'node:net'
import {Writable} from 'node:stream'
import {homedir} from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import type WebSocket from 'ws'

import {ApiError, ClusterUnavailableError, DualstackError, ExitCode, UsageError} from '../errors.js'
import {parseDuration} from './duration.js'
import {apiErrorFromStatus, execError, transportCode, transportError} from './errors.js'
import {DEFAULT_RETRY, parseRetryAfter, retryDelay, type Failure, type RetryPolicy} from './retry.js'
import {keptAgent, lines, readText, send, SessionAgent, type TlsSettings} from './transport.js'
import type {ConnectionFlags, KubeList, KubeObject, Target} from './types.js'

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
  timedOut: boolean
}

function collector(): {stream: Writable; text(): string} {
  const chunks: Buffer[] = []
  return {
    stream: new Writable({write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk))
      done()
    }}),
    text: () => Buffer.concat(chunks).toString('utf8'),
  }
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount'
export const PAGE_SIZE = 500

/** A kubeconfig as client-node's KubeConfig holds one: its entries normalised by config_types.js. */
interface Kubeconfig {
  clusters: Cluster[]
  users: User[]
  contexts: Context[]
  currentContext: string
}

interface LoadedConfig {
  /** The cluster, user and context of the run, kubectl's flags applied. */
  cluster: Cluster
  user: User
  context: Context
  target: Target
  impersonation: Array<[string, string]>
}

/** The kubeconfig files kubectl would read, in order: --kubeconfig, else $KUBECONFIG's list, else ~/.kube/config. */
function kubeconfigFiles(flag: string | undefined): string[] {
  if (flag) {
    if (!existsSync(flag)) throw new UsageError(`kubeconfig file ${flag} does not exist`, 'check the --kubeconfig path')
    return [flag]
  }
  const env = process.env.KUBECONFIG
  if (env) return env.split(path.delimiter).filter((file) => file !== '' && existsSync(file))
  const home = path.join(process.env.HOME ?? homedir(), '.kube', 'config')
  return existsSync(home) ? [home] : []
}

/** client-node's makeAbsolutePath: a path in a kubeconfig is relative to the file's folder. */
function absolute(root: string, file: string): string {
  return !root || path.isAbsolute(file) ? file : path.join(root, file)
}

/**
 * One kubeconfig file, read as client-node's KubeConfig.loadFromFile reads it (dist/config.js: loadFromFile,
 * loadFromString, makePathsAbsolute): the same YAML parser, the same normalising functions, the same errors.
 */
function readKubeconfig(file: string): Kubeconfig {
  const root = path.dirname(file)
  const obj = loadYaml(readFileSync(file).toString('utf-8')) as {clusters?: unknown; users?: unknown; contexts?: unknown; 'current-context'?: string}
  const clusters = newClusters(obj.clusters)
  const contexts = newContexts(obj.contexts)
  const users = newUsers(obj.users)
  for (const cluster of clusters) if (cluster.caFile) cluster.caFile = absolute(root, cluster.caFile)
  for (const user of users) {
    if (user.certFile) user.certFile = absolute(root, user.certFile)
    if (user.keyFile) user.keyFile = absolute(root, user.keyFile)
  }
  return {clusters, users, contexts, currentContext: obj['current-context'] ?? ''}
}

/**
 * Merges kubeconfig files as kubectl does: the first file to name a cluster, user or context wins, and
 * current-context comes from the first file that sets one. (client-node's own merge throws on duplicates.)
 */
function mergeKubeconfigs(files: string[]): Kubeconfig {
  const clusters = new Map<string, Cluster>()
  const users = new Map<string, User>()
  const contexts = new Map<string, Context>()
  let currentContext = ''
  for (const file of files) {
    let one: Kubeconfig
    try {
      one = readKubeconfig(file)
    } catch (error) {
      throw new UsageError(`cannot read kubeconfig ${file}: ${(error as Error).message.split('\n')[0]}`, 'fix the file or point --kubeconfig elsewhere')
    }
    for (const c of one.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c)
    for (const u of one.users) if (!users.has(u.name)) users.set(u.name, u)
    for (const c of one.contexts) if (!contexts.has(c.name)) contexts.set(c.name, c)
    if (!currentContext && one.currentContext) currentContext = one.currentContext
  }
  return {clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext}
}

/**
 * The service account's configuration inside a pod, as client-node's KubeConfig.loadFromCluster makes it
 * (dist/config.js); its token file is read by client-node's FileAuth, on first use.
 */
function inClusterKubeconfig(): Kubeconfig {
  const host = process.env.KUBERNETES_SERVICE_HOST
  const port = process.env.KUBERNETES_SERVICE_PORT
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https'
  const serverHost = host && isIPv6(host) ? `[${host}]` : host
  const namespaceFile = `${SERVICE_ACCOUNT}/namespace`
  return {
    clusters: [{name: 'inCluster', caFile: `${SERVICE_ACCOUNT}/ca.crt`, server: `${scheme}://${serverHost}:${port}`, skipTLSVerify: false}],
    users: [{name: 'inClusterUser', authProvider: {name: 'tokenFile', config: {tokenFile: `${SERVICE_ACCOUNT}/token`}}}],
    contexts: [{cluster: 'inCluster', name: 'inClusterContext', user: 'inClusterUser', namespace: existsSync(namespaceFile) ? readFileSync(namespaceFile).toString('utf-8') : undefined}],
    currentContext: 'inClusterContext',
  }
}

function named<T extends {name: string}>(list: T[], name: string): T | undefined {
  return list.find((entry) => entry.name === name)
}

/** The context names of the kubeconfig kubectl would read (for completion: no cluster is contacted). */
export function kubeconfigContextNames(kubeconfig: string | undefined): string[] {
  const files = kubeconfigFiles(kubeconfig)
  return files.length === 0 ? [] : mergeKubeconfigs(files).contexts.map((c) => c.name)
}

/** kubectl's refusals of flags that contradict each other (its own wording, where it has one). */
function checkConnectionFlags(flags: ConnectionFlags): void {
  if (((flags.asGroup?.length ?? 0) > 0 || flags.asUid) && !flags.as) {
    throw new UsageError('requesting uid or groups impersonation without user impersonation is not allowed', 'add --as USER')
  }
  if (flags.insecureSkipTlsVerify && flags.certificateAuthority) {
    throw new UsageError('specifying a root certificates file with the insecure flag is not allowed', 'pass --certificate-authority or --insecure-skip-tls-verify, not both')
  }
  if (flags.server !== undefined && !/^https?:\/\/[^/]/.test(flags.server)) {
    throw new UsageError(`--server ${JSON.stringify(flags.server)} is not a URL`, 'pass the API server as https://HOST:PORT')
  }
  for (const [flag, file] of [['--certificate-authority', flags.certificateAuthority], ['--client-certificate', flags.clientCertificate], ['--client-key', flags.clientKey]] as const) {
    if (file !== undefined && !existsSync(file)) throw new UsageError(`${flag} ${file}: no such file`, `check the path given to ${flag}`)
  }
}

export function loadKubeConfig(flags: ConnectionFlags): LoadedConfig {
  checkConnectionFlags(flags)
  const files = kubeconfigFiles(flags.kubeconfig)
  let kc: Kubeconfig
  if (files.length > 0) {
    kc = mergeKubeconfigs(files)
  } else if (flags.server) {
    // As kubectl: --server (with --token or certificates) is a connection by itself, without a kubeconfig.
    kc = {clusters: [], users: [], contexts: [], currentContext: ''}
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(`${SERVICE_ACCOUNT}/token`)) {
    kc = inClusterKubeconfig()
  } else {
    throw new ClusterUnavailableError(
      'no kubeconfig found (looked at $KUBECONFIG and ~/.kube/config) and not running inside a pod',
      'pass --kubeconfig FILE or set KUBECONFIG',
    )
  }
  const contextName = flags.context || kc.currentContext
  let context: Context | undefined
  if (contextName) {
    context = named(kc.contexts, contextName)
    if (!context) throw new UsageError(`context "${contextName}" not found in the kubeconfig`, 'see: kubectl config get-contexts')
  } else if (!flags.server) {
    throw new UsageError('the kubeconfig has no current context', 'pass --context NAME (see: kubectl config get-contexts)')
  }
  const clusterName = flags.cluster || context?.cluster || ''
  const cluster = clusterName ? named(kc.clusters, clusterName) : undefined
  if (flags.cluster && !cluster) throw new UsageError(`cluster "${flags.cluster}" not found in the kubeconfig`, 'see: kubectl config get-clusters')
  if (!cluster && !flags.server) throw new UsageError(`context "${contextName}" names cluster "${clusterName}", which the kubeconfig does not define`, 'fix the kubeconfig')
  const userName = flags.user || context?.user || ''
  const user = userName ? named(kc.users, userName) : undefined
  if (flags.user && !user) throw new UsageError(`user "${flags.user}" not found in the kubeconfig`, 'see: kubectl config get-users')

  // The flags override the kubeconfig's fields one by one, as kubectl's do.
  const insecure = flags.insecureSkipTlsVerify === true
  const caFromFlag = flags.certificateAuthority !== undefined || insecure
  const effectiveCluster: Cluster = {
    name: clusterName || 'from-flags',
    server: flags.server ?? cluster!.server,
    caData: caFromFlag ? undefined : cluster?.caData,
    caFile: caFromFlag ? flags.certificateAuthority : cluster?.caFile,
    skipTLSVerify: insecure || (cluster?.skipTLSVerify ?? false),
    tlsServerName: flags.tlsServerName ?? cluster?.tlsServerName,
    proxyUrl: cluster?.proxyUrl,
  }
  const tokenFromFlag = flags.token !== undefined
  const effectiveUser: User = {
    ...(user ?? {}),
    name: userName || 'from-flags',
    // --token replaces how the user authenticates (no exec plugin or auth provider is run for it).
    ...(tokenFromFlag ? {token: flags.token, exec: undefined, authProvider: undefined} : {}),
    ...(flags.clientCertificate !== undefined ? {certFile: flags.clientCertificate, certData: undefined} : {}),
    ...(flags.clientKey !== undefined ? {keyFile: flags.clientKey, keyData: undefined} : {}),
    ...(flags.as !== undefined ? {impersonateUser: flags.as} : {}),
  }
  if (/^http:\/\//i.test(effectiveCluster.server) && !effectiveCluster.skipTLSVerify) {
    // client-node refuses it while it gets the credentials, which read as if the credentials were wrong.
    throw new UsageError(`the API server address ${effectiveCluster.server} is plain HTTP: the credentials would go unencrypted`,
      'use its https:// address (--server or the kubeconfig cluster); --insecure-skip-tls-verify allows plain HTTP')
  }
  const name = contextName || 'from-flags'
  const namespace = flags.namespace || context?.namespace || 'default'
  return {
    cluster: effectiveCluster, user: effectiveUser,
    context: {name, cluster: effectiveCluster.name, user: effectiveUser.name, namespace: context?.namespace},
    target: {context: name, server: effectiveCluster.server, namespace, user: userName || '(from flags)'},
    impersonation: impersonationHeaders(flags),
  }
}

/** The impersonation headers client-node does not set: groups (one header each) and the uid. */
function impersonationHeaders(flags: ConnectionFlags): Array<[string, string]> {
  return [...(flags.asGroup ?? []).map((group): [string, string] => ['Impersonate-Group', group]), ...(flags.asUid ? [['Impersonate-Uid', flags.asUid] as [string, string]] : [])]
}

/** What authenticates a request: its headers and the TLS settings of the kept connection (or client-node's proxy agent). */
export interface Credentials {
  headers: Record<string, string>
  tls: TlsSettings
  /** client-node's agent for a proxy-url (hpagent, socks-proxy-agent), used as it is. */
  proxyAgent?: http.Agent
}

/**
 * What only client-node's KubeConfig can do for this cluster and user: its authenticators (exec plugins,
 * the oidc, gcp, azure and tokenFile auth providers) and its proxy agents. undefined for a plain user.
 */
export function clientNodeNeed(cluster: Cluster, user: User): string | undefined {
  if (user.exec) return 'an exec credential plugin'
  if (user.authProvider) return `the auth provider ${String((user.authProvider as {name?: unknown}).name ?? '')}`.trimEnd()
  if (cluster.proxyUrl) return 'a proxy-url'
  return undefined
}

/** client-node's bufferFromFileOrString: a file wins over base64 data. */
function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file)
  if (data) return Buffer.from(data, 'base64')
  return undefined
}

/**
 * A plain user's credentials, made as client-node's KubeConfig makes them for a request (dist/config.js:
 * applySecurityAuthentication, with applyHTTPSOptions and applyAuthorizationHeader, no authenticator
 * being the user's): the same fields, the same precedence (a token wins over a username and password).
 */
export function plainCredentials(cluster: Cluster, user: User): Credentials {
  const tls: TlsSettings = {}
  if (cluster.skipTLSVerify) tls.rejectUnauthorized = false
  if (cluster.tlsServerName) tls.servername = cluster.tlsServerName
  const ca = fileOrData(cluster.caFile, cluster.caData)
  if (ca) tls.ca = ca
  const cert = fileOrData(user.certFile, user.certData)
  if (cert) tls.cert = cert
  const key = fileOrData(user.keyFile, user.keyData)
  if (key) tls.key = key
  const headers: Record<string, string> = {}
  if (user.username) headers.Authorization = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`
  if (user.impersonateUser != null) headers['Impersonate-User'] = `${user.impersonateUser}`
  if (user.token) headers.Authorization = `Bearer ${user.token}`
  return {headers, tls}
}

/**
 * The credentials client-node's KubeConfig gives for a request: applyToHTTPSOptions, as its own WebSocket
 * connections take them (it runs the authenticator; its agent is a proxy's, or a plain one left for the kept agent).
 */
export async function clientNodeCredentials(kc: KubeConfig): Promise<Credentials> {
  const options: https.RequestOptions = {}
  await kc.applyToHTTPSOptions(options)
  const headers: Record<string, string> = {}
  // applySecurityAuthentication's order: the basic credentials, then the headers (a bearer token) over them.
  if (options.auth) headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`
  for (const [header, value] of Object.entries(options.headers ?? {})) headers[header] = `${String(value)}`
  const {ca, cert, key, pfx, passphrase, rejectUnauthorized, servername} = options
  const agent = options.agent
  const plain = !agent || agent.constructor === https.Agent || agent.constructor === http.Agent
  return {headers, tls: {ca, cert, key, pfx, passphrase, rejectUnauthorized, servername} as TlsSettings, proxyAgent: plain ? undefined : agent as http.Agent}
}

/** What client-node's WebSocketHandler reads from its KubeConfig (dist/web-socket-handler.js: connect): the cluster, and each connection's options. */
export type ExecConfig = Pick<KubeConfig, 'getCurrentCluster' | 'applyToHTTPSOptions'>

/**
 * A plain user's exec connections, configured as client-node's KubeConfig.applyToHTTPSOptions configures them
 * (dist/config.js: applyHTTPSOptions, applyAuthorizationHeader, createAgent), without loading KubeConfig (and
 * undici with it) for the first exec, and from the credentials the requests use, read once: KubeConfig reads
 * the CA, certificate and key files again for every exec.
 */
export function plainExecConfig(cluster: Cluster, user: User, credentials: () => Credentials): ExecConfig {
  let agent: http.Agent | undefined
  return {
    getCurrentCluster: () => cluster,
    async applyToHTTPSOptions(options) {
      const opts = options as https.RequestOptions
      const {ca, cert, key, rejectUnauthorized, servername} = credentials().tls
      if (rejectUnauthorized !== undefined) opts.rejectUnauthorized = rejectUnauthorized
      if (servername !== undefined) opts.servername = servername
      if (ca) opts.ca = ca
      if (cert) opts.cert = cert
      if (key) opts.key = key
      const headers = (opts.headers ??= {}) as Record<string, string>
      if (user.impersonateUser != null) headers['Impersonate-User'] = user.impersonateUser
      if (user.token) headers.Authorization = `Bearer ${user.token}`
      // As KubeConfig: ws sends it as Basic, unless a token set the Authorization header.
      if (user.username) opts.auth = `${user.username}:${user.password}`
      // KubeConfig's one agent for the cluster and user (its agentCache); loadKubeConfig refused plain HTTP without --insecure-skip-tls-verify.
      const agentOptions: https.AgentOptions = {ca: opts.ca, cert: opts.cert, key: opts.key, timeout: opts.timeout, servername: opts.servername,
        ...(opts.rejectUnauthorized === undefined ? {} : {rejectUnauthorized: opts.rejectUnauthorized})}
      agent ??= cluster.server.startsWith('http:') ? new http.Agent(agentOptions) : new https.Agent(agentOptions)
      opts.agent = agent
    },
  }
}

/** client-node's exec and ws, imported by the first exec of the run (once: an import() per exec cost ~0.1 ms of CPU each). */
let execModules: Promise<[typeof import('@kubernetes/client-node/dist/exec.js'), typeof import('@kubernetes/client-node/dist/web-socket-handler.js'), typeof import('ws')]> | undefined
function loadExecModules(): NonNullable<typeof execModules> {
  execModules ??= Promise.all([import('@kubernetes/client-node/dist/exec.js'), import('@kubernetes/client-node/dist/web-socket-handler.js'), import('ws')])
  return execModules
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  /** The object; for ERROR, a Status. */
  object: T
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>
  body?: unknown
  contentType?: string
}

/** A connection to one cluster, made from kubectl's flags. Reads return plain JSON. */
export class ClusterClient {
  readonly target: Target
  private readonly loaded: LoadedConfig
  private readonly timeoutMs: number
  private readonly impersonation: Array<[string, string]>
  /** Why client-node's KubeConfig authenticates the requests, when it does. */
  private readonly clientNodeNeed: string | undefined
  private plain?: Credentials
  private kubeConfigLoaded?: Promise<KubeConfig>
  private plainExec?: ExecConfig
  private execAgent?: SessionAgent
  // The first request's TLS settings make the agent every request goes through, and its connection is kept,
  // as kubectl keeps its own (client-node would make a new agent, a new TLS connection, for each request).
  private agent?: http.Agent
  private readonly retryPolicy: RetryPolicy = DEFAULT_RETRY

  private constructor(loaded: LoadedConfig, timeoutMs: number) {
    this.loaded = loaded
    this.target = loaded.target
    this.impersonation = loaded.impersonation
    this.timeoutMs = timeoutMs
    this.clientNodeNeed = clientNodeNeed(loaded.cluster, loaded.user)
  }

  static connect(flags: ConnectionFlags): ClusterClient {
    const timeoutMs = flags.requestTimeout ? parseDuration(flags.requestTimeout, '--request-timeout') : 0
    return new ClusterClient(loadKubeConfig(flags), timeoutMs)
  }

  /** client-node's KubeConfig for the run's cluster and user, imported on first use (exec plugins, auth providers, proxies). */
  private kubeConfig(): Promise<KubeConfig> {
    this.kubeConfigLoaded ??= import('@kubernetes/client-node/dist/config.js').then(({KubeConfig}) => {
      const kc = new KubeConfig()
      const {cluster, user, context} = this.loaded
      kc.loadFromOptions({clusters: [cluster], users: [user], contexts: [context], currentContext: context.name})
      return kc
    })
    return this.kubeConfigLoaded
  }

  /** What an exec's WebSocket is configured from: KubeConfig when the user needs it, else the plain credentials. */
  private execConfig(): Promise<ExecConfig> {
    if (this.clientNodeNeed) return this.kubeConfig()
    this.plainExec ??= plainExecConfig(this.loaded.cluster, this.loaded.user, () => (this.plain ??= plainCredentials(this.loaded.cluster, this.loaded.user)))
    return Promise.resolve(this.plainExec)
  }

  /** The URL and the authenticated headers of a request, and the credentials its connection is made with. */
  private async prepare(apiPath: string, query: RequestOptions['query']): Promise<{url: URL; headers: Record<string, string>; credentials: Credentials}> {
    const url = new URL(this.target.server.replace(/\/$/, '') + apiPath)
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value))
    }
    let credentials: Credentials
    try {
      credentials = this.clientNodeNeed
        ? await clientNodeCredentials(await this.kubeConfig())
        : this.plain ??= plainCredentials(this.loaded.cluster, this.loaded.user)
    } catch (error) {
      throw new ClusterUnavailableError(
        `cannot get credentials for user "${this.target.user}" (context "${this.target.context}"): ${(error as Error).message.split('\n')[0]}`,
        'check the kubeconfig user (its exec plugin, token or certificate)',
      )
    }
    return {url, headers: {...credentials.headers, Accept: 'application/json'}, credentials}
  }

  /** The kept agent, made on the first request (inside its try: a CA or key that does not parse fails as the connection). */
  private agentFor(credentials: Credentials, url: URL): http.Agent {
    this.agent ??= credentials.proxyAgent ?? keptAgent(url.protocol, credentials.tls)
    return this.agent
  }

  /** The headers with the impersonated groups, one header line each (Node's HTTP/1.1 sends an array so). */
  private withImpersonation(headers: Record<string, string>): Record<string, string | string[]> {
    const all: Record<string, string | string[]> = {...headers}
    for (const [header, value] of this.impersonation) {
      const had = all[header]
      all[header] = had === undefined ? [value] : [...(Array.isArray(had) ? had : [had]), value]
    }
    return all
  }

  /**
   * One watch request: its events as they come, until the server ends the stream (timeoutSeconds) or
   * signal aborts it. A refused watch throws the typed error (410 Gone included) like any request.
   */
  async *watch<T>(collectionPath: string, query: Record<string, string | number | boolean | undefined>, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const {url, headers, credentials} = await this.prepare(collectionPath, {...query, watch: true})
    let answer
    let refusal: string | undefined
    try {
      answer = await send(url, {method: 'GET', headers: this.withImpersonation(headers), signal, agent: this.agentFor(credentials, url)})
      if (answer.status >= 400) refusal = await readText(answer, signal)
    } catch (error) {
      throw transportError(error, this.target, 0)
    }
    if (refusal !== undefined) throw apiErrorFromStatus(answer.status, refusal, 'GET', collectionPath, this.target)
    try {
      for await (const line of lines(answer, signal)) yield JSON.parse(line) as WatchEvent<T>
    } catch (error) {
      if (signal.aborted) return
      throw transportError(error, this.target, 0)
    }
  }

  /** One API request; the answer's JSON, or a typed error naming what failed and what to do. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', apiPath: string, options: RequestOptions = {}): Promise<T> {
    const {url, headers, credentials} = await this.prepare(apiPath, options.query)
    let body: string | undefined
    if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['Content-Type'] = options.contentType ?? 'application/json'
    }
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      // --request-timeout bounds each attempt; the retry policy bounds them all.
      const signal = this.timeoutMs > 0 ? AbortSignal.timeout(this.timeoutMs) : undefined
      let error: DualstackError
      let failure: Failure
      try {
        const answer = await send(url, {method, headers: this.withImpersonation(headers), body, signal, agent: this.agentFor(credentials, url)})
        const text = await readText(answer, signal)
        if (answer.status < 400) return (text ? JSON.parse(text) : {}) as T
        error = apiErrorFromStatus(answer.status, text, method, apiPath, this.target)
        const retryAfter = answer.headers['retry-after']
        failure = {method, status: answer.status, retryAfterSeconds: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter)}
      } catch (thrown) {
        error = transportError(thrown, this.target, this.timeoutMs)
        failure = {method, transportCode: transportCode(thrown)}
      }
      const elapsed = Date.now() - started
      const delay = retryDelay(failure, attempt, elapsed, this.retryPolicy)
      if (delay === undefined) {
        if (attempt > 1) error.message += ` (gave up after ${attempt} attempts in ${(elapsed / 1000).toFixed(1)}s)`
        throw error
      }
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }

  /**
   * Deletes an object and makes sure it is gone: a DELETE that failed on the way (a dropped connection, a
   * 5xx) may or may not have happened, so the object is read again, and deleted again only if it is still
   * there. For clean-ups (test pods, the lock), which must not be left behind by one bad answer.
   */
  async deleteConfirmed(objectPath: string, body?: unknown): Promise<void> {
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      try {
        await this.request('DELETE', objectPath, body === undefined ? {} : {body})
        return
      } catch (error) {
        if (error instanceof ApiError && error.code === 404) return
        const unknownOutcome = !(error instanceof ApiError) || error.code >= 500 || error.code === 429
        if (!unknownOutcome) throw error
        if ((await this.getIfExists(objectPath).catch(() => 'unreadable')) === undefined) return
        const delay = retryDelay({method: 'GET', status: 503}, attempt, Date.now() - started, this.retryPolicy)
        if (delay === undefined) throw error
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  /** GET that answers undefined for 404 (an object or a CRD that is not there). */
  async getIfExists<T>(apiPath: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', apiPath)
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return undefined
      throw error
    }
  }

  /** All items of a collection, read page by page. For collections that are small by nature. */
  async listAll<T extends KubeObject>(collectionPath: string, query: Record<string, string | undefined> = {}): Promise<T[]> {
    const items: T[] = []
    for await (const page of this.listPages<T>(collectionPath, query)) items.push(...page)
    return items
  }

  /**
   * Runs argv in a container over the exec WebSocket and returns its output and exit code; a non-zero
   * exit is a result, not an error. argv is passed as an array: nothing is ever built into a shell string.
   */
  async exec(namespace: string, pod: string, container: string, argv: string[], timeoutMs: number): Promise<ExecResult> {
    const [[{Exec}, {WebSocketHandler}, {default: WebSocketClass}], config] = await Promise.all([loadExecModules(), this.execConfig()])
    // client-node's exec reads only these of its KubeConfig (through WebSocketHandler, which is given).
    const kc = config as KubeConfig
    const stdout = collector()
    const stderr = collector()
    return new Promise<ExecResult>((resolve, reject) => {
      let settled = false
      // This exec's WebSocket from the moment it is made: an upgrade the server never answers is ended with
      // it, or its open socket would keep the process alive after the command is done.
      let socket: WebSocket | undefined
      // Output frames may still be in flight behind the status frame: the result settles when the socket closes.
      let exitCode: number | undefined
      const finish = (result: ExecResult | Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (result instanceof Error) reject(result)
        else resolve(result)
      }
      const timer = setTimeout(() => {
        socket?.terminate()
        finish({exitCode: -1, stdout: stdout.text(), stderr: stderr.text(), timedOut: true})
      }, timeoutMs)
      const onStatus = (status: V1Status) => {
        const code = status.status === 'Success' ? 0 : Number(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message ?? NaN)
        if (Number.isNaN(code)) finish(new ApiError(`exec in ${namespace}/${pod} failed: ${status.message ?? status.reason}`, 500, status.reason, ExitCode.ProblemsFound))
        else exitCode = code
      }
      const handler = new WebSocketHandler(kc, (uri, protocols, opts) => {
        socket = this.execSocket(WebSocketClass, uri, protocols, opts)
        // Made after the timeout (client-node's credentials were slow): ended at once.
        if (settled) socket.terminate()
        return socket
      })
      new Exec(kc, handler).exec(namespace, pod, container, argv, stdout.stream, stderr.stream, null, false, onStatus)
        .then((ws) => {
          ws.on('close', () => finish(exitCode === undefined
            ? new ApiError(`exec in ${namespace}/${pod} ended without an exit status`, 500, undefined, ExitCode.ProblemsFound)
            : {exitCode, stdout: stdout.text(), stderr: stderr.text(), timedOut: false}))
        })
        .catch((error: unknown) => finish(execError(error, this.target, namespace, pod)))
    })
  }

  /**
   * The exec WebSocket, as client-node opens it, on a kept TLS context. client-node hands every exec the
   * same https.Agent, which builds its TLS context again for each connection (the CA and the client key
   * parsed once per exec: most of an exec's CPU on a thousand-node connectivity run). The context built once
   * from the same options is kept, and the agent's TLS session cache with it. A plain user's exec connections
   * have the requests' TLS settings (the same CA, certificate and key, read once): the first ones resume the
   * requests' TLS session, where each made a full handshake of its own when many started at once (the agent's
   * cache holds a session only once a connection of its own has one). Proxy agents are left as they are.
   */
  private execSocket(WebSocketClass: typeof WebSocket, uri: string, protocols: string[], opts: WebSocket.ClientOptions): WebSocket {
    if (this.impersonation.length > 0) {
      const extra: Record<string, string[]> = {}
      for (const [header, value] of this.impersonation) (extra[header] ??= []).push(value)
      // Node sends a header given as an array once per value, as Impersonate-Group needs.
      opts = {...opts, headers: {...opts.headers, ...(extra as unknown as Record<string, string>)}}
    }
    const made = opts.agent
    // A plain https.Agent only: hpagent's proxy agent is an https.Agent too, and must stay as it is.
    if (made instanceof https.Agent && made.constructor === https.Agent) {
      this.execAgent ??= new SessionAgent({...made.options, secureContext: tls.createSecureContext(made.options)})
      const session = this.execAgent.session ?? (this.plainExec && this.agent instanceof SessionAgent ? this.agent.session : undefined)
      return new WebSocketClass(uri, protocols, {...opts, agent: this.execAgent, ...(session ? {session} : {})})
    }
    return new WebSocketClass(uri, protocols, opts)
  }

  /**
   * Lists a collection page by page (limit + continue), yielding each page's items so that memory stays
   * flat however large the cluster is.
   */
  async *listPages<T extends KubeObject>(collectionPath: string, query: Record<string, string | undefined> = {}): AsyncGenerator<T[]> {
    // A failed page is retried by request() with the same continue token. A token that has expired (410
    // Gone, after a long pause between pages) cannot be resumed: the list starts again, and what was
    // already given out is left out, by uid, so that a consumer never sees an object twice.
    const seen = new Set<string>()
    let continueToken: string | undefined
    for (;;) {
      let page: KubeList<T>
      try {
        page = await this.request('GET', collectionPath, {query: {...query, limit: PAGE_SIZE, continue: continueToken}})
      } catch (error) {
        if (!(continueToken && error instanceof ApiError && error.code === 410)) throw error
        continueToken = undefined
        continue
      }
      const items = (page.items ?? []).filter((item) => {
        const uid = item.metadata?.uid
        if (!uid) return true
        if (seen.has(uid)) return false
        seen.add(uid)
        return true
      })
      yield items
      continueToken = page.metadata?.continue || undefined
      if (!continueToken) return
    }
  }
}

/** The reads, writes and watches of a ClusterClient: what repairs and waits need (and what a fake of it provides). */
export type ClusterApi = Pick<ClusterClient, 'target' | 'request' | 'getIfExists' | 'deleteConfirmed' | 'listPages' | 'listAll' | 'watch'>
