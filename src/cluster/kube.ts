// The only module that imports @kubernetes/client-node. Everything else talks to the cluster through
// ClusterClient and gets plain JSON objects and typed errors back.
// Its modules are imported one by one: the package's index evaluates every generated API and model.
import {KubeConfig} from '@kubernetes/client-node/dist/config.js'
import type {Cluster, Context, User} from '@kubernetes/client-node/dist/config_types.js'
import {Exec} from '@kubernetes/client-node/dist/exec.js'
import {WebSocketHandler} from '@kubernetes/client-node/dist/web-socket-handler.js'
import {HttpMethod, RequestContext} from '@kubernetes/client-node/dist/gen/http/http.js'
import type {V1Status} from '@kubernetes/client-node/dist/gen/models/V1Status.js'
import {existsSync} from 'node:fs'
import https from 'node:https'
import {Writable} from 'node:stream'
import {homedir} from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {Agent as UndiciAgent, request as httpRequest} from 'undici'
import WebSocket from 'ws'

import {ApiError, ClusterUnavailableError, DualstackError, ExitCode, UsageError} from '../errors.js'
import {parseDuration} from './duration.js'
import {apiErrorFromStatus, execError, transportCode, transportError} from './errors.js'
import {DEFAULT_RETRY, parseRetryAfter, retryDelay, type Failure, type RetryPolicy} from './retry.js'
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

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'
export const PAGE_SIZE = 500

