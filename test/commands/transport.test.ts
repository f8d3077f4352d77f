// The cluster client's two paths in the built binary: a plain kubeconfig user talks to the cluster on
// node:https without evaluating client-node's KubeConfig (config.js, which loads undici, socks, hpagent,
// openid-client...) or ws; an exec plugin, a proxy-url or an exec in a container evaluate them on first use
// and still work. The bundle is one file whose modules are lazy initialisers: what a run evaluated is read
// from V8's coverage of the run (every function called, by offset) and the bundle's source map (which source
// each function is from). A module that starts to be evaluated on the plain path fails the test.
import {chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import Module, {SourceMap} from 'node:module'
import {connect, createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {ROOT, runPlugin, startSim, type RunningSim} from '../sim/harness.js'

const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-transport-'))
const BUNDLE = path.join(ROOT, 'dist', 'cli.cjs')

interface Coverage {
  result: Array<{url: string; functions: Array<{ranges: Array<{startOffset: number; count: number}>}>}>
}

/** The sources whose functions a run called, from its V8 coverage and the bundle's source map. */
async function runLoading(args: string[], env: Record<string, string> = {}): Promise<{code: number; stdout: string; stderr: string; sources: string[]}> {
  const coverage = mkdtempSync(path.join(dir, 'coverage-'))
  const result = await runPlugin(args, {NODE_V8_COVERAGE: coverage, ...env})
  const source = readFileSync(BUNDLE, 'latin1')
  const map = new SourceMap(JSON.parse(readFileSync(`${BUNDLE}.map`, 'utf8')) as never)
  // The bundle runs wrapped as a CommonJS module: coverage offsets count the wrapper's opening too.
  const wrapper = Module.wrap('').indexOf('{') + 1
  const lineStarts = [0]
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) lineStarts.push(i + 1)
  const sources = new Set<string>()
  for (const file of readdirSync(coverage)) {
    const report = JSON.parse(readFileSync(path.join(coverage, file), 'utf8')) as Coverage
    for (const script of report.result) {
      if (script.url !== BUNDLE && script.url !== `file://${BUNDLE}`) continue
      for (const fn of script.functions) {
        const [whole] = fn.ranges
        if (!whole || whole.count === 0) continue
        const offset = whole.startOffset - wrapper
        if (offset < 0) continue
        let line = 0
        for (let lo = 0, hi = lineStarts.length - 1; lo <= hi;) {
          const mid = (lo + hi) >> 1
          if (lineStarts[mid]! <= offset) {
            line = mid
            lo = mid + 1
          } else hi = mid - 1
        }
        const entry = map.findEntry(line, offset - lineStarts[line]!) as {originalSource?: string}
        if (entry.originalSource) sources.add(entry.originalSource)
      }
    }
  }
  return {...result, sources: [...sources]}
}

const CONFIG_JS = /@kubernetes\/client-node\/(dist|src)\/config\.(js|ts)$/
const UNDICI = /node_modules\/undici\//
const WS = /node_modules\/ws\//

/** A loopback HTTP CONNECT proxy: it records each tunnel's target and joins the two sockets. */
async function connectProxy(): Promise<{port: number; tunnels: string[]; close(): void}> {
  const tunnels: string[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    sockets.add(client)
    client.on('error', () => undefined)
    let head = ''
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      client.off('data', onData)
      const [method, target] = head.split(' ')
      if (method !== 'CONNECT' || !target) return void client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n')
      tunnels.push(target)
      const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))]
      const upstream = connect(port, host.replace(/^\[|\]$/g, ''), () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        const rest = Buffer.from(head.slice(end + 4), 'latin1')
        if (rest.length > 0) upstream.write(rest)
        client.pipe(upstream).pipe(client)
      })
      sockets.add(upstream)
      upstream.on('error', () => client.destroy())
    }
    client.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as {port: number}).port, tunnels,
    close: () => {
      for (const socket of sockets) socket.destroy()
      server.close()
    },
  }
}

