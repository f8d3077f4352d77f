// The probe module svc-check and connectivity share (src/probe/): one probe run by exec, and the judgement
// of its outcome, in process. Each outcome once: the exec failing or timing out, ping not permitted, lost or
// in error, curl's exit codes, HTTP codes, a batch of requests, UDP.
import type {ExecResult} from '../../src/cluster/kube.js'
import {ApiError, ExitCode} from '../../src/errors.js'
import {execProbe, type ProbeRun} from '../../src/probe/exec.js'
import {judgeHttp, judgeHttpBatch, judgePing, judgeUdp} from '../../src/probe/judge.js'

const source = {namespace: 'ns', pod: 'client-1', container: 'client'}
const ran = (exitCode: number, stdout = '', stderr = ''): ProbeRun => ({exitCode, stdout, stderr})

/** An exec that answers as `answer` says, or fails with it. */
function client(answer: ExecResult | Error): {exec: () => Promise<ExecResult>} {
  return {exec: () => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer))}
}

describe('a probe run by exec', () => {
  it('passes the exit code and output of a command that ran, whatever its exit code', async () => {
    await expect(execProbe(client({exitCode: 7, stdout: '000 0.001', stderr: 'x', timedOut: false}), source, ['curl'], 13_000))
      .resolves.toEqual({exitCode: 7, stdout: '000 0.001', stderr: 'x'})
  })

  it('an exec that times out is a failure naming the pod and the timeout, never an empty message, keeping what came before', async () => {
    const run = await execProbe(client({exitCode: -1, stdout: '200 0.1 5 0\n', stderr: '', timedOut: true}), source, ['curl'], 13_000)
    expect(run).toEqual({exitCode: -1, stdout: '200 0.1 5 0\n', stderr: '', failure: 'timed out after 13s (the exec in pod client-1 did not return)'})
  })

  it('an exec that fails (the API server, the kubelet, a stream ended without status) is the probe\'s failure, saying so', async () => {
    const run = await execProbe(client(new ApiError('exec in ns/client-1 ended without an exit status', 500, undefined, ExitCode.ProblemsFound)), source, ['ping'], 13_000)
    expect(run).toEqual({exitCode: -1, stdout: '', stderr: '', failure: 'could not run the test in pod client-1: exec in ns/client-1 ended without an exit status'})
    const bare = await execProbe(client(new Error('')), source, ['ping'], 13_000)
    expect(bare.failure).toBe('could not run the test in pod client-1: Error')
  })

  it('a refusal (401, 403) is the run\'s error: no probe can run', async () => {
    for (const code of [401, 403]) {
      const refused = new ApiError('cannot create resource "pods/exec"', code, 'Forbidden', ExitCode.ClusterUnavailable)
      await expect(execProbe(client(refused), source, ['ping'], 13_000)).rejects.toBe(refused)
    }
  })
})

