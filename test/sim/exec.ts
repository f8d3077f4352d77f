// exec over WebSocket as kube-apiserver speaks it (v5/v4.channel.k8s.io: one byte of channel, then data;
// channel 3 carries the final Status with the exit code), and the small interpreter that answers the
// commands the plugin and the runbook run in pods.
import type {IncomingMessage} from 'node:http'
import type {Socket} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import {WebSocketServer} from 'ws'

import {addressFamily, parseAddress, type Family} from '../../src/net/ip.js'
import type {SimCluster} from './cluster.js'
import {Network} from './network.js'
import {errors} from './status.js'
import type {Obj} from './store.js'

export interface ExecResult {
  stdout: string
  stderr: string
  exitCode: number
}

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io']
const wss = new WebSocketServer({noServer: true, handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false})

function frame(channel: number, data: string | Buffer): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data
  return Buffer.concat([Buffer.from([channel]), payload])
}

function exitStatus(argv: string[], code: number): string {
  if (code === 0) return JSON.stringify({metadata: {}, status: 'Success'})
  return JSON.stringify({
    metadata: {}, status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode', details: {causes: [{reason: 'ExitCode', message: String(code)}]},
  })
}

export async function handleExecUpgrade(sim: SimCluster, pod: Obj, url: URL, req: IncomingMessage, socket: Socket, head: Buffer, dropStream = false): Promise<void> {
  const argv = url.searchParams.getAll('command')
  const containers: Array<{name: string}> = pod.spec?.containers ?? []
  const container = url.searchParams.get('container') ?? containers[0]?.name
  if (argv.length === 0) throw errors.badRequest('you must specify at least 1 command')
  if (!containers.some((c) => c.name === container)) throw errors.badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`)
  if (pod.status?.phase !== 'Running') throw errors.badRequest(`unable to upgrade connection: container not found ("${container}")`)
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
  if (!PROTOCOLS.some((p) => offered.includes(p))) {
    throw errors.badRequest(`unable to upgrade connection: websocket subprotocol not supported (offered: ${offered.join(', ') || 'none'})`)
  }
  const result = runInPod(sim, pod, argv)
  // Unref'd: a stopped server does not wait for the exec it was delaying.
  if (sim.scenario.execLatencyMs) await sleep(sim.scenario.execLatencyMs, undefined, {ref: false})
  wss.handleUpgrade(req, socket, head, (ws) => {
    // stdin (channel 0) is read and ignored: none of the simulated commands read input.
    ws.on('message', () => undefined)
    if (result.stdout) ws.send(frame(1, result.stdout))
    if (result.stderr) ws.send(frame(2, result.stderr))
    if (dropStream) {
      ws.terminate()
      return
    }
    // A process exits after its last write: the status follows the output a little later, as from a kubelet.
    // Sent in the same instant, kubectl can return on the status before it has copied stdout out.
    setTimeout(() => {
      ws.send(frame(3, exitStatus(argv, result.exitCode)))
      ws.close(1000)
    }, 5)
  })
}

/**
 * A shell script as the plugin writes them: constant text, its data in positional parameters ("$0", "$1"...),
 * simple commands, at most a pipe from echo (`echo hostname | nc -u ...`). The parameters are substituted as
 * words; anything else a shell does is not modelled.
 */
function runScript(sim: SimCluster, pod: Obj, script: string, params: string[]): ExecResult {
  const words = (text: string) => (text.trim().match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => {
    const unquoted = /^(["']).*\1$/.test(w) ? w.slice(1, -1) : w
    return w.startsWith("'") ? unquoted : unquoted.replace(/\$(\d)/g, (_, n: string) => params[Number(n)] ?? '')
  })
  const stages = script.split('|').map(words)
  let stdin: string | undefined
  let last: ExecResult = {stdout: '', stderr: '', exitCode: 0}
  for (const stage of stages) {
    last = runInPod(sim, pod, stage, stdin)
    stdin = last.stdout
  }
  return last
}

/** Runs argv in a pod of the simulated cluster: the output a real container would give. */
export function runInPod(sim: SimCluster, pod: Obj, argv: string[], stdin?: string): ExecResult {
  const [cmd, ...args] = argv
  const base = (cmd ?? '').split('/').pop()!
  const net = new Network(sim)
  const node: string = pod.spec?.nodeName
  const hostView = pod.spec?.hostNetwork === true
  const readSysctl = (key: string) => (hostView ? sim.sysctl(node, key) : key === 'net.ipv6.conf.all.forwarding' ? '0' : sim.sysctl(node, key))
  switch (base) {
    case 'sh':
    case 'bash':
    case 'ash': {
      if (args[0] !== '-c' || args[1] === undefined) return {stdout: '', stderr: '', exitCode: 0}
      // The plugin never builds shell strings from cluster data: its data come as positional parameters.
      return runScript(sim, pod, args[1], args.slice(2))
    }
    case 'cat': {
      const file = args[0] ?? ''
      if (file.startsWith('/proc/sys/')) {
        const value = readSysctl(file.slice('/proc/sys/'.length).replaceAll('/', '.'))
        if (value !== undefined) return {stdout: `${value}\n`, stderr: '', exitCode: 0}
      }
      return {stdout: '', stderr: `cat: can't open '${file}': No such file or directory\n`, exitCode: 1}
    }
    case 'sysctl': {
      const quiet = args.includes('-n')
      const write = args.includes('-w')
      const keys = args.filter((a) => !a.startsWith('-'))
      let out = ''
      for (const key of keys) {
        if (write) {
          const [k, v] = key.split('=')
          if (!hostView) return {stdout: '', stderr: `sysctl: error setting key '${k}': Read-only file system\n`, exitCode: 1}
          const spec = sim.nodeSpec(node)
          if (spec) spec.sysctls = {...spec.sysctls, [k!]: v!}
          out += `${k} = ${v}\n`
          continue
        }
        const value = readSysctl(key)
        if (value === undefined) return {stdout: out, stderr: `sysctl: cannot stat /proc/sys/${key.replaceAll('.', '/')}: No such file or directory\n`, exitCode: 255}
        out += quiet ? `${value}\n` : `${key} = ${value}\n`
      }
      return {stdout: out, stderr: '', exitCode: 0}
    }
    case 'ping':
    case 'ping6':
      if (!pingPermitted(sim, pod)) return {stdout: '', stderr: 'ping: socket: Operation not permitted\n', exitCode: 2}
      return ping(net, pod, base === 'ping6' ? 'ipv6' : undefined, args)
    case 'curl':
      return curl(net, pod, args)
    case 'nc':
      return nc(net, pod, args, stdin ?? '')
    case 'nslookup':
    case 'dig':
    case 'getent':
      return lookup(net, pod, base, args)
    case 'hostname':
      return {stdout: `${hostView ? node : pod.metadata.name}\n`, stderr: '', exitCode: 0}
    case 'echo':
      return {stdout: `${args.join(' ')}\n`, stderr: '', exitCode: 0}
    case 'true':
      return {stdout: '', stderr: '', exitCode: 0}
    case 'sleep':
      return {stdout: '', stderr: '', exitCode: 0}
    default:
      return {stdout: '', stderr: `exec: "${cmd}": executable file not found in $PATH\n`, exitCode: 127}
  }
}