describe('the cluster client in the built binary', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
  })
  afterAll(() => sim.stop())

  it('a plain kubeconfig user (a token and a CA) loads neither client-node\'s KubeConfig nor undici nor ws', async () => {
    const run = await runLoading(['pod-ips', '-A', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect(run).toMatchObject({code: 0, stderr: ''})
    expect(JSON.parse(run.stdout).items.length).toBeGreaterThan(0)
    // The coverage saw the run: client-node's config_types.js is on the plain path.
    expect(run.sources.some((source) => /client-node\/(dist|src)\/config_types\.(js|ts)$/.test(source))).toBe(true)
    expect(run.sources.filter((source) => CONFIG_JS.test(source) || UNDICI.test(source) || WS.test(source))).toEqual([])
  })

  it('an exec credential plugin takes client-node\'s KubeConfig, on first use, and works', async () => {
    const plugin = path.join(dir, 'get-token')
    writeFileSync(plugin, '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"viewer-token"}}\'\n')
    chmodSync(plugin, 0o755)
    const kc = sim.writeKubeconfig('kc-exec-plugin')
    writeFileSync(kc, sim.server.kubeconfig().replace('    token: admin-token', `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ${plugin}\n      interactiveMode: Never`))
    const before = sim.server.sim.requests.length
    const run = await runLoading(['pod-ips', '-n', 'default', '-o', 'json', '--kubeconfig', kc])
    expect(run).toMatchObject({code: 0, stderr: ''})
    expect(run.sources.some((source) => CONFIG_JS.test(source))).toBe(true)
    const requests = sim.server.sim.requests.slice(before)
    expect(requests.length).toBeGreaterThan(0)
    expect(requests.every((r) => r.user === 'viewer')).toBe(true)
  })

  it('a failing exec plugin reads as before: no credentials for that user, exit 3', async () => {
    const kc = sim.writeKubeconfig('kc-exec-failing')
    writeFileSync(kc, sim.server.kubeconfig().replace('    token: admin-token', '    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /nonexistent/get-token\n      interactiveMode: Never'))
    const run = await runPlugin(['pod-ips', '-A', '--kubeconfig', kc])
    expect(run.code).toBe(3)
    expect(run.stderr).toMatch(/^error: cannot get credentials for user "admin" \(context "sim"\): .*ENOENT.*; check the kubeconfig user/)
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('an exec in a container (doctor\'s IPv6 forwarding check) loads ws and client-node\'s exec then, and for a plain user not KubeConfig', async () => {
    const run = await runLoading(['doctor', '--only', 'node.ipv6-forwarding', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout).checks).toContainEqual(expect.objectContaining({id: 'node.ipv6-forwarding', status: 'pass'}))
    expect(run.sources.some((source) => WS.test(source))).toBe(true)
    expect(run.sources.some((source) => /@kubernetes\/client-node\/(dist|src)\/exec\.(js|ts)$/.test(source))).toBe(true)
    expect(run.sources.filter((source) => CONFIG_JS.test(source) || UNDICI.test(source))).toEqual([])
  })

  it('an exec credential plugin\'s user execs with the plugin\'s credentials, through KubeConfig', async () => {
    const plugin = path.join(dir, 'get-admin-token')
    writeFileSync(plugin, '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"admin-token"}}\'\n')
    chmodSync(plugin, 0o755)
    const kc = sim.writeKubeconfig('kc-exec-plugin-exec')
    writeFileSync(kc, sim.server.kubeconfig().replace('    token: admin-token', `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ${plugin}\n      interactiveMode: Never`))
    const before = sim.server.sim.requests.length
    const run = await runLoading(['doctor', '--only', 'node.ipv6-forwarding', '-o', 'json', '--kubeconfig', kc])
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout).checks).toContainEqual(expect.objectContaining({id: 'node.ipv6-forwarding', status: 'pass'}))
    expect(run.sources.some((source) => CONFIG_JS.test(source))).toBe(true)
    const execs = sim.server.sim.requests.slice(before).filter((r) => r.verb === 'exec')
    expect(execs.length).toBeGreaterThan(0)
    expect(execs.every((r) => r.user === 'admin' && r.code === 101)).toBe(true)
  })

  it('a cluster\'s proxy-url: every request goes through the proxy\'s CONNECT tunnel', async () => {
    const proxy = await connectProxy()
    try {
      const kc = sim.writeKubeconfig('kc-proxy')
      writeFileSync(kc, sim.server.kubeconfig().replace(`    server: ${sim.server.url}`, `    server: ${sim.server.url}\n    proxy-url: http://127.0.0.1:${proxy.port}`))
      expect(readFileSync(kc, 'utf8')).toContain('proxy-url')
      const run = await runLoading(['pod-ips', '-A', '-o', 'json', '--kubeconfig', kc])
      expect(run).toMatchObject({code: 0, stderr: ''})
      expect(JSON.parse(run.stdout).items.length).toBeGreaterThan(0)
      expect(proxy.tunnels.length).toBeGreaterThan(0)
      expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(sim.server.url).host]))
      expect(run.sources.some((source) => CONFIG_JS.test(source))).toBe(true)
    } finally {
      proxy.close()
    }
    // The proxy gone: the run fails in one line, exit 3, and does not go around it.
    const kc = path.join(sim.dir, 'kc-proxy')
    expect(existsSync(kc)).toBe(true)
    const before = sim.server.sim.requests.length
    const down = await runPlugin(['pod-ips', '-A', '--kubeconfig', kc])
    expect(down.code).toBe(3)
    expect(down.stderr).toMatch(/^error: cannot connect to the API server: connection refused \(context "sim", server https:\/\/127\.0\.0\.1:\d+\)/)
    expect(down.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(sim.server.sim.requests.length).toBe(before)
  })
})
