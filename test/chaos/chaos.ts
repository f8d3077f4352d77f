// Fault injection across every command: each run picks a command and a cluster, injects random API faults
// (error codes, delays, dropped connections, refused or broken watches, broken exec streams) and runs the
// real binary. Then it checks what the run left: a correct result or a clear error with a documented exit
// code, never a wrong result, never a stack trace, nothing left behind, no IP pool lost.
// `npm test` runs a few (test/chaos.test.ts); `npm run chaos` runs many and prints the figures.
import {runPlugin, startSim, type RunResult, type RunningSim} from '../sim/harness.js'
import type {FaultSpec, Scenario} from '../sim/scenario.js'
import {seededRandom} from '../sim/random.js'
import type {Obj} from '../sim/store.js'

interface CommandCase {
  name: string
  scenario: string
  args: string[]
  /** A run that succeeded: is its result right? (compared with a fault-free run of the same case). */
  judge: (run: RunResult, clean: RunResult, sim: RunningSim) => string | undefined
}

const EXIT_CODES = new Set([0, 1, 2, 3])

function sortedLines(text: string): string {
  return text.split('\n').sort().join('\n')
}

function doctorStatuses(run: RunResult): Record<string, string> | undefined {
  try {
    const report = JSON.parse(run.stdout) as {checks: Array<{id: string; status: string}>}
    return Object.fromEntries(report.checks.map((c) => [c.id, c.status]))
  } catch {
    return undefined
  }
}

function poolsOf(sim: RunningSim): Obj[] {
  return sim.server.sim.store.list(sim.server.sim.type('crd.projectcalico.org/v1', 'IPPool'))
}

export const CASES: CommandCase[] = [
  {
    name: 'pod-ips', scenario: 'runbook-rke-1.18', args: ['pod-ips', '-A', '-o', 'plain'],     // Pod names carry random suffixes (so the order varies from cluster to cluster): the addresses must be the same.
    judge: (run, clean) => (run.code === 0 && sortedLines(run.stdout) !== sortedLines(clean.stdout) ? 'pod-ips printed other addresses than without faults' : undefined),
  },
  {
    name: 'doctor', scenario: 'runbook-rke-1.18', args: ['doctor', '-o', 'json', '--exec-timeout', '3s'],
        judge: (run, clean) => {
      if (run.code === 3 || run.code === 2) return undefined
      const got = doctorStatuses(run)
      const want = doctorStatuses(clean)
      if (!got || !want) return 'doctor -o json did not print a report'
      // A check may say error (a fact it could not read) or skip (it needs that fact); any other verdict must be the true one.
      const wrong = Object.entries(got).filter(([id, status]) => !['error', 'skip'].includes(status) && status !== want[id])
      return wrong.length > 0 ? `doctor's verdicts changed under faults: ${wrong.map(([id, s]) => `${id} ${s} (is ${want[id]})`).join(', ')}` : undefined
    },
  },
  {
    name: 'svc-check', scenario: 'healthy-dual-stack', args: ['svc-check', 'svc-hellok8s', '-n', 'default', '-o', 'json', '--ready-timeout', '10s'],
        judge: (run, clean) => {
      if (run.code !== 0) return undefined
      return run.code === clean.code ? undefined : `svc-check passed where it fails without faults`
    },
  },
  {
    name: 'ippool fix', scenario: 'runbook-rke-1.18', args: ['ippool', 'fix', '--yes', '--strategy', 'migrate', '--timeout', '60s'],
        judge: (run, _clean, sim) => {
      if (run.code !== 0) return undefined
      const wanted = poolsOf(sim).find((p) => p.spec?.cidr === '2001:0:0:2::/104' && p.spec?.disabled !== true)
      return wanted ? undefined : 'ippool fix said fixed but no enabled pool has the wanted CIDR'
    },
  },
  {
    name: 'connectivity', scenario: 'healthy-dual-stack', args: ['connectivity', '-o', 'json', '--ready-timeout', '20s'],
    judge: (run, clean) => (run.code === 0 && clean.code !== 0 ? 'connectivity passed where it fails without faults' : undefined),
  },
  {
    name: 'pods recreate', scenario: 'runbook-rke-1.18', args: ['pods', 'recreate', '--single-stack', '-A', '--yes', '--ready-timeout', '20s'],
    judge: () => undefined,
  },
  {
    name: 'calico-restart', scenario: 'healthy-dual-stack', args: ['calico-restart', '--yes', '--timeout', '20s'],
        judge: () => undefined,
  },
]

const CODES = [429, 500, 503, 504, 410]

/** One to three faults on requests the command makes (as a fault-free run made them). */
function randomFaults(random: () => number, requests: Array<{verb: string; resource: string}>): Array<Omit<FaultSpec, 'hits'>> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const count = 1 + Math.floor(random() * 3)
  return Array.from({length: count}, () => {
    const {verb, resource} = pick(requests)
    const fault: Omit<FaultSpec, 'hits'> = {verb, resource, skip: Math.floor(random() * 3)}
    const kind = random()
    if (kind < 0.55) fault.code = pick(CODES)
    else if (kind < 0.8) fault.drop = true
    else fault.latencyMs = 50 + Math.floor(random() * 400)
    if (fault.code === 429) fault.retryAfterSeconds = random() < 0.5 ? 0 : 1
    // Most faults pass after a few hits, as real ones do; some last for the whole run.
    if (random() < 0.8) fault.times = 1 + Math.floor(random() * 3)
    return fault
  })
}

