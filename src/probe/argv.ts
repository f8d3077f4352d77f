// The probes svc-check and connectivity run in a pod, as argv arrays (never a shell string built from cluster
// data), and the parsers for their output. Every address is validated before it is used. What an outcome
// means (pass, fail, skip, and the message) is judged in ./judge.ts.
import {parseAddress, type Family} from '../net/ip.js'

function checked(address: string, family: Family): string {
  const parsed = parseAddress(address)
  if (!parsed || parsed.family !== family) throw new Error(`not an ${family} address: ${JSON.stringify(address)}`)
  return parsed.text
}

/** ping (IPv4) or ping6 (IPv6, the runbook's command; works with iputils and busybox images). */
export function pingArgv(family: Family, address: string, count = 3, waitSeconds = 2): string[] {
  return pingHostArgv(family, checked(address, family), count, waitSeconds)
}

/** pingArgv to a host the user named (connectivity's --external-target): an address, or a name ping resolves. */
export function pingHostArgv(family: Family, host: string, count = 3, waitSeconds = 2): string[] {
  return [family === 'ipv6' ? 'ping6' : 'ping', '-c', String(count), '-W', String(waitSeconds), host]
}

/** Whether ping's stderr says it may open neither a raw nor a datagram ICMP socket (iputils, busybox): no NET_RAW, no unprivileged ICMP. */
export function pingNotPermitted(stderr: string): boolean {
  return /Operation not permitted|permission denied|cap_net_raw/i.test(stderr)
}

/** Average round trip from ping's summary line ("rtt min/avg/max/mdev = a/b/c/d ms", busybox: "round-trip ..."). */
export function parsePing(stdout: string): {received: number; avgMs?: number} {
  const received = Number(/(\d+) (?:packets )?received/.exec(stdout)?.[1] ?? 0)
  const rtt = /(?:rtt|round-trip) min\/avg\/max(?:\/mdev)? = [\d.]+\/([\d.]+)\//.exec(stdout)
  return {received, ...(rtt ? {avgMs: Number(rtt[1])} : {})}
}

/** `path` is the plugin's own (e.g. /hostname, /echo?msg=...), never cluster data. */
export function httpUrl(family: Family, address: string, port: number, path = '/'): string {
  const ip = checked(address, family)
  return family === 'ipv6' ? `http://[${ip}]:${port}${path}` : `http://${ip}:${port}${path}`
}

/** curl with -g (so IPv6 brackets are not a glob), connect and total timeouts, printing code and time. */
export function curlArgv(url: string, timeoutSeconds: number): string[] {
  return ['curl', '-g', '-s', '-o', '/dev/null', '--connect-timeout', String(timeoutSeconds), '-m', String(timeoutSeconds), '-w', '%{http_code} %{time_total}', url]
}

/** curl as curlArgv, printing the answer's body, then a line of code and time: for tests whose answer is the point (an echo, a hostname). */
export function curlBodyArgv(url: string, timeoutSeconds: number): string[] {
  return ['curl', '-g', '-s', '--connect-timeout', String(timeoutSeconds), '-m', String(timeoutSeconds), '-w', '\\n%{http_code} %{time_total}', url]
}

/**
 * One curl for several requests from the same pod, one after the other (each with its own timeouts), printing
 * a line per request: HTTP code, total time, bytes received and curl's exit code for it (%{exitcode}, curl
 * 7.75+). An exec per request is most of a big run's cost; one per pod keeps it near one per test kind.
 */
export function curlBatchArgv(urls: readonly string[], timeoutSeconds: number): string[] {
  return ['curl', '-g', '-s', '--connect-timeout', String(timeoutSeconds), '-m', String(timeoutSeconds),
    '-w', '%{http_code} %{time_total} %{size_download} %{exitcode}\\n', ...urls.flatMap((url) => ['-o', '/dev/null', url])]
}

export interface CurlTransfer {
  httpCode: number
  seconds?: number
  bytes: number
  /** curl's exit code for this request; undefined when its curl does not know %{exitcode}. */
  exitCode?: number
}

/** The lines of curlBatchArgv, one per request that ran, in order. */
export function parseCurlBatch(stdout: string): CurlTransfer[] {
  return stdout.split('\n').map((line) => /^(\d{3}) ([\d.]+) (\d+) (\S+)$/.exec(line.trim())).filter((m) => m !== null).map((m) => {
    const exitCode = Number(m[4])
    return {httpCode: Number(m[1]), seconds: Number(m[2]), bytes: Number(m[3]), ...(Number.isInteger(exitCode) ? {exitCode} : {})}
  })
}

/** The body and the code/time line curlBodyArgv prints. */
export function parseCurlBody(stdout: string): {body: string; httpCode: number; seconds?: number} {
  const cut = stdout.lastIndexOf('\n')
  const {httpCode, seconds} = parseCurl(cut === -1 ? stdout : stdout.slice(cut + 1))
  return {body: cut === -1 ? '' : stdout.slice(0, cut), httpCode, ...(seconds !== undefined ? {seconds} : {})}
}

/**
 * A "hostname" request to agnhost netexec's UDP server, its answer (the server pod's name) on stdout: nc -u
 * sends what echo gives it and prints what comes back until `waitSeconds` pass with nothing. The script is
 * constant; the address, port and wait are its arguments ($0, $1, $2), so nothing read from the cluster is
 * ever part of a shell string.
 */
export function udpHostnameArgv(family: Family, address: string, port: number, waitSeconds: number): string[] {
  return ['sh', '-c', 'echo hostname | nc -u -w "$2" "$0" "$1"', checked(address, family), String(port), String(waitSeconds)]
}

export function parseCurl(stdout: string): {httpCode: number; seconds?: number} {
  const m = /(\d{3}) ([\d.]+)/.exec(stdout.trim())
  return m ? {httpCode: Number(m[1]), seconds: Number(m[2])} : {httpCode: 0}
}
