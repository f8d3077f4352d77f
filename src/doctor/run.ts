// doctor: select checks, gather the facts they need once, run them, summarise.
import type {ClusterClient} from '../cluster/kube.js'
import {UsageError} from '../errors.js'
import {MissingFact, STATUSES, type Check, type CheckResult, type Status} from './check.js'
import {CHECKS} from './checks/index.js'
import {calicoVersion, detectDistribution} from './distribution.js'
import {gatherFacts, type FactName, type Facts} from './facts.js'

export interface DoctorReport {
  cluster: {server: string; context: string; version: string; distribution: string; calico: string | null}
  checks: CheckResult[]
  summary: Record<Status, number>
}

export function selectChecks(only: readonly string[], skipIds: readonly string[]): Check[] {
  const known = new Set(CHECKS.map((c) => c.id))
  // An id may name one check or a group by prefix ("calico.ippool" selects all pool checks).
  const matches = (id: string, pattern: string) => id === pattern || id.startsWith(`${pattern}.`)
  for (const id of [...only, ...skipIds]) {
    if (![...known].some((k) => matches(k, id))) {
      throw new UsageError(`unknown check id "${id}"`, `known ids: ${[...known].join(', ')}`)
    }
  }
  const selected = CHECKS.filter((c) => (only.length === 0 || only.some((p) => matches(c.id, p))) && !skipIds.some((p) => matches(c.id, p)))
  // Running nothing and passing would be a green result for a question never asked.
  if (selected.length === 0) throw new UsageError(`--only ${only.join(',')} and --skip ${skipIds.join(',')} leave no check to run`, 'skip fewer checks than --only selects')
  return selected
}

export function runChecks(checks: readonly Check[], facts: Facts): CheckResult[] {
  return checks.map((check) => {
    try {
      return {id: check.id, title: check.title, area: check.area, ...check.run(facts)}
    } catch (error) {
      const message = error instanceof MissingFact ? `could not read what this check needs: ${error.message}` : `the check failed to run: ${(error as Error).message}`
      const remediation = error instanceof MissingFact ? error.hint : undefined
      return {id: check.id, title: check.title, area: check.area, status: 'error', message, ...(remediation ? {remediation} : {})}
    }
  })
}

export function summarise(results: readonly CheckResult[]): Record<Status, number> {
  const summary = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>
  for (const r of results) summary[r.status]++
  return summary
}

export interface DoctorOptions {
  only: string[]
  skip: string[]
  concurrency: number
  execTimeoutMs: number
  onProgress?: (what: string, done: number, total: number) => void
}

export async function runDoctor(client: ClusterClient, options: DoctorOptions): Promise<DoctorReport> {
  const checks = selectChecks(options.only, options.skip)
  // Nodes, system pods, DaemonSets and ConfigMaps also describe the cluster (distribution, Calico version).
  const needed = new Set<FactName>(['nodes', 'systemPods', 'daemonSets', 'configMaps', ...checks.flatMap((c) => c.needs)])
  const facts = await gatherFacts(client, {needed, concurrency: options.concurrency, execTimeoutMs: options.execTimeoutMs, onProgress: options.onProgress})
  const results = runChecks(checks, facts)
  return {
    cluster: {
      server: facts.target.server, context: facts.target.context, version: facts.version.gitVersion,
      distribution: detectDistribution(facts),
      calico: calicoVersion(facts),
    },
    checks: results,
    summary: summarise(results),
  }
}
