// HTTP requests to the API server on node:https (node:http for a plain-HTTP server, which only
// --insecure-skip-tls-verify allows), over one keep-alive connection kept for the whole run, as kubectl
// keeps its own. Node's built-in client costs a few milliseconds to load where undici cost tens, on
// every command that reaches a cluster. HTTP/1.1 sends a header given more than once (Impersonate-Group)
// as one line per value, as the API server wants it.
import http from 'node:http'
import https from 'node:https'
import {pipeline, type Readable} from 'node:stream'
import tls from 'node:tls'
import zlib from 'node:zlib'

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

/** How long an idle kept connection stays open: undici's keepAliveTimeout, so that one the server is closing is not reused. */
const IDLE_MS = 4000
/** TCP keep-alive probes after this long idle: client-go's and client-node's 30 s (cloud load balancers drop idle flows at 60 s). */
const TCP_KEEPALIVE_MS = 30_000

/**
 * The agent every request of the run goes through. Its TLS context is built once (the CA and the client
 * key are parsed once, not for each connection), so that building it fails as the connection would.
 */
export function keptAgent(protocol: string, settings: TlsSettings): http.Agent {
  const common = {keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS, timeout: IDLE_MS}
  if (protocol === 'http:') return new http.Agent(common)
  const {ca, cert, key, pfx, passphrase, rejectUnauthorized, servername} = settings
  return new https.Agent({
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
}

export interface Sending {
  method: string
  headers: Record<string, string | string[]>
  body?: string
  agent: http.Agent
  signal?: AbortSignal
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
  const headers: Record<string, string | string[]> = {...sending.headers, 'Accept-Encoding': 'gzip'}
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body))
  return new Promise<Answer>((resolve, reject) => {
    const request = (url.protocol === 'http:' ? http : https).request(url, {method, headers, agent, signal}, (response) => {
      const gzip = /^\s*gzip\s*$/i.test(response.headers['content-encoding'] ?? '')
      const decoded: Readable = gzip ? pipeline(response, zlib.createGunzip(), () => undefined) : response
      resolve({status: response.statusCode ?? 0, headers: response.headers, body: decoded})
    })
    request.on('error', (error) => reject(failure(error, signal)))
    request.end(body)
  })
}

/** The whole body as text. */
export async function readText(answer: Answer, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = []
  try {
    for await (const chunk of answer.body) chunks.push(chunk as Buffer)
  } catch (error) {
    throw failure(error, signal)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The body's lines (a watch's events, one JSON object a line), as they come; blank lines left out. */
export async function* lines(answer: Answer, signal?: AbortSignal): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let buffered = ''
  try {
    for await (const chunk of answer.body) {
      buffered += decoder.decode(chunk as Uint8Array, {stream: true})
      let newline
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim()
        buffered = buffered.slice(newline + 1)
        if (line) yield line
      }
    }
  } catch (error) {
    throw failure(error, signal)
  }
}
