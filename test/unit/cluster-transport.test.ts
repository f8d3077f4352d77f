// The cluster client's transport (node:https) against loopback servers, in process: gzip answers and
// watch streams decoded, one kept TLS connection, impersonation headers one line per value, and what
// Node's real socket and TLS errors read as (errors.ts maps them; here they are Node's, not made up).
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {createServer as createTcpServer, type Server as TcpServer} from 'node:net'
import {createServer, type Server} from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {constants, createGzip, gzipSync} from 'node:zlib'

import selfsigned from 'selfsigned'

import {ClusterClient} from '../../src/cluster/kube.js'
import {transportError} from '../../src/cluster/errors.js'
import {keptAgent, readText, send} from '../../src/cluster/transport.js'
import type {ConnectionFlags} from '../../src/cluster/types.js'
import {makeCaCert, makeCertificates, type Certificates} from '../sim/certs.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void
type TlsRequest = IncomingMessage & {socket: import('node:tls').TLSSocket}

interface Loopback {
  url: string
  /** TLS connections the server accepted. */
  connections: number
  requests: IncomingMessage[]
  handle: Handler
  close(): Promise<void>
}

let certs: Certificates
const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-transport-'))

async function loopback(clientCa?: string): Promise<Loopback> {
  const state: Loopback = {url: '', connections: 0, requests: [], handle: (_req, res) => res.end('{}'), close: async () => undefined}
  const server: Server = createServer({key: certs.serverKey, cert: certs.serverCert, ...(clientCa ? {ca: clientCa, requestCert: true, rejectUnauthorized: false} : {})}, (req, res) => {
    state.requests.push(req)
    state.handle(req, res)
  })
  server.on('secureConnection', () => state.connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `https://127.0.0.1:${(server.address() as {port: number}).port}`
  state.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return state
}

/** A kubeconfig for the loopback server (its CA, a token), and the flags that point at it. */
function flagsFor(server: Loopback, extra: Partial<ConnectionFlags> = {}, caPem = certs.caCert): ConnectionFlags {
  const file = path.join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`)
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: loop',
    'clusters:', '- name: loop', '  cluster:', `    server: ${server.url}`, `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:', '- name: me', '  user:', '    token: loop-token',
    'contexts:', '- name: loop', '  context: {cluster: loop, user: me}', '',
  ].join('\n'))
  return {kubeconfig: file, ...extra}
}

function gzipJson(res: ServerResponse, body: unknown): void {
  res.writeHead(200, {'content-type': 'application/json', 'content-encoding': 'gzip'})
  res.end(gzipSync(JSON.stringify(body)))
}

beforeAll(async () => {
  certs = await makeCertificates()
})

