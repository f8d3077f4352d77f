// npm run chaos [-- --runs 500 --seed 42]: many fault-injected runs of every command, and the figures.
import {parseArgs} from 'node:util'

import {runChaos} from './chaos.js'

const {values} = parseArgs({options: {runs: {type: 'string', default: '500'}, seed: {type: 'string'}, verbose: {type: 'boolean'}}})
const runs = Number(values.runs)
const seed = values.seed ? Number(values.seed) : Date.now() % 1_000_000
const started = Date.now()
console.log(`chaos: ${runs} runs, seed ${seed} (again: npm run chaos -- --runs ${runs} --seed ${seed})`)
const totals = await runChaos(runs, seed, (i, line) => {
  if (values.verbose || line.includes(': ')) console.log(line)
  else if ((i + 1) % 25 === 0) console.log(`  ${i + 1} runs, ${((Date.now() - started) / 1000).toFixed(0)} s`)
})
console.log(`
runs             ${totals.runs}
faults injected  ${totals.faultsInjected}
exit codes       ${Object.entries(totals.byExit).map(([code, n]) => `${code}: ${n}`).join(', ')}
wrong results    ${totals.wrongResults}
pools lost       ${totals.poolsLost}
leftovers        ${totals.leftovers} (and ${totals.leftoversReported} run(s) that named what the API server would not let them delete)
crashes          ${totals.crashes}
time             ${((Date.now() - started) / 1000).toFixed(0)} s`)
if (totals.wrongResults + totals.poolsLost + totals.leftovers + totals.crashes > 0) process.exitCode = 1
