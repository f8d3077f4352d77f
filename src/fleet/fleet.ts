// One command across several clusters (--context more than once, or --all-contexts): the clusters run
// concurrently, each on its own connection; one that cannot be reached is reported and the others go on.
// The exit status is the worst of them.
import * as Flags from '@oclif/core/flags'

import {connectionFlags, type KubeFlagValues} from '../base-command.js'
import {mapLimit} from '../cluster/concurrency.js'
import type {ClusterClient} from '../cluster/kube.js'
import {DualstackError, ExitCode, UsageError} from '../errors.js'
import {emit, type Printer, type Renderers} from '../render/emit.js'
import {renderTable} from '../render/table.js'

/** --context (repeatable) and --all-contexts, for the commands that read. The repairs take one context. */
export const fleetFlags = {
  context: Flags.string({description: 'The kubeconfig context to use; repeat it to run against several clusters at once', multiple: true, helpGroup: 'KUBECTL'}),
  'all-contexts': Flags.boolean({description: 'Run against every context of the kubeconfig, concurrently', exclusive: ['context'], helpGroup: 'KUBECTL'}),
}

export interface ClusterWork<T> {
  report: T
  /** One line: what this cluster's run found. */
  summary: string
  exitCode: number
}

export interface ClusterOutcome<T> {
  context: string
  server?: string
  exitCode: number
  summary: string
  report?: T
  error?: string
}

/** kubectl's connection flags of a fleet run: every context gets them (the context itself is each one's). */
export type FleetConnection = Omit<KubeFlagValues, 'context'>

/** The contexts a run covers: the ones named, or all of the kubeconfig's; one or none is a single-cluster run. */
export async function contextsOf(flags: {context?: string[]; 'all-contexts'?: boolean; kubeconfig?: string}): Promise<string[]> {
  if (!flags['all-contexts']) return [...new Set(flags.context ?? [])]
  const {kubeconfigContextNames} = await import('../cluster/kube.js')
  const names = kubeconfigContextNames(flags.kubeconfig).sort()
  if (names.length === 0) throw new UsageError('--all-contexts: the kubeconfig has no contexts', 'pass --kubeconfig FILE or set KUBECONFIG')
  return names
}

export async function runFleet<T>(contexts: string[], connection: FleetConnection, work: (client: ClusterClient) => Promise<ClusterWork<T>>, concurrency = 8): Promise<ClusterOutcome<T>[]> {
  const {ClusterClient} = await import('../cluster/kube.js')
  const one = (['server', 'cluster', 'user', 'token'] as const).find((flag) => connection[flag] !== undefined)
  if (one && contexts.length > 1) throw new UsageError(`--${one} names one cluster or user, and this run covers ${contexts.length} contexts`, `drop --${one}, or run one context`)
  return mapLimit(contexts, concurrency, async (context): Promise<ClusterOutcome<T>> => {
    let server: string | undefined
    try {
      const client = ClusterClient.connect(connectionFlags({...connection, context}))
      server = client.target.server
      const done = await work(client)
      return {context, server, exitCode: done.exitCode, summary: done.summary, report: done.report}
    } catch (error) {
      const message = error instanceof DualstackError ? (error.hint ? `${error.message}; ${error.hint}` : error.message) : `unexpected error: ${(error as Error).message}`
      const exitCode = error instanceof DualstackError ? error.exitCode : ExitCode.ProblemsFound
      return {context, server, exitCode, summary: `error: ${message}`, error: message}
    }
  })
}

export function worstExit(outcomes: Array<ClusterOutcome<unknown>>): number {
  return Math.max(0, ...outcomes.map((o) => o.exitCode))
}

/** One row per cluster. */
export function renderFleetTable(outcomes: Array<ClusterOutcome<unknown>>): string {
  return renderTable(['CONTEXT', 'SERVER', 'EXIT', 'RESULT'], outcomes.map((o) => [o.context, o.server ?? '-', String(o.exitCode), o.summary]))
}

/** The detail, keyed by context, for -o json and -o yaml. */
export function fleetModel<T>(outcomes: Array<ClusterOutcome<T>>, model: (report: T) => unknown): unknown {
  return {
    clusters: Object.fromEntries(outcomes.map((o) => [o.context, {
      server: o.server ?? null, exitCode: o.exitCode, summary: o.summary,
      ...(o.report !== undefined ? {report: model(o.report)} : {error: o.error}),
    }])),
  }
}

/**
 * A command run across several clusters, start to end: each context's work, one row per cluster in a table
 * (json and yaml: the detail by context; other formats by `renderers`, given the outcomes), the worst exit.
 */
export async function fleetCommand<T>(printer: Printer, output: string, contexts: string[], connection: FleetConnection,
  work: (client: ClusterClient) => Promise<ClusterWork<T>>, modelOf: (report: T) => unknown,
  renderers: Partial<Record<string, (outcomes: Array<ClusterOutcome<T>>) => string>> = {}): Promise<unknown> {
  const outcomes = await runFleet(contexts, connection, work)
  const model = fleetModel(outcomes, modelOf)
  const bound: Renderers = {table: () => renderFleetTable(outcomes)}
  for (const [format, render] of Object.entries(renderers)) if (render) bound[format] = () => render(outcomes)
  emit(printer, output, model, bound)
  process.exitCode = worstExit(outcomes)
  return model
}