describe('the transport', () => {
  let server: Loopback
  beforeEach(async () => {
    server = await loopback()
  })
  afterEach(() => server.close())

  it('asks for gzip and decodes gzip answers, pages included', async () => {
    server.handle = (req, res) => {
      if (!/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) return void res.writeHead(406).end()
      const url = new URL(req.url!, 'https://x')
      const second = url.searchParams.get('continue') === 'page-2'
      gzipJson(res, {kind: 'PodList', metadata: second ? {} : {continue: 'page-2'}, items: [{metadata: {name: second ? 'b' : 'a', uid: second ? '2' : '1'}}]})
    }
    const client = ClusterClient.connect(flagsFor(server))
    const pods = await client.listAll('/api/v1/pods')
    expect(pods.map((p) => p.metadata?.name)).toEqual(['a', 'b'])
    expect(server.requests[0]!.headers.authorization).toBe('Bearer loop-token')
  })

  it('decodes a gzip watch stream line by line, each event as it comes', async () => {
    let gzip: ReturnType<typeof createGzip> | undefined
    server.handle = (_req, res) => {
      res.writeHead(200, {'content-type': 'application/json', 'content-encoding': 'gzip'})
      gzip = createGzip()
      gzip.pipe(res)
      // The API server flushes each event: it must reach the client before the stream ends.
      gzip.write(`${JSON.stringify({type: 'ADDED', object: {metadata: {name: 'first'}}})}\n`)
      gzip.flush(constants.Z_SYNC_FLUSH)
    }
    const client = ClusterClient.connect(flagsFor(server))
    const abort = new AbortController()
    const events = client.watch<{metadata: {name: string}}>('/api/v1/pods', {}, abort.signal)
    const first = await events.next()
    expect(first.value).toEqual({type: 'ADDED', object: {metadata: {name: 'first'}}})
    gzip!.write(`${JSON.stringify({type: 'DELETED', object: {metadata: {name: 'first'}}})}\n\n`)
    gzip!.end()
    const rest: unknown[] = []
    for await (const event of events) rest.push(event)
    expect(rest).toEqual([{type: 'DELETED', object: {metadata: {name: 'first'}}}])
  })

  it('keeps one TLS connection for the whole run', async () => {
    server.handle = (_req, res) => gzipJson(res, {kind: 'Pod', metadata: {name: 'p'}})
    const client = ClusterClient.connect(flagsFor(server))
    for (let i = 0; i < 5; i++) await client.request('GET', '/api/v1/namespaces/default/pods/p')
    expect(server.requests).toHaveLength(5)
    expect(server.connections).toBe(1)
  })

  it('sends each impersonated group as a header line of its own, with the user and the uid', async () => {
    const client = ClusterClient.connect(flagsFor(server, {as: 'viewer', asGroup: ['ops', 'kubectl-dualstack:read'], asUid: 'uid-42'}))
    await client.request('GET', '/api/v1/namespaces')
    const raw = server.requests[0]!.rawHeaders
    const lines = raw.flatMap((name, i) => (i % 2 === 0 ? [[name.toLowerCase(), raw[i + 1]]] : []))
    expect(lines.filter(([name]) => name === 'impersonate-group')).toEqual([['impersonate-group', 'ops'], ['impersonate-group', 'kubectl-dualstack:read']])
    expect(lines).toContainEqual(['impersonate-user', 'viewer'])
    expect(lines).toContainEqual(['impersonate-uid', 'uid-42'])
  })

  it('sends a body with its length and type', async () => {
    let received = ''
    server.handle = (req, res) => {
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => (received += chunk))
      req.on('end', () => res.writeHead(201, {'content-type': 'application/json'}).end('{"kind":"Pod"}'))
    }
    const client = ClusterClient.connect(flagsFor(server))
    await expect(client.request('PATCH', '/api/v1/namespaces/default/pods/p', {body: {metadata: {labels: {a: 'é'}}}, contentType: 'application/merge-patch+json'})).resolves.toEqual({kind: 'Pod'})
    expect(received).toBe('{"metadata":{"labels":{"a":"é"}}}')
    expect(server.requests[0]!.headers['content-type']).toBe('application/merge-patch+json')
    expect(server.requests[0]!.headers['content-length']).toBe(String(Buffer.byteLength(received)))
  })

  it('a 503 with Retry-After is tried again after it; the error body of a refusal is read, gzip or not', async () => {
    let calls = 0
    server.handle = (_req, res) => {
      calls++
      if (calls === 1) return void res.writeHead(503, {'retry-after': '1', 'content-type': 'application/json'}).end('{"kind":"Status","message":"busy"}')
      res.writeHead(403, {'content-type': 'application/json', 'content-encoding': 'gzip'})
      res.end(gzipSync(JSON.stringify({kind: 'Status', code: 403, reason: 'Forbidden', message: 'pods is forbidden: User "me" cannot list resource "pods" in API group "" at the cluster scope'})))
    }
    const client = ClusterClient.connect(flagsFor(server))
    const started = Date.now()
    await expect(client.request('GET', '/api/v1/pods')).rejects.toThrow(/^forbidden: pods is forbidden: User "me" cannot list resource "pods"/)
    expect(calls).toBe(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
  })
})

