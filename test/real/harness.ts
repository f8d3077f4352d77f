// The real control plane tier: tests start a RealCluster (test/control-plane) for a scenario and run the
// plugin's binary and the real kubectl against it, exactly as the simulator tier does against test/sim.
import {RealCluster, type RealClusterOptions} from '../control-plane/cluster.js'
import {loadScenario, type Scenario} from '../sim/scenario.js'

/** Starting a control plane takes 10-30 s on these machines (more while the other worker builds or starts one). */
export const START_TIMEOUT = 240_000

export async function startReal(scenario: string | Scenario, mutate?: (s: Scenario) => void, options: Omit<RealClusterOptions, 'scenario'> = {}): Promise<RealCluster> {
  const loaded = typeof scenario === 'string' ? loadScenario(scenario) : structuredClone(scenario)
  mutate?.(loaded)
  return RealCluster.start({scenario: loaded, log: (line) => process.stderr.write(`${line}\n`), ...options})
}
