// Running one probe in a pod by exec, for svc-check and connectivity alike. A probe whose exec gives no exit
// status (it timed out, or the API server or kubelet failed it) is a probe that did not test the path: its
// run says why, naming the pod, so that its judgement (./judge.ts) never rests on an empty stderr.
import type {ClusterClient} from '../cluster/kube.js'
import {ApiError} from '../errors.js'
import {wasInterrupted} from '../interrupt.js'

/** What a probe's command gave. */
export interface ProbeRun {
  /** Its exit code; -1 when the exec gave none (then `failure` says why). */
  exitCode: number
  /** Its output; after a timeout, what came before the deadline. */
  stdout: string
  stderr: string
  /** Set when the exec gave no exit status: it timed out, or could not run. Names the pod, never empty. */
  failure?: string
}

/** Where a probe runs: a container of a pod. */
export interface ProbeSource {
  namespace: string
  pod: string
  container: string
}

/**
 * What to say of an exec that did not finish in time: its stderr is whatever came before the deadline (most
 * often nothing), so the timeout itself is the reason.
 */
export function execTimedOut(pod: string, timeoutMs: number): string {
  return `timed out after ${Math.round(timeoutMs / 1000)}s (the exec in pod ${pod} did not return)`
}

/**
 * Runs a probe's argv in the source's container. A timeout or a failed exec is the probe's outcome (its
 * `failure`), not the run's error, except a refusal (401, 403: no probe can run, so the run stops and says
 * why) and an exec failed by Ctrl-C's clean-up deleting the pod (the interrupted run ends, it reports nothing).
 */
export async function execProbe(client: Pick<ClusterClient, 'exec'>, source: ProbeSource, argv: string[], timeoutMs: number): Promise<ProbeRun> {
  try {
    const r = await client.exec(source.namespace, source.pod, source.container, argv, timeoutMs)
    return r.timedOut ? {exitCode: -1, stdout: r.stdout, stderr: r.stderr, failure: execTimedOut(source.pod, timeoutMs)} : {exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr}
  } catch (error) {
    if (error instanceof ApiError && (error.code === 401 || error.code === 403)) throw error
    if (wasInterrupted()) throw error
    const why = (error as Error)?.message || String(error) || 'no reason given'
    return {exitCode: -1, stdout: '', stderr: '', failure: `could not run the test in pod ${source.pod}: ${why}`}
  }
}