describe('Node\'s transport errors, as the user reads them', () => {
  let server: Loopback
  beforeAll(async () => {
    server = await loopback()
  })
  afterAll(() => server.close())
  const message = async (flags: ConnectionFlags, method: 'GET' | 'POST' = 'GET') => {
    const error = await ClusterClient.connect(flags).request(method, '/api/v1/namespaces').then(() => undefined, (e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    return (error as Error).message
  }

  it('a port nothing listens on (ECONNREFUSED)', async () => {
    const closed = createTcpServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as {port: number}).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    expect(await message({...flagsFor(server), server: `https://127.0.0.1:${port}`})).toMatch(/^cannot connect to the API server: connection refused/)
  })

  it('a certificate from another CA (of the same name: CERT_SIGNATURE_FAILURE)', async () => {
    const other = await makeCaCert()
    expect(await message(flagsFor(server, {}, other.cert))).toMatch(/^TLS handshake with the API server failed: certificate signature failure \(context "loop"/)
  })

  it('a self-signed server certificate (DEPTH_ZERO_SELF_SIGNED_CERT)', async () => {
    const self = await makeCaCert()
    const selfSigned = createServer({key: self.key, cert: self.cert}, (_req, res) => res.end('{}'))
    await new Promise<void>((resolve) => selfSigned.listen(0, '127.0.0.1', resolve))
    try {
      const url = `https://127.0.0.1:${(selfSigned.address() as {port: number}).port}`
      expect(await message({...flagsFor(server), server: url})).toMatch(/^TLS handshake with the API server failed: self-signed certificate/)
    } finally {
      selfSigned.close()
    }
  })

  it('a server name the certificate does not carry (ERR_TLS_CERT_ALTNAME_INVALID)', async () => {
    expect(await message(flagsFor(server, {tlsServerName: 'elsewhere.example'}))).toMatch(/^TLS handshake with the API server failed: Hostname\/IP does not match certificate's altnames/)
  })

  it('a connection the server drops (ECONNRESET): a write fails at once, as its outcome is unknown', async () => {
    server.handle = (req) => req.socket.destroy()
    try {
      expect(await message(flagsFor(server), 'POST')).toMatch(/^the API server closed the connection \(context "loop"/)
    } finally {
      server.handle = (_req, res) => res.end('{}')
    }
  })

  it('--request-timeout aborts each attempt', async () => {
    server.handle = () => undefined
    try {
      expect(await message(flagsFor(server, {requestTimeout: '300ms'}), 'POST')).toMatch(/^request timed out after 0.3s/)
    } finally {
      server.handle = (_req, res) => res.end('{}')
    }
  })

  it('the connect limit (TCP and TLS) and the answer limit (headers, then each chunk)', async () => {
    const mute: TcpServer = createTcpServer((socket) => socket.on('error', () => undefined))
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve))
    const target = {context: 'loop', server: server.url, namespace: 'default', user: 'me'}
    const agent = keptAgent('https:', {ca: certs.caCert})
    const limits = {connectMs: 300, answerMs: 300}
    try {
      const muteUrl = new URL(`https://127.0.0.1:${(mute.address() as {port: number}).port}/api`)
      const connect = await send(muteUrl, {method: 'GET', headers: {}, agent, limits: {connectMs: 300, answerMs: 5000}}).catch((e: unknown) => e)
      expect(transportError(connect, target, 0).message).toMatch(/^cannot connect to the API server: the connection timed out/)

      server.handle = () => undefined
      const headers = await send(new URL(`${server.url}/api`), {method: 'GET', headers: {}, agent, limits}).catch((e: unknown) => e)
      expect(transportError(headers, target, 0).message).toMatch(/^the API server did not answer in time/)

      server.handle = (_req, res) => {
        res.writeHead(200, {'content-type': 'application/json'})
        res.write('{"kind":')
      }
      const answer = await send(new URL(`${server.url}/api`), {method: 'GET', headers: {}, agent, limits})
      const body = await readText(answer).catch((e: unknown) => e)
      expect(transportError(body, target, 0).message).toMatch(/^the API server did not answer in time/)
    } finally {
      server.handle = (_req, res) => res.end('{}')
      agent.destroy()
      mute.close()
    }
  })
})

describe('kubeconfig users and clusters, read as client-node reads them', () => {
  let server: Loopback
  let client: {cert: string; key: string}
  beforeAll(async () => {
    server = await loopback(certs.caCert)
    const made = await selfsigned.generate([{name: 'commonName', value: 'cert-user'}], {
      keyType: 'ec', algorithm: 'sha256', ca: {key: certs.caKey, cert: certs.caCert}, extensions: [{name: 'extKeyUsage', clientAuth: true}],
    })
    client = {cert: made.cert, key: made.private}
    // Who the server took the request for: the client certificate's name, else the Authorization header.
    server.handle = (req, res) => {
      const peer = (req as TlsRequest).socket.getPeerCertificate()
      const who = (req as TlsRequest).socket.authorized ? `cert:${peer.subject.CN}` : req.headers.authorization ?? 'anonymous'
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({who}))
    }
  })
  afterAll(() => server.close())

  const who = async (kubeconfig: string, flags: Partial<ConnectionFlags> = {}) => (await ClusterClient.connect({kubeconfig, ...flags}).request<{who: string}>('GET', '/api')).who
  const write = (folder: string, user: string, cluster = `certificate-authority-data: ${Buffer.from(certs.caCert).toString('base64')}`) => {
    mkdirSync(folder, {recursive: true})
    const file = path.join(folder, 'config')
    writeFileSync(file, ['apiVersion: v1', 'kind: Config', 'current-context: c',
      'clusters:', '- name: c', '  cluster:', `    server: ${server.url}`, `    ${cluster}`,
      'users:', '- name: u', '  user:', ...user.split('\n').map((line) => `    ${line}`),
      'contexts:', '- name: c', '  context: {cluster: c, user: u}', ''].join('\n'))
    return file
  }

  it('client-certificate, client-key and certificate-authority files, relative to the kubeconfig\'s folder', async () => {
    const folder = path.join(dir, 'relative')
    mkdirSync(path.join(folder, 'pki'), {recursive: true})
    writeFileSync(path.join(folder, 'pki', 'ca.crt'), certs.caCert)
    writeFileSync(path.join(folder, 'pki', 'me.crt'), client.cert)
    writeFileSync(path.join(folder, 'pki', 'me.key'), client.key)
    const file = write(folder, 'client-certificate: pki/me.crt\nclient-key: pki/me.key', 'certificate-authority: pki/ca.crt')
    expect(await who(file)).toBe('cert:cert-user')
  })

  it('client-certificate-data and client-key-data; --client-certificate and --client-key over them', async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64')
    const file = write(path.join(dir, 'data'), `client-certificate-data: ${b64(client.cert)}\nclient-key-data: ${b64(client.key)}`)
    expect(await who(file)).toBe('cert:cert-user')
    const other = await selfsigned.generate([{name: 'commonName', value: 'flag-user'}], {
      keyType: 'ec', algorithm: 'sha256', ca: {key: certs.caKey, cert: certs.caCert}, extensions: [{name: 'extKeyUsage', clientAuth: true}],
    })
    writeFileSync(path.join(dir, 'flag.crt'), other.cert)
    writeFileSync(path.join(dir, 'flag.key'), other.private)
    expect(await who(file, {clientCertificate: path.join(dir, 'flag.crt'), clientKey: path.join(dir, 'flag.key')})).toBe('cert:flag-user')
  })

  it('username and password as Basic; a token wins over them; token-file is read; --token over all', async () => {
    const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`
    expect(await who(write(path.join(dir, 'basic'), 'username: alice\npassword: s3cret'))).toBe(basic)
    expect(await who(write(path.join(dir, 'both'), 'username: alice\npassword: s3cret\ntoken: tok'))).toBe('Bearer tok')
    writeFileSync(path.join(dir, 'token-file'), 'from-file')
    const tokenFile = write(path.join(dir, 'token-file-user'), `token-file: ${path.join(dir, 'token-file')}`)
    expect(await who(tokenFile)).toBe('Bearer from-file')
    expect(await who(tokenFile, {token: 'from-flag'})).toBe('Bearer from-flag')
    expect(await who(write(path.join(dir, 'nobody'), 'as: nobody'))).toBe('anonymous')
  })

  it('insecure-skip-tls-verify without a CA, and tls-server-name naming the certificate\'s other name', async () => {
    expect(await who(write(path.join(dir, 'insecure'), 'token: tok', 'insecure-skip-tls-verify: true'))).toBe('Bearer tok')
    expect(await who(write(path.join(dir, 'sni'), 'token: tok', `certificate-authority-data: ${Buffer.from(certs.caCert).toString('base64')}\n    tls-server-name: localhost`))).toBe('Bearer tok')
    await expect(who(write(path.join(dir, 'sni-wrong'), 'token: tok', `certificate-authority-data: ${Buffer.from(certs.caCert).toString('base64')}\n    tls-server-name: elsewhere`))).rejects.toThrow(/TLS handshake/)
  })
})