/**
 * Whether ping can open a socket in the pod: a raw ICMP socket needs NET_RAW in the bounding set, and as
 * root (a non-root user gets it from ping's file capability, which no_new_privs, allowPrivilegeEscalation
 * false, ignores); else an ICMP datagram socket, which the kernel opens for groups in
 * net.ipv4.ping_group_range (its default "1 0" allows none).
 */
function pingPermitted(sim: SimCluster, pod: Obj): boolean {
  type Context = {runAsUser?: number; runAsGroup?: number; allowPrivilegeEscalation?: boolean; capabilities?: {add?: string[]; drop?: string[]}}
  const podContext: Context = pod.spec?.securityContext ?? {}
  const container: Context = pod.spec?.containers?.[0]?.securityContext ?? {}
  const user = container.runAsUser ?? podContext.runAsUser ?? 0
  const group = container.runAsGroup ?? podContext.runAsGroup ?? 0
  const added = (container.capabilities?.add ?? []).includes('NET_RAW')
  const dropped = (container.capabilities?.drop ?? []).some((c) => c === 'ALL' || c === 'NET_RAW')
  if ((added || !dropped) && (user === 0 || container.allowPrivilegeEscalation !== false)) return true
  const [low, high] = (sim.sysctl(pod.spec?.nodeName, 'net.ipv4.ping_group_range') ?? '1 0').split(/\s+/).map(Number)
  return group >= low! && group <= high!
}