export interface ChaosTotals {
  runs: number
  faultsInjected: number
  wrongResults: number
  poolsLost: number
  leftovers: number
  /** Runs that left something the API server would not let them delete, and said so. */
  leftoversReported: number
  crashes: number
  byExit: Record<string, number>
  problems: string[]
}

/**
 * What the run made and did not delete. Something the API server refused to delete for the whole run cannot
 * be helped: then the run must have said so (named, with the command that deletes it).
 */
function leftoversOf(sim: RunningSim, said: string): {unreported: string[]; reported: string[]} {
  const store = sim.server.sim.store
  const found: string[] = []
  for (const pod of store.list(sim.server.sim.type('v1', 'Pod'))) if (/^dualstack-/.test(pod.metadata.name)) found.push(`pod ${pod.metadata.namespace}/${pod.metadata.name}`)
  for (const ns of store.list(sim.server.sim.type('v1', 'Namespace'))) if (/^dualstack-/.test(ns.metadata.name)) found.push(`namespace ${ns.metadata.name}`)
  for (const lease of store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'))) {
    // A Lease that keeps an unfinished journal is left on purpose (for --resume / --rollback); one still held is not.
    const journal = lease.metadata.annotations?.['dualstack.kubectl.io/journal']
    const unfinished = journal && !/"state":"(finished|rolled-back)"/.test(journal)
    if (lease.spec?.holderIdentity || !unfinished) found.push(`Lease ${lease.metadata.namespace}/${lease.metadata.name}`)
  }
  const named = (item: string) => said.includes(`could not delete ${item}`) || (item.startsWith('Lease ') && said.includes(`the ${item} could not be released`))
  return {unreported: found.filter((item) => !named(item)), reported: found.filter(named)}
}

function v6PoolLost(sim: RunningSim): boolean {
  // Whatever happened, the cluster keeps an IPv6 pool: the original or the new one.
  return !poolsOf(sim).some((p) => String(p.spec?.cidr ?? '').includes(':'))
}

interface CleanRun {
  result: RunResult
  /** The verb and resource of every request it made: where faults will be met. */
  requests: Array<{verb: string; resource: string}>
}

const cleanRuns = new Map<string, CleanRun>()

async function cleanRun(c: CommandCase): Promise<CleanRun> {
  const cached = cleanRuns.get(c.name)
  if (cached) return cached
  const sim = await startSim(c.scenario, podStart)
  try {
    const result = await runPlugin([...c.args, '--kubeconfig', sim.kubeconfig])
    const seen = new Map(sim.server.sim.requests.filter((r) => r.resource).map((r) => [`${r.verb} ${r.resource}`, {verb: r.verb, resource: r.resource!}]))
    const run = {result, requests: [...seen.values()]}
    cleanRuns.set(c.name, run)
    return run
  } finally {
    await sim.stop()
  }
}

function podStart(s: Scenario): void {
  s.podStartMs = 100
}

export async function runChaos(runs: number, seed: number, onRun?: (i: number, line: string) => void): Promise<ChaosTotals> {
  const random = seededRandom(seed)
  const totals: ChaosTotals = {runs: 0, faultsInjected: 0, wrongResults: 0, poolsLost: 0, leftovers: 0, leftoversReported: 0, crashes: 0, byExit: {}, problems: []}
  for (let i = 0; i < runs; i++) {
    const c = CASES[Math.floor(random() * CASES.length)]!
    const clean = await cleanRun(c)
    const faults = randomFaults(random, clean.requests)
    const sim = await startSim(c.scenario, podStart)
    let result: RunResult
    try {
      sim.server.sim.faults = faults.map((f) => ({...f, hits: 0}))
      result = await runPlugin([...c.args, '--kubeconfig', sim.kubeconfig])
      const injected = sim.server.sim.faults.reduce((n, f) => n + f.hits, 0)
      sim.server.sim.faults = []
      totals.runs++
      totals.faultsInjected += injected
      totals.byExit[result.code] = (totals.byExit[result.code] ?? 0) + 1
      const problems: string[] = []
      if (/\n\s+at .*\(|\n\s+at [^ ]+:\d+:\d+/.test(result.stderr) || !EXIT_CODES.has(result.code)) {
        totals.crashes++
        problems.push(`crash (exit ${result.code}): ${result.stderr.slice(0, 300)}`)
      } else if (result.code !== 0 && result.code !== 1 && result.stderr.trim() === '') {
        totals.crashes++
        problems.push(`exit ${result.code} without a message`)
      }
      const wrong = c.judge(result, clean.result, sim)
      if (wrong) {
        totals.wrongResults++
        problems.push(`wrong result: ${wrong}`)
      }
      const left = leftoversOf(sim, `${result.stdout}\n${result.stderr}`)
      if (left.unreported.length > 0) {
        totals.leftovers++
        problems.push(`left behind, unsaid: ${left.unreported.join(', ')}`)
      }
      if (left.reported.length > 0) totals.leftoversReported++
      if (v6PoolLost(sim)) {
        totals.poolsLost++
        problems.push('the IPv6 pool is gone')
      }
      const line = `run ${i + 1} (seed ${seed}) ${c.name} faults=${JSON.stringify(faults)} injected=${injected} exit=${result.code}`
      if (problems.length > 0) totals.problems.push(`${line}: ${problems.join('; ')}`)
      onRun?.(i, problems.length > 0 ? `${line}: ${problems.join('; ')}` : line)
    } finally {
      await sim.stop()
    }
  }
  return totals
}
