// HTTP requests to the API server on node:https (node:http for a plain-HTTP server, which only
// --insecure-skip-tls-verify allows), over one keep-alive connection kept for the whole run, as kubectl
// keeps its own. Node's built-in client costs a few milliseconds to load where undici cost tens, on
// every command that reaches a cluster. HTTP/1.1 sends a header given more than once (Impersonate-Group)
// as one line per value, as the API server wants it.
import http from 'node:http'
import https from 'node:https'
import {pipeline, type Readable} from 'node:stream'
import tls from 'node:tls'
import type zlib from 'node:zlib'

import {ANSWER_TIMEOUT} from './errors.js'

/** The TLS settings client-node gives a cluster and user: what the kept connection is made with. */
export interface TlsSettings {
  ca?: string | Buffer
  cert?: string | Buffer
  key?: string | Buffer
  pfx?: string | Buffer
  passphrase?: string
  rejectUnauthorized?: boolean
  servername?: string
}

/**
 * How long an idle kept connection stays open, so that one the server (or a load balancer) is about to
 * close is not reused: undici's keepAliveTimeout (Node's own global agent keeps its sockets 5 s).
 */
const IDLE_MS = 4000
/** undici's defaults, which the requests had before: connecting (TCP and TLS), and the server's silence (before the headers, between chunks). */
export const CONNECT_TIMEOUT_MS = 10_000
export const ANSWER_TIMEOUT_MS = 300_000
/** TCP keep-alive probes after this long idle: client-go's and client-node's 30 s (cloud load balancers drop idle flows at 60 s). */
const TCP_KEEPALIVE_MS = 30_000

/**
 * An https.Agent that keeps the newest TLS session its connections were given (a TLS 1.3 ticket, a TLS 1.2
 * ticket or id). Node's agent caches sessions for its own new connections only; an exec's WebSocket, on an
 * agent of its own, starts from this one instead of a full handshake (the server's signature, the client's
 * certificate checks: most of an exec's CPU on both sides when a hundred start at once).
 */
export class SessionAgent extends https.Agent {
  session?: Buffer

  override createConnection(...args: Parameters<https.Agent['createConnection']>): ReturnType<https.Agent['createConnection']> {
    const socket = super.createConnection(...args)
    socket?.on('session', (session: Buffer) => {
      this.session = session
    })
    return socket
  }
}

/**
 * The agent every request of the run goes through. Its TLS context is built once (the CA and the client
 * key parsed once, not for each connection); the caller makes it inside its first request, so that a CA or
 * key that does not parse fails that request as its connection would have. (Node's first TLS context of a
 * process costs ~12 ms here whatever it holds: it parses Node's bundled root certificates even when a CA is
 * given.)
 */
export function keptAgent(protocol: string, settings: TlsSettings): http.Agent {
  const common = {keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS, timeout: IDLE_MS}
  if (protocol === 'http:') return new http.Agent(common)
  const {ca, cert, key, pfx, passphrase, rejectUnauthorized, servername} = settings
  return new SessionAgent({
    ...common,
    secureContext: tls.createSecureContext({ca, cert, key, pfx, passphrase}),
    // Left unset unless the kubeconfig sets it: Node then honours NODE_TLS_REJECT_UNAUTHORIZED, as client-node does.
    ...(rejectUnauthorized === undefined ? {} : {rejectUnauthorized}),
    ...(servername === undefined ? {} : {servername}),
  })
}

export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  /** The body, decompressed. */
  body: Readable
  /** ANSWER_TIMEOUT_MS, or the request's own. */
  answerTimeoutMs: number
}

/**
 * node:zlib, loaded by the first compressed answer: the API server compresses only large answers (over
 * 128 KB), so a small cluster's runs never need it, and loading it is a few milliseconds of each.
 */
async function zlibModule(): Promise<typeof zlib> {
  // process.getBuiltinModule: Node 22.3 and later (the single executable's Node among them).
  return process.getBuiltinModule?.('node:zlib') ?? await import('node:zlib')
}