function ping(net: Network, pod: Obj, forced: Family | undefined, args: string[]): ExecResult {
  let count = 3
  let family = forced
  let target: string | undefined
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '-c') count = Number(args[++i])
    else if (a === '-6') family = 'ipv6'
    else if (a === '-4') family = 'ipv4'
    else if (['-W', '-w', '-i', '-s', '-I'].includes(a)) i++
    else if (!a.startsWith('-')) target = a
  }
  if (!target) return {stdout: '', stderr: 'ping: usage error: Destination address required\n', exitCode: 2}
  const parsed = parseAddress(target)
  if (!parsed) return {stdout: '', stderr: `ping: ${target}: Name or service not known\n`, exitCode: 2}
  if (family && parsed.family !== family) return {stdout: '', stderr: `ping: ${target}: Address family for hostname not supported\n`, exitCode: 2}
  const outcome = net.reach(pod, parsed.text)
  const header = `PING ${target} (${parsed.text}) 56(84) bytes of data.\n`
  if (!outcome.ok && outcome.why === 'no-route') return {stdout: '', stderr: `ping: connect: ${outcome.detail}\n`, exitCode: 2}
  if (!outcome.ok) {
    return {stdout: `${header}\n--- ${target} ping statistics ---\n${count} packets transmitted, 0 received, 100% packet loss, time ${count * 1000 - 1000}ms\n\n`, stderr: '', exitCode: 1}
  }
  const rtt = outcome.rttMs
  const lines = Array.from({length: count}, (_, i) => `64 bytes from ${parsed.text}: icmp_seq=${i + 1} ttl=63 time=${rtt.toFixed(3)} ms\n`).join('')
  return {
    stdout: `${header}${lines}\n--- ${target} ping statistics ---\n${count} packets transmitted, ${count} received, 0% packet loss, time ${count * 1000 - 1000}ms\nrtt min/avg/max/mdev = ${rtt.toFixed(3)}/${rtt.toFixed(3)}/${rtt.toFixed(3)}/0.000 ms\n`,
    stderr: '', exitCode: 0,
  }
}

/**
 * curl as the plugin runs it: one URL or several, each with its -o in order, one after the other; -w written
 * after each (%{http_code}, %{time_total}, %{size_download}, %{exitcode}); the exit code is the last request's.
 */
function curl(net: Network, pod: Obj, args: string[]): ExecResult {
  const urls: string[] = []
  const outputs: string[] = []
  let writeOut: string | undefined
  let silent = false
  let globOff = false
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '-w' || a === '--write-out') writeOut = args[++i]
    else if (a === '-o' || a === '--output') outputs.push(args[++i]!)
    else if (['--connect-timeout', '-m', '--max-time', '-H', '-X'].includes(a)) i++
    else if (a === '-g' || a === '--globoff') globOff = true
    else if (a.startsWith('-') && !a.startsWith('--')) {
      if (a.includes('s')) silent = true
      if (a.includes('g')) globOff = true
    } else if (!a.startsWith('-')) urls.push(a)
  }
  if (urls.length === 0) return {stdout: '', stderr: 'curl: no URL specified!\n', exitCode: 2}
  let stdout = ''
  let stderr = ''
  let exitCode = 0
  urls.forEach((url, i) => {
    const one = transfer(net, pod, url, globOff, silent)
    const written = writeOut ? writeOut.replaceAll('%{http_code}', one.code).replaceAll('%{time_total}', one.seconds).replaceAll('%{size_download}', String(one.body.length))
      .replaceAll('%{exitcode}', String(one.exitCode)).replaceAll('\\n', '\n') : ''
    stdout += (outputs[i] === '/dev/null' ? '' : one.body) + written
    stderr += one.stderr
    exitCode = one.exitCode
  })
  return {stdout, stderr, exitCode}
}