describe('a ping, judged', () => {
  const replies = 'PING 10.1.0.1 (10.1.0.1) 56(84) bytes of data.\n\n--- 10.1.0.1 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 2002ms\nrtt min/avg/max/mdev = 0.061/0.080/0.095/0.014 ms\n'
  const lost = 'PING 10.1.0.1 (10.1.0.1) 56(84) bytes of data.\n\n--- 10.1.0.1 ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2002ms\n\n'

  it('replies pass, with their count and the average round trip', () => {
    expect(judgePing(ran(0, replies), {pod: 'c', peer: ' (pod web-1 on node-2)'})).toEqual({status: 'pass', message: '3 replies (pod web-1 on node-2)', latencyMs: 0.08, ran: true, lost: false})
  })

  it('no reply fails: "packets lost" when ping said nothing else (lost), ping\'s own error when it printed one', () => {
    expect(judgePing(ran(1, lost), {pod: 'c'})).toEqual({status: 'fail', message: 'no reply: packets lost', ran: true, lost: true})
    expect(judgePing(ran(2, '', 'ping: no-such.invalid: Name or service not known\n'), {pod: 'c'}))
      .toEqual({status: 'fail', message: 'no reply: ping: no-such.invalid: Name or service not known', ran: true, lost: false})
    expect(judgePing(ran(2, '', 'ping6: connect: Network is unreachable\nmore\n'), {pod: 'c', peer: ' (pod w)'}).message).toBe('no reply (pod w): ping6: connect: Network is unreachable')
  })

  it('not permitted to open an ICMP socket is a skip saying why (no NET_RAW, restricted), not a failure of the network', () => {
    const denied = ran(2, '', 'ping: socket: Operation not permitted\n')
    expect(judgePing(denied, {pod: 'ns/probe'})).toEqual({status: 'skip', ran: true, lost: false,
      message: 'ping is not permitted in pod ns/probe (no NET_RAW, and its node does not allow unprivileged ICMP: net.ipv4.ping_group_range): ping: socket: Operation not permitted'})
    expect(judgePing(denied, {pod: 'p', restricted: true}).message).toMatch(/^ping is not permitted in pod p \(no NET_RAW, as Pod Security restricted requires, and its node/)
  })

  it('an exec that timed out or failed fails, saying that, whatever its partial stderr held; the path was not tested (ran false)', () => {
    const timedOut = {exitCode: -1, stdout: '', stderr: 'ping: socket: Operation not permitted\n', failure: 'timed out after 13s (the exec in pod c did not return)'}
    expect(judgePing(timedOut, {pod: 'c', peer: ' (pod w)'})).toEqual({status: 'fail', message: 'no reply (pod w): timed out after 13s (the exec in pod c did not return)', ran: false, lost: false})
  })
})

describe('an HTTP request, judged', () => {
  it('any HTTP answer proves the path: it passes with its code and curl\'s total time', () => {
    expect(judgeHttp(ran(0, '200 0.001234'))).toMatchObject({status: 'pass', message: 'HTTP 200', latencyMs: 1.23, httpCode: 200, ran: true})
    expect(judgeHttp(ran(0, '503 0.002'))).toMatchObject({status: 'pass', message: 'HTTP 503', httpCode: 503})
  })

  it('curl\'s exit code says why it failed: the known ones by meaning, others by curl\'s stderr, else "no answer"', () => {
    expect(judgeHttp(ran(7, '000 0.000'))).toMatchObject({status: 'fail', message: 'curl exit 7: connection refused or no route', httpCode: 0, ran: true})
    expect(judgeHttp(ran(28, '000 5.001')).message).toBe('curl exit 28: timed out')
    expect(judgeHttp(ran(6, '000 0')).message).toBe('curl exit 6: could not resolve the host')
    expect(judgeHttp(ran(52, '000 0')).message).toBe('curl exit 52: empty reply from the server')
    expect(judgeHttp(ran(56, '000 0')).message).toBe('curl exit 56: connection reset')
    expect(judgeHttp(ran(35, '000 0', 'curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL\n')).message).toBe('curl exit 35: curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL')
    expect(judgeHttp(ran(18, '')).message).toBe('curl exit 18: no answer')
  })

  it('an exec that timed out fails with the exec\'s message, not curl\'s exit -1', () => {
    expect(judgeHttp({exitCode: -1, stdout: '', stderr: '', failure: 'timed out after 25s (the exec in pod p did not return)'}))
      .toMatchObject({status: 'fail', message: 'timed out after 25s (the exec in pod p did not return)', ran: false})
  })

  it('gives the body a curlBodyArgv printed, for the command to judge', () => {
    expect(judgeHttp(ran(0, 'dualstack-server-1\n200 0.0004'))).toMatchObject({status: 'pass', body: 'dualstack-server-1', message: 'HTTP 200', latencyMs: 0.4})
  })
})

describe('a batch of HTTP requests, judged', () => {
  it('each by its own line: code, time, bytes and exit code', () => {
    const judged = judgeHttpBatch(ran(28, '200 0.000412 2000 0\n000 5.001 0 28\n000 0.01 0 7\n'), 3)
    expect(judged.map((j) => [j.status, j.message, j.bytes])).toEqual([['pass', 'HTTP 200', 2000], ['fail', 'curl exit 28: timed out', 0], ['fail', 'curl exit 7: connection refused or no route', 0]])
    expect(judged[0]!.latencyMs).toBe(0.41)
  })

  it('requests with no line: the exec\'s failure (a timeout after the first answered), or curl\'s exit before them', () => {
    const timedOut = judgeHttpBatch({exitCode: -1, stdout: '200 0.1 5 0\n', stderr: '', failure: 'timed out after 17s (the exec in pod c did not return)'}, 3)
    expect(timedOut.map((j) => `${j.status} ${j.message} ${j.ran}`)).toEqual(['pass HTTP 200 true',
      'fail timed out after 17s (the exec in pod c did not return) false', 'fail timed out after 17s (the exec in pod c did not return) false'])
    expect(judgeHttpBatch(ran(2, '', 'curl: option -w: is badly used here\n'), 1)[0]!.message).toBe('curl exit 2 before this request: curl: option -w: is badly used here')
  })

  it('a curl before 7.75 (no %{exitcode}): a code passes; no code takes the exec\'s exit code, and never an exit -1', () => {
    expect(judgeHttpBatch(ran(0, '200 0.1 5 %{exitcode}\n'), 1)[0]).toMatchObject({status: 'pass', message: 'HTTP 200'})
    expect(judgeHttpBatch(ran(7, '000 0.1 0 %{exitcode}\n'), 1)[0]!.message).toBe('curl exit 7: connection refused or no route')
    expect(judgeHttpBatch({exitCode: -1, stdout: '000 0.1 0 %{exitcode}\n', stderr: '', failure: 'timed out after 17s (the exec in pod c did not return)'}, 2).map((j) => j.message))
      .toEqual(['curl gave no HTTP answer', 'timed out after 17s (the exec in pod c did not return)'])
  })
})

describe('a UDP request, judged', () => {
  const servers = new Set(['server-1', 'server-2'])

  it('an answer from a server of the run passes, whatever netcat\'s exit code', () => {
    expect(judgeUdp(ran(0, 'server-2\n'), servers, 2)).toEqual({status: 'pass', message: 'UDP answer from server-2', ran: true})
    expect(judgeUdp(ran(1, 'server-1'), servers, 2)).toEqual({status: 'pass', message: 'UDP answer from server-1', ran: true})
  })

  it('an answer from elsewhere, or none, fails saying which; an exec that timed out says so', () => {
    expect(judgeUdp(ran(0, 'someone-else\n'), servers, 2).message).toBe('UDP answer "someone-else" is from no server of the run')
    expect(judgeUdp(ran(0, ''), servers, 2)).toEqual({status: 'fail', message: 'no UDP answer in 2s', ran: true})
    expect(judgeUdp(ran(1, '', 'nc: read: Connection refused\n'), servers, 2).message).toBe('no UDP answer in 2s (nc: read: Connection refused)')
    expect(judgeUdp({exitCode: -1, stdout: '', stderr: '', failure: 'timed out after 13s (the exec in pod c did not return)'}, servers, 2))
      .toEqual({status: 'fail', message: 'timed out after 13s (the exec in pod c did not return)', ran: false})
  })
})
