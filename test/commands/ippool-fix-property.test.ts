// The property ippool fix promises: whatever fails and wherever (an error answer, a dropped connection, the
// process killed), the family's pool afterwards is the original or the desired one, or the Lease journal
// says how to finish, and finishing it (--resume or --rollback) gets there. Hundreds of runs, seeded.
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import path from 'node:path'

import {PLUGIN, runPlugin, startSim, testEnv, type RunningSim} from '../sim/harness.js'
import {seededRandom} from '../sim/random.js'
import type {FaultSpec} from '../sim/scenario.js'
import {poolOf, runbookUnused} from './ops-helpers.js'

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200)
const SEED = Number(process.env.PROPERTY_SEED ?? Date.now() % 100_000)

const ORIGINAL = {cidr: '2001:0:0:1::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()'}
const DESIRED = {cidr: '2001:0:0:2::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}

// The requests a run makes that change or read what matters, with how many of each a recreate run makes.
const STEPS: Array<{verb: string; resource: string; count: number}> = [
  {verb: 'get', resource: 'ippools', count: 4},
  {verb: 'delete', resource: 'ippools', count: 1},
  {verb: 'create', resource: 'ippools', count: 1},
  {verb: 'create', resource: 'leases', count: 1},
  {verb: 'update', resource: 'leases', count: 4},
  {verb: 'delete', resource: 'leases', count: 1},
  {verb: 'list', resource: 'pods', count: 1},
]

function sameSpec(spec: Record<string, unknown> | undefined, want: Record<string, unknown>): boolean {
  return spec !== undefined && Object.entries(want).every(([k, v]) => spec[k] === v)
}

describe('ippool fix: the pool is never lost', () => {
  let sim: RunningSim
  let backups: string
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', runbookUnused)
    backups = mkdtempSync(path.join(sim.dir, 'backup-'))
  })
  afterAll(() => sim.stop())

  function reset(): void {
    const c = sim.server.sim
    const poolType = c.type('crd.projectcalico.org/v1', 'IPPool')
    c.faults = []
    for (const lease of c.store.list(c.type('coordination.k8s.io/v1', 'Lease'))) c.store.delete(c.type('coordination.k8s.io/v1', 'Lease'), lease.metadata.namespace, lease.metadata.name)
    if (poolOf(sim, 'default-ipv6-ippool')) c.store.delete(poolType, undefined, 'default-ipv6-ippool')
    c.store.create(poolType, {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool'}, spec: {...ORIGINAL}})
  }

  async function killAt(fault: FaultSpec): Promise<void> {
    const c = sim.server.sim
    c.faults = [{...fault, latencyMs: 400, times: 1, hits: 0}]
    const child = spawn(PLUGIN, ['ippool', 'fix', '--yes', '--kubeconfig', sim.kubeconfig, '--backup-dir', backups], {env: testEnv()})
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    const deadline = Date.now() + 15_000
    const hit = () => c.faults[0] !== undefined && c.faults[0].hits > 0
    while (!hit() && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 10))
    child.kill('SIGKILL')
    await exited
    // What the server had received still completes.
    await new Promise((resolve) => setTimeout(resolve, 450))
    c.faults = []
  }

  it(`holds over ${RUNS} runs with faults at random steps`, async () => {
    const next = seededRandom(SEED)
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!
    const tally = {runs: 0, faults: 0, kills: 0, fixed: 0, rolledBack: 0, failed: 0, finishedFromJournal: 0, poolsLost: 0, leftovers: 0, leasesUnreleased: 0, crashes: 0}
    const problems: string[] = []
    for (let run = 0; run < RUNS; run++) {
      reset()
      const step = pick(STEPS)
      const fault: FaultSpec = {verb: step.verb, resource: step.resource, skip: Math.floor(next() * step.count)}
      const kind = pick(['code', 'code', 'drop', 'kill'] as const)
      tally.runs++
      tally.faults++
      let stderr = ''
      if (kind === 'kill') {
        tally.kills++
        await killAt(fault)
      } else {
        const answer = kind === 'drop' ? {drop: true} : {code: pick([500, 503, 403, 409, 429])}
        // Answers that mean "not now" (503, 429, a dropped connection) are waited out: here they pass within the
        // wait (an outage longer than it is tested in process and on the real tier); the others may persist.
        const transient = 'drop' in answer || answer.code === 503 || answer.code === 429
        sim.server.sim.faults = [{...fault, ...answer, times: transient ? pick([1, 2, 6]) : pick([1, 1, 2, 100]), hits: 0}]
        const result = await runPlugin(['ippool', 'fix', '--yes', '--timeout', '30s', '-o', 'json', '--kubeconfig', sim.kubeconfig, '--backup-dir', backups])
        stderr = result.stderr
        sim.server.sim.faults = []
        if (/\n\s+at /.test(result.stderr) || result.stderr.includes('unexpected error')) {
          tally.crashes++
          problems.push(`run ${run} (${JSON.stringify(fault)} ${kind}): ${result.stderr}`)
        }
        if (result.stdout.startsWith('{')) {
          const outcome = (JSON.parse(result.stdout) as {result: string}).result
          if (outcome === 'fixed') tally.fixed++
          else if (outcome === 'rolled-back') tally.rolledBack++
          else tally.failed++
        } else tally.failed++
      }
      const pool = poolOf(sim, 'default-ipv6-ippool')?.spec as Record<string, unknown> | undefined
      const lease = sim.server.sim.store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'))[0]
      const journal = lease ? JSON.parse(lease.metadata.annotations?.['dualstack.kubectl.io/journal'] ?? 'null') as {state?: string} | null : undefined
      const settled = sameSpec(pool, ORIGINAL) || sameSpec(pool, DESIRED)
      if (journal && journal.state !== 'finished') {
        // The journal must say how to finish: do it, either way, and check where it lands.
        const how = pick(['--resume', '--rollback'])
        const finish = await runPlugin(['ippool', 'fix', how, '--yes', '-o', 'json', '--kubeconfig', sim.kubeconfig, '--backup-dir', backups])
        tally.finishedFromJournal++
        const after = poolOf(sim, 'default-ipv6-ippool')?.spec as Record<string, unknown> | undefined
        const want = how === '--resume' ? DESIRED : ORIGINAL
        if (!sameSpec(after, want)) {
          tally.poolsLost++
          problems.push(`run ${run} (${JSON.stringify(fault)} ${kind}): after ${how} the pool is ${JSON.stringify(after)}; ${finish.stdout.slice(0, 400)} ${finish.stderr}`)
        }
      } else if (!settled) {
        tally.poolsLost++
        problems.push(`run ${run} (${JSON.stringify(fault)} ${kind}): the pool is ${JSON.stringify(pool)} and no journal says how to finish; ${stderr}`)
      }
      // A Lease whose DELETE the server refused stays, unheld and marked finished (the run says so, and the
      // next run takes it over): counted, not a leak. Anything held, or not finished, is.
      for (const left of sim.server.sim.store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'))) {
        const state = (JSON.parse(left.metadata.annotations?.['dualstack.kubectl.io/journal'] ?? 'null') as {state?: string} | null)?.state
        if (!left.spec?.holderIdentity && state === 'finished') tally.leasesUnreleased++
        else {
          tally.leftovers++
          problems.push(`run ${run} (${JSON.stringify(fault)} ${kind}): a Lease is left (holder ${left.spec?.holderIdentity}, journal ${state})`)
        }
      }
    }
    process.stdout.write(`ippool fix property (seed ${SEED}): ${JSON.stringify(tally)}\n`)
    expect(problems).toEqual([])
    expect(tally.runs).toBe(RUNS)
  }, 30 * 60_000)
})