function transfer(net: Network, pod: Obj, url: string, globOff: boolean, silent: boolean): {code: string; seconds: string; body: string; stderr: string; exitCode: number} {
  const failed = (exitCode: number, stderr: string) => ({code: '000', seconds: '0.000000', body: '', stderr, exitCode})
  const m = /^https?:\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?/.exec(url)
  if (!m) return failed(3, 'curl: (3) URL using bad/illegal format or missing URL\n')
  const bracketed = m[1]!.startsWith('[')
  if (bracketed && !globOff && !/^\[[0-9a-fA-F:.]+\]$/.test(m[1]!)) return failed(3, 'curl: (3) bad range in URL\n')
  const host = bracketed ? m[1]!.slice(1, -1) : m[1]!
  const port = Number(m[2] ?? (url.startsWith('https') ? 443 : 80))
  const path = url.slice(m[0].length) || '/'
  let ip = host
  if (!addressFamily(host)) {
    const resolved = [...net.resolve(host, pod.metadata.namespace!, 'ipv4'), ...net.resolve(host, pod.metadata.namespace!, 'ipv6')]
    if (resolved.length === 0) return failed(6, silent ? '' : `curl: (6) Could not resolve host: ${host}\n`)
    ip = resolved[0]!
  }
  const result = net.http(pod, ip, port, path)
  if (!result.ok) {
    const [exitCode, message] = result.why === 'refused' ? [7, `Failed to connect to ${host} port ${port}: Connection refused`]
      : result.why === 'no-route' ? [7, `Failed to connect to ${host} port ${port}: ${result.detail}`]
      : [28, `Connection timed out after 5001 milliseconds`]
    return failed(exitCode, `curl: (${exitCode}) ${message}\n`)
  }
  return {code: String(result.status), seconds: (result.rttMs / 1000).toFixed(6), body: result.body, stderr: '', exitCode: 0}
}

/**
 * netcat-openbsd's UDP client (-u): sends stdin as one datagram, prints what comes back, and quits once -w
 * seconds pass with nothing more; no answer is no output and exit 0. A refusal (ICMP port unreachable) is exit 1.
 */
function nc(net: Network, pod: Obj, args: string[], stdin: string): ExecResult {
  const rest: string[] = []
  let udp = false
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '-u') udp = true
    else if (a === '-w' || a === '-p' || a === '-s') i++
    else if (!a.startsWith('-')) rest.push(a)
  }
  const [host, portText] = rest
  if (!host || !portText) return {stdout: '', stderr: 'usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl] ... [destination] [port]\n', exitCode: 1}
  if (!udp) return {stdout: '', stderr: 'nc: only UDP (-u) is simulated\n', exitCode: 1}
  const parsed = parseAddress(host)
  if (!parsed) return {stdout: '', stderr: `nc: getaddrinfo for host "${host}" port ${portText}: Name does not resolve\n`, exitCode: 1}
  const result = net.udp(pod, parsed.text, Number(portText), stdin)
  if (result.ok) return {stdout: result.reply, stderr: '', exitCode: 0}
  if (result.why === 'refused') return {stdout: '', stderr: 'nc: read: Connection refused\n', exitCode: 1}
  if (result.why === 'no-route') return {stdout: '', stderr: `nc: connect to ${host} port ${portText} (udp) failed: ${result.detail}\n`, exitCode: 1}
  return {stdout: '', stderr: '', exitCode: 0}
}

function lookup(net: Network, pod: Obj, tool: string, args: string[]): ExecResult {
  const ns = pod.metadata.namespace!
  if (tool === 'dig') {
    const type = args.find((a) => a === 'AAAA' || a === 'A') ?? 'A'
    const name = args.find((a) => !a.startsWith('+') && a !== 'AAAA' && a !== 'A') ?? ''
    const ips = net.resolve(name, ns, type === 'AAAA' ? 'ipv6' : 'ipv4')
    return {stdout: ips.map((ip) => `${ip}\n`).join(''), stderr: '', exitCode: 0}
  }
  const name = args.filter((a) => !a.startsWith('-')).pop() ?? ''
  const ips = [...net.resolve(name, ns, 'ipv4'), ...net.resolve(name, ns, 'ipv6')]
  if (tool === 'getent') {
    return ips.length > 0 ? {stdout: ips.map((ip) => `${ip.padEnd(16)} ${name}\n`).join(''), stderr: '', exitCode: 0} : {stdout: '', stderr: '', exitCode: 2}
  }
  if (ips.length === 0) return {stdout: `Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n** server can't find ${name}: NXDOMAIN\n`, stderr: '', exitCode: 1}
  return {stdout: `Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\nName:\t${name}\n${ips.map((ip) => `Address: ${ip}\n`).join('')}`, stderr: '', exitCode: 0}
}
