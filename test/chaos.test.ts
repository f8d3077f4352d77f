// A few fault-injected runs of every command, in every npm test (seeded, so a failure comes back the same).
// npm run chaos runs many more and prints the figures.
import {runChaos} from './chaos/chaos.js'

const RUNS = Number(process.env.CHAOS_RUNS ?? 10)
const SEED = Number(process.env.CHAOS_SEED ?? 20261128)

describe('chaos: every command under random API faults', () => {
  it(`${RUNS} runs (seed ${SEED}): no wrong result, no crash, nothing left behind, no pool lost`, async () => {
    const totals = await runChaos(RUNS, SEED)
    expect(totals.problems).toEqual([])
    expect(totals.runs).toBe(RUNS)
    expect(totals.faultsInjected).toBeGreaterThan(0)
  }, 600_000)
})