interface LoadedConfig {
  kc: KubeConfig
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

/**
 * Merges kubeconfig files as kubectl does: the first file to name a cluster, user or context wins, and
 * current-context comes from the first file that sets one. (client-node's own merge throws on duplicates.)
 */
function mergeKubeconfigs(files: string[]): KubeConfig {
  const clusters = new Map<string, Cluster>()
  const users = new Map<string, User>()
  const contexts = new Map<string, Context>()
  let currentContext = ''
  for (const file of files) {
    const one = new KubeConfig()
    try {
      one.loadFromFile(file)
    } catch (error) {
      throw new UsageError(`cannot read kubeconfig ${file}: ${(error as Error).message.split('\n')[0]}`, 'fix the file or point --kubeconfig elsewhere')
    }
    for (const c of one.getClusters()) if (!clusters.has(c.name)) clusters.set(c.name, c)
    for (const u of one.getUsers()) if (!users.has(u.name)) users.set(u.name, u)
    for (const c of one.getContexts()) if (!contexts.has(c.name)) contexts.set(c.name, c)
    if (!currentContext && one.getCurrentContext()) currentContext = one.getCurrentContext()
  }
  const kc = new KubeConfig()
  kc.loadFromOptions({clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext})
  return kc
}

/** The context names of the kubeconfig kubectl would read (for completion: no cluster is contacted). */
export function kubeconfigContextNames(kubeconfig: string | undefined): string[] {
  const files = kubeconfigFiles(kubeconfig)
  return files.length === 0 ? [] : mergeKubeconfigs(files).getContexts().map((c) => c.name)
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
  let kc: KubeConfig
  if (files.length > 0) {
    kc = mergeKubeconfigs(files)
  } else if (flags.server) {
    // As kubectl: --server (with --token or certificates) is a connection by itself, without a kubeconfig.
    kc = new KubeConfig()
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc = new KubeConfig()
    kc.loadFromCluster()
  } else {
    throw new ClusterUnavailableError(
      'no kubeconfig found (looked at $KUBECONFIG and ~/.kube/config) and not running inside a pod',
      'pass --kubeconfig FILE or set KUBECONFIG',
    )
  }
  const contextName = flags.context || kc.getCurrentContext()
  let context: Context | undefined
  if (contextName) {
    context = kc.getContextObject(contextName) ?? undefined
    if (!context) throw new UsageError(`context "${contextName}" not found in the kubeconfig`, 'see: kubectl config get-contexts')
  } else if (!flags.server) {
    throw new UsageError('the kubeconfig has no current context', 'pass --context NAME (see: kubectl config get-contexts)')
  }
  const clusterName = flags.cluster || context?.cluster || ''
  const cluster = clusterName ? kc.getCluster(clusterName) : null
  if (flags.cluster && !cluster) throw new UsageError(`cluster "${flags.cluster}" not found in the kubeconfig`, 'see: kubectl config get-clusters')
  if (!cluster && !flags.server) throw new UsageError(`context "${contextName}" names cluster "${clusterName}", which the kubeconfig does not define`, 'fix the kubeconfig')
  const userName = flags.user || context?.user || ''
  const user = userName ? kc.getUser(userName) : null
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
  const effective = new KubeConfig()
  effective.loadFromOptions({
    clusters: [effectiveCluster],
    users: [effectiveUser],
    contexts: [{name, cluster: effectiveCluster.name, user: effectiveUser.name, namespace: context?.namespace}],
    currentContext: name,
  })
  const namespace = flags.namespace || context?.namespace || 'default'
  return {kc: effective, target: {context: name, server: effectiveCluster.server, namespace, user: userName || '(from flags)'},
    impersonation: impersonationHeaders(flags)}
}

/** The impersonation headers client-node does not set: groups (one header each) and the uid. */
function impersonationHeaders(flags: ConnectionFlags): Array<[string, string]> {
  return [...(flags.asGroup ?? []).map((group): [string, string] => ['Impersonate-Group', group]), ...(flags.asUid ? [['Impersonate-Uid', flags.asUid] as [string, string]] : [])]
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
  private readonly kc: KubeConfig
  private readonly timeoutMs: number
  private readonly impersonation: Array<[string, string]>
  private execAgent?: https.Agent
  // client-node makes a new undici Agent (a new TLS connection) for every request it authenticates; its TLS
  // settings are the context's, so the first one is kept and its connection reused, as kubectl does.
  private dispatcher?: ReturnType<RequestContext['getDispatcher']>
  private readonly retryPolicy: RetryPolicy = DEFAULT_RETRY

  private constructor(loaded: LoadedConfig, timeoutMs: number) {
    this.kc = loaded.kc
    this.target = loaded.target
    this.impersonation = loaded.impersonation
    this.timeoutMs = timeoutMs
  }

  static connect(flags: ConnectionFlags): ClusterClient {
    const timeoutMs = flags.requestTimeout ? parseDuration(flags.requestTimeout, '--request-timeout') : 0
    return new ClusterClient(loadKubeConfig(flags), timeoutMs)
  }

  /** The URL and the authenticated headers of a request; the TLS settings go to the kept dispatcher. */
  private async prepare(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', apiPath: string, query: RequestOptions['query']): Promise<{url: URL; headers: Record<string, string>}> {
    const url = new URL(this.target.server.replace(/\/$/, '') + apiPath)
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value))
    }
    const ctx = new RequestContext(url.toString(), HttpMethod[method])
    try {
      await this.kc.applySecurityAuthentication(ctx)
    } catch (error) {
      throw new ClusterUnavailableError(
        `cannot get credentials for user "${this.target.user}" (context "${this.target.context}"): ${(error as Error).message.split('\n')[0]}`,
        'check the kubeconfig user (its exec plugin, token or certificate)',
      )
    }
    this.dispatcher ??= this.impersonatesGroups() ? this.http1Dispatcher() ?? ctx.getDispatcher() : ctx.getDispatcher()
    return {url, headers: {...ctx.getHeaders(), Accept: 'application/json'}}
  }

  private impersonatesGroups(): boolean {
    return this.impersonation.filter(([header]) => header === 'Impersonate-Group').length > 1
  }

  /**
   * The context's TLS settings on an HTTP/1.1 connection. Node's HTTP/2 joins the values of a header given
   * more than once into one "a, b" field, which the API server reads as a single group; HTTP/1.1 sends one
   * line per value, as kubectl does over either. undefined for a proxy's dispatcher (left as client-node makes it).
   */
  private http1Dispatcher(): UndiciAgent | undefined {
    const options: https.AgentOptions = {}
    this.kc.applyToHTTPSOptions(options as https.RequestOptions)
    const made = this.kc.createDispatcherOptions(this.kc.getCurrentCluster(), options)
    if (made.type === 'agent') return new UndiciAgent({connect: made.connect, allowH2: false})
    if (made.type === 'none') return new UndiciAgent({allowH2: false})
    return undefined
  }

  /**
   * The headers with the impersonated groups, one header line each: a fetch would join them into one
   * "a, b" value whatever the protocol. (undici's request, not fetch, for that.)
   */
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
    const {url, headers} = await this.prepare('GET', collectionPath, {...query, watch: true})
    let response
    try {
      response = await httpRequest(url, {method: 'GET', headers: this.withImpersonation(headers), signal, dispatcher: this.dispatcher})
    } catch (error) {
      throw transportError(error, this.target, 0)
    }
    if (response.statusCode >= 400) throw apiErrorFromStatus(response.statusCode, await response.body.text(), 'GET', collectionPath, this.target)
    const decoder = new TextDecoder()
    let buffered = ''
    try {
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Uint8Array, {stream: true})
        let newline
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim()
          buffered = buffered.slice(newline + 1)
          if (line) yield JSON.parse(line) as WatchEvent<T>
        }
      }
    } catch (error) {
      if (signal.aborted) return
      throw transportError(error, this.target, 0)
    }
  }

  /** One API request; the answer's JSON, or a typed error naming what failed and what to do. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', apiPath: string, options: RequestOptions = {}): Promise<T> {
    const {url, headers} = await this.prepare(method, apiPath, options.query)
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
        const response = await httpRequest(url, {method, headers: this.withImpersonation(headers), body, signal, dispatcher: this.dispatcher})
        const text = await response.body.text()
        if (response.statusCode < 400) return (text ? JSON.parse(text) : {}) as T
        error = apiErrorFromStatus(response.statusCode, text, method, apiPath, this.target)
        const retryAfter = response.headers['retry-after']
        failure = {method, status: response.statusCode, retryAfterSeconds: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter)}
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
      const handler = new WebSocketHandler(this.kc, (uri, protocols, opts) => {
        socket = this.execSocket(uri, protocols, opts)
        // Made after the timeout (client-node's credentials were slow): ended at once.
        if (settled) socket.terminate()
        return socket
      })
      new Exec(this.kc, handler).exec(namespace, pod, container, argv, stdout.stream, stderr.stream, null, false, onStatus)
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
   * from the same options is kept, and the agent's TLS session cache with it. Proxy agents are left as they are.
   */
  private execSocket(uri: string, protocols: string[], opts: WebSocket.ClientOptions): WebSocket {
    if (this.impersonation.length > 0) {
      const extra: Record<string, string[]> = {}
      for (const [header, value] of this.impersonation) (extra[header] ??= []).push(value)
      // Node sends a header given as an array once per value, as Impersonate-Group needs.
      opts = {...opts, headers: {...opts.headers, ...(extra as unknown as Record<string, string>)}}
    }
    const made = opts.agent
    // A plain https.Agent only: hpagent's proxy agent is an https.Agent too, and must stay as it is.
    if (made instanceof https.Agent && made.constructor === https.Agent) {
      this.execAgent ??= new https.Agent({...made.options, secureContext: tls.createSecureContext(made.options)})
      return new WebSocket(uri, protocols, {...opts, agent: this.execAgent})
    }
    return new WebSocket(uri, protocols, opts)
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
