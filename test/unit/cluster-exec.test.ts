// The cluster client's exec in a container, in process, against a loopback exec endpoint (kube-apiserver's
// v5/v4.channel.k8s.io WebSocket: a channel byte, then data; the Status on channel 3): what it sends, and the
// credentials and TLS connections it makes them with.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import type {IncomingMessage} from 'node:http'
import {createServer, type Server} from 'node:https'
import type {Duplex} from 'node:stream'
import {constants} from 'node:crypto'
import type {TLSSocket} from 'node:tls'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {WebSocketServer} from 'ws'

import {ClusterClient} from '../../src/cluster/kube.js'
import type {ConnectionFlags} from '../../src/cluster/types.js'
import {makeCertificates, type Certificates} from '../sim/certs.js'

interface ExecEndpoint {
  url: string
  /** TLS handshakes the server completed: full ones, and resumed sessions. */
  handshakes: {full: number; resumed: number}
  /** The exec upgrades' requests. */
  upgrades: IncomingMessage[]
  close(): Promise<void>
}

let certs: Certificates
const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-exec-'))

async function execEndpoint(options: {noTickets?: boolean} = {}): Promise<ExecEndpoint> {
  const wss = new WebSocketServer({noServer: true, handleProtocols: (offered) => (offered.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : false)})
  const state: ExecEndpoint = {url: '', handshakes: {full: 0, resumed: 0}, upgrades: [], close: async () => undefined}
  const server: Server = createServer({key: certs.serverKey, cert: certs.serverCert, ...(options.noTickets ? {secureOptions: constants.SSL_OP_NO_TICKET} : {})}, (_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({gitVersion: 'v1.30.0'}))
  })
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.isSessionReused()) state.handshakes.resumed++
    else state.handshakes.full++
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    state.upgrades.push(req)
    const argv = new URL(req.url ?? '/', 'https://x').searchParams.getAll('command')
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(`${argv.join(' ')}\n`)]))
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({metadata: {}, status: 'Success'}))]))
      ws.close(1000)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `https://127.0.0.1:${(server.address() as {port: number}).port}`
  state.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return state
}

/** A kubeconfig whose CA is a file (as kubeadm's admin.conf is not, but many are), and a token. */
function flagsFor(endpoint: ExecEndpoint, caFile: string): ConnectionFlags {
  const file = path.join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`)
  writeFileSync(caFile, certs.caCert)
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: loop',
    'clusters:', '- name: loop', '  cluster:', `    server: ${endpoint.url}`, `    certificate-authority: ${caFile}`,
    'users:', '- name: me', '  user:', '    token: loop-token',
    'contexts:', '- name: loop', '  context: {cluster: loop, user: me}', '',
  ].join('\n'))
  return {kubeconfig: file}
}

beforeAll(async () => {
  certs = await makeCertificates()
})

describe('exec in a container', () => {
  let endpoint: ExecEndpoint
  beforeEach(async () => {
    endpoint = await execEndpoint()
  })
  afterEach(() => endpoint.close())

  it('sends the user\'s token and the command, and returns the output and exit status', async () => {
    const client = ClusterClient.connect(flagsFor(endpoint, path.join(dir, 'ca-1.crt')))
    const result = await client.exec('kube-system', 'calico-node-a', 'calico-node', ['cat', '/proc/sys/net/ipv6/conf/all/forwarding'], 5000)
    expect(result).toEqual({exitCode: 0, stdout: 'cat /proc/sys/net/ipv6/conf/all/forwarding\n', stderr: '', timedOut: false})
    expect(endpoint.upgrades[0]!.headers.authorization).toBe('Bearer loop-token')
    expect(endpoint.upgrades[0]!.url).toMatch(/^\/api\/v1\/namespaces\/kube-system\/pods\/calico-node-a\/exec\?.*container=calico-node/)
  })

  it('reads the kubeconfig\'s CA file once, as the requests do (client-node\'s KubeConfig read it again for every exec)', async () => {
    const caFile = path.join(dir, 'ca-2.crt')
    const client = ClusterClient.connect(flagsFor(endpoint, caFile))
    await client.request('GET', '/version')
    rmSync(caFile)
    const results = await Promise.all(Array.from({length: 5}, (_, i) => client.exec('kube-system', `calico-node-${i}`, 'calico-node', ['true'], 5000)))
    expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0, 0, 0])
  })

  it('execs started at once resume the requests\' TLS session: one full handshake for the run, not one per exec', async () => {
    const client = ClusterClient.connect(flagsFor(endpoint, path.join(dir, 'ca-3.crt')))
    await client.request('GET', '/version')
    const results = await Promise.all(Array.from({length: 20}, (_, i) => client.exec('kube-system', `calico-node-${i}`, 'calico-node', ['true'], 5000)))
    expect(results.every((r) => r.exitCode === 0)).toBe(true)
    expect(endpoint.handshakes).toEqual({full: 1, resumed: 20})
    // Later execs too (from the exec connections' own sessions).
    await client.exec('kube-system', 'calico-node-0', 'calico-node', ['true'], 5000)
    expect(endpoint.handshakes).toEqual({full: 1, resumed: 21})
  })

  it('a server that does not resume (no tickets) gets full handshakes, and the execs work', async () => {
    await endpoint.close()
    endpoint = await execEndpoint({noTickets: true})
    const client = ClusterClient.connect(flagsFor(endpoint, path.join(dir, 'ca-4.crt')))
    await client.request('GET', '/version')
    const results = await Promise.all(Array.from({length: 5}, (_, i) => client.exec('kube-system', `calico-node-${i}`, 'calico-node', ['true'], 5000)))
    expect(results.every((r) => r.exitCode === 0)).toBe(true)
    expect(endpoint.handshakes).toEqual({full: 6, resumed: 0})
  })
})
