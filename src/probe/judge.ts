// The judgement of one probe's outcome, written once for svc-check and connectivity: plain functions from what
// the probe's command gave (a ProbeRun) to a status, a message and a latency. Each command adds what is its own
// (what it names as the target, its advice, what it expects of an answer's body); what the outcome itself says
// (passed, failed and why, could not run, not permitted) is decided here.
import {parseCurlBatch, parseCurlBody, parsePing, pingNotPermitted} from './argv.js'
import type {ProbeRun} from './exec.js'

export type ProbeStatus = 'pass' | 'fail' | 'skip'

export interface Judgement {
  status: ProbeStatus
  message: string
  latencyMs?: number
  /**
   * Whether the probe's command ran to its end (its exit code is its own): false when the exec timed out or
   * could not run, so the path was not tested and no cause on the path should be offered for it.
   */
  ran: boolean
}

/** What curl's exit codes mean, for messages. */
export const CURL_EXIT: Record<number, string> = {
  6: 'could not resolve the host', 7: 'connection refused or no route', 28: 'timed out', 52: 'empty reply from the server', 56: 'connection reset',
}

const firstLine = (text: string) => text.trim().split('\n')[0]!.trim()

/** curl's total time in seconds, as milliseconds with two decimals. */
export function latencyMs(seconds: number | undefined): number | undefined {
  return seconds !== undefined ? Math.round(seconds * 100_000) / 100 : undefined
}

const withLatency = (ms: number | undefined) => (ms !== undefined ? {latencyMs: ms} : {})

export interface PingJudgement extends Judgement {
  /** It ran and printed no error: the packets were lost on the way (where advice on the path fits). */
  lost: boolean
}

/**
 * A ping (pingArgv). `pod` is the pod it ran in, as the command names it; `peer` what answers, for the
 * message (" (pod web-1 on node-2)"); `restricted` whether that pod was made to Pod Security's restricted
 * level (so it has no NET_RAW). A pod that may not open an ICMP socket is a skip: it is not the network.
 */
export function judgePing(run: ProbeRun, about: {pod: string; peer?: string; restricted?: boolean}): PingJudgement {
  const peer = about.peer ?? ''
  if (run.failure !== undefined) return {status: 'fail', message: `no reply${peer}: ${run.failure}`, ran: false, lost: false}
  if (run.exitCode !== 0 && pingNotPermitted(run.stderr)) {
    const why = `no NET_RAW${about.restricted ? ', as Pod Security restricted requires' : ''}, and its node does not allow unprivileged ICMP: net.ipv4.ping_group_range`
    return {status: 'skip', message: `ping is not permitted in pod ${about.pod} (${why}): ${firstLine(run.stderr)}`, ran: true, lost: false}
  }
  const parsed = parsePing(run.stdout)
  if (run.exitCode === 0) return {status: 'pass', message: `${parsed.received} replies${peer}`, ...withLatency(parsed.avgMs), ran: true, lost: false}
  // ping's own error (no route, a name that does not resolve) says more than "lost".
  const error = firstLine(run.stderr)
  return {status: 'fail', message: `no reply${peer}: ${error || 'packets lost'}`, ran: true, lost: !error}
}

/** Why a curl of one request failed: the exec's failure, or its exit code and what that means. */
function curlFailure(run: ProbeRun): string {
  return run.failure ?? `curl exit ${run.exitCode}: ${CURL_EXIT[run.exitCode] ?? (firstLine(run.stderr) || 'no answer')}`
}

export interface HttpJudgement extends Judgement {
  /** The HTTP status code; 0 when there was no answer. */
  httpCode: number
  /** Bytes of the answer's body that came back. */
  bytes: number
  /** The body, when the probe printed it (curlBodyArgv). */
  body: string
}

/**
 * One HTTP request (curlArgv, or curlBodyArgv with the body): an answer of any status proves the path, so it
 * passes with its code; the command judges the body if it expects one.
 */
export function judgeHttp(run: ProbeRun): HttpJudgement {
  const parsed = parseCurlBody(run.stdout)
  const answered = run.failure === undefined && run.exitCode === 0 && parsed.httpCode > 0
  return answered
    ? {status: 'pass', message: `HTTP ${parsed.httpCode}`, ...withLatency(latencyMs(parsed.seconds)), ran: true, httpCode: parsed.httpCode, bytes: Buffer.byteLength(parsed.body), body: parsed.body}
    : {status: 'fail', message: curlFailure(run), ran: run.failure === undefined, httpCode: parsed.httpCode, bytes: 0, body: ''}
}

/**
 * The requests of one curlBatchArgv, in order, each judged by its own line (its HTTP code and exit code). A
 * request with no line did not run: the exec timed out or failed before it, or curl stopped.
 */
export function judgeHttpBatch(run: ProbeRun, count: number): HttpJudgement[] {
  const lines = parseCurlBatch(run.stdout)
  return Array.from({length: count}, (_, i): HttpJudgement => {
    const line = lines[i]
    if (!line) {
      const stderr = firstLine(run.stderr)
      return {status: 'fail', message: run.failure ?? `curl exit ${run.exitCode} before this request${stderr ? `: ${stderr}` : ''}`, ran: false, httpCode: 0, bytes: 0, body: ''}
    }
    // A curl before 7.75 prints no exit code per request: the exec's is the last request's (unknown when the exec gave none).
    const exitCode = line.exitCode ?? (line.httpCode > 0 ? 0 : run.failure === undefined ? run.exitCode : undefined)
    if (exitCode === 0 && line.httpCode > 0) {
      return {status: 'pass', message: `HTTP ${line.httpCode}`, ...withLatency(latencyMs(line.seconds)), ran: true, httpCode: line.httpCode, bytes: line.bytes, body: ''}
    }
    const message = exitCode === undefined ? 'curl gave no HTTP answer' : `curl exit ${exitCode}: ${CURL_EXIT[exitCode] ?? 'no answer'}`
    return {status: 'fail', message, ran: true, httpCode: line.httpCode, bytes: line.bytes, body: ''}
  })
}

/**
 * A "hostname" request over UDP (udpHostnameArgv): it passes when one of `servers` answered with its name,
 * whatever netcat's exit code (its flavours end differently once -w passes); an answer from elsewhere fails.
 */
export function judgeUdp(run: ProbeRun, servers: ReadonlySet<string>, waitSeconds: number): Judgement {
  if (run.failure !== undefined) return {status: 'fail', message: run.failure, ran: false}
  const answer = run.stdout.trim()
  if (servers.has(answer)) return {status: 'pass', message: `UDP answer from ${answer}`, ran: true}
  if (answer) return {status: 'fail', message: `UDP answer ${JSON.stringify(answer.slice(0, 80))} is from no server of the run`, ran: true}
  const stderr = firstLine(run.stderr)
  return {status: 'fail', message: `no UDP answer in ${waitSeconds}s${stderr ? ` (${stderr})` : ''}`, ran: true}
}