function timedOut(code: string, message: string): Error {
  return Object.assign(new Error(message), {code})
}

export interface Sending {
  method: string
  headers: Record<string, string | string[]>
  body?: string
  agent: http.Agent
  signal?: AbortSignal
  /** Other limits than undici's (for tests). */
  limits?: {connectMs: number; answerMs: number}
}

/** What a failed request throws: the abort's reason (a TimeoutError for --request-timeout) when it was aborted. */
function failure(error: unknown, signal: AbortSignal | undefined): unknown {
  return signal?.aborted ? signal.reason : error
}

/**
 * One request, resolved with the status and headers once they arrive. Asks for gzip, as kubectl does:
 * the API server compresses large answers (a list of thousands of pods is a tenth of its size).
 */
export function send(url: URL, sending: Sending): Promise<Answer> {
  const {method, body, agent, signal} = sending
  const {connectMs, answerMs} = sending.limits ?? {connectMs: CONNECT_TIMEOUT_MS, answerMs: ANSWER_TIMEOUT_MS}
  const headers: Record<string, string | string[]> = {...sending.headers, 'Accept-Encoding': 'gzip'}
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body))
  return new Promise<Answer>((resolve, reject) => {
    const request = (url.protocol === 'http:' ? http : https).request(url, {method, headers, agent, signal}, (response) => {
      clearTimeout(silence)
      const answer = (body: Readable): Answer => ({status: response.statusCode ?? 0, headers: response.headers, body, answerTimeoutMs: answerMs})
      if (!/^\s*gzip\s*$/i.test(response.headers['content-encoding'] ?? '')) return resolve(answer(response))
      zlibModule().then((z) => resolve(answer(pipeline(response, z.createGunzip(), () => undefined))), reject)
    })
    const silence = setTimeout(() => request.destroy(timedOut(ANSWER_TIMEOUT, `no answer from ${url.host} in ${answerMs / 1000}s`)), answerMs).unref()
    request.on('socket', (socket) => {
      // A new connection (a kept one is connected already): TCP and TLS in connectMs, failing as net's own ETIMEDOUT reads.
      if (!socket.connecting) return
      const connecting = setTimeout(() => request.destroy(timedOut('ETIMEDOUT', `connect ETIMEDOUT ${url.host}`)), connectMs).unref()
      socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => clearTimeout(connecting))
      socket.once('close', () => clearTimeout(connecting))
    })
    request.on('error', (error) => {
      clearTimeout(silence)
      reject(failure(error, signal))
    })
    request.end(body)
  })
}

/** The body's chunks; the body is ended with an ANSWER_TIMEOUT error when the server is silent for answerTimeoutMs. */
async function* chunks(answer: Answer, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  let silence: NodeJS.Timeout | undefined
  const wait = () => {
    clearTimeout(silence)
    silence = setTimeout(() => answer.body.destroy(timedOut(ANSWER_TIMEOUT, `the answer stalled for ${answer.answerTimeoutMs / 1000}s`)), answer.answerTimeoutMs).unref()
  }
  try {
    wait()
    for await (const chunk of answer.body) {
      wait()
      yield chunk as Buffer
    }
  } catch (error) {
    throw failure(error, signal)
  } finally {
    clearTimeout(silence)
  }
}

/** The whole body as text. */
export async function readText(answer: Answer, signal?: AbortSignal): Promise<string> {
  const all: Buffer[] = []
  for await (const chunk of chunks(answer, signal)) all.push(chunk)
  return Buffer.concat(all).toString('utf8')
}

/** The body's lines (a watch's events, one JSON object a line), as they come; blank lines left out. */
export async function* lines(answer: Answer, signal?: AbortSignal): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const chunk of chunks(answer, signal)) {
    buffered += decoder.decode(chunk, {stream: true})
    let newline
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim()
      buffered = buffered.slice(newline + 1)
      if (line) yield line
    }
  }
}
