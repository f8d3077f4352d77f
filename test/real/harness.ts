// The real control plane tier: tests start a RealCluster (test/control-plane) for a scenario and run the
// plugin's binary and the real kubectl against it, exactly as the simulator tier does against test/sim.
import {RealCluster, type RealClusterOptions} from '../control-plane/cluster.js'
import {runKubectl} from '../sim/harness.js'
import {loadScenario, type Scenario} from '../sim/scenario.js'

/** Starting a control plane takes 10-30 s on these machines (more while the other worker builds or starts one). */
export const START_TIMEOUT = 240_000
/** For tests that wait on rollouts, restarts and faults: several bounded waits in a row. */
export const LONG_TEST = 180_000

export async function startReal(scenario: string | Scenario, mutate?: (s: Scenario) => void, options: Omit<RealClusterOptions, 'scenario'> = {}): Promise<RealCluster> {
  const loaded = typeof scenario === 'string' ? loadScenario(scenario) : structuredClone(scenario)
  mutate?.(loaded)
  return RealCluster.start({scenario: loaded, log: (line) => process.stderr.write(`${line}\n`), ...options})
}

/** doctor -o json, the fields the tests read. */
export interface DoctorJson {
  checks: Array<{id: string; status: string; message: string; remediation?: string}>
}

/** The runbook cluster's stale IPv6 pool, and what calico-node's environment asks for instead. */
export const RUNBOOK_IPV6_POOL = {cidr: '2001:0:0:1::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()'}
export const RUNBOOK_IPV6_WANTED = {cidr: '2001:0:0:2::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}

/** kubectl get ... -o json as the admin, retried while the API server restarts (bounded). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function kubectlJson(cluster: RealCluster, ...args: string[]): Promise<any> {
  for (let attempt = 0; ; attempt++) {
    const result = await runKubectl(['--kubeconfig', cluster.kubeconfig, ...args, '-o', 'json'])
    if (result.code === 0) return JSON.parse(result.stdout)
    if (attempt >= 40 || !/connection refused|timeout|ServiceUnavailable|the server is currently unable/i.test(result.stderr)) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** Calico's pools by name: their specs. */
export async function poolSpecs(cluster: RealCluster): Promise<Record<string, Record<string, unknown>>> {
  const list = await kubectlJson(cluster, 'get', 'ippools.crd.projectcalico.org')
  return Object.fromEntries((list.items as Array<{metadata: {name: string}; spec: Record<string, unknown>}>).map((p) => [p.metadata.name, p.spec]))
}

/** The scenario's Calico CNI config without IPv6 (the runbook's step 2 not done yet): pods get IPv4 only. */
export function cniWithoutIpv6(s: Scenario): void {
  const cm = s.objects!.find((o) => o.metadata.name === 'calico-config')!
  const data = cm.data as Record<string, string>
  data.cni_network_config = data.cni_network_config!.replace('"assign_ipv6": "true"', '"assign_ipv6": "false"')
}

/** The runbook's step 2 done on the running cluster: the CNI config assigns IPv6 from now on (running pods keep one address). */
export async function enableCniIpv6(cluster: RealCluster): Promise<void> {
  const cm = await kubectlJson(cluster, 'get', 'configmap', 'calico-config', '-n', 'kube-system')
  const cni = (cm.data.cni_network_config as string).replace('"assign_ipv6": "false"', '"assign_ipv6": "true"')
  const patched = await runKubectl(['--kubeconfig', cluster.kubeconfig, 'patch', 'configmap', 'calico-config', '-n', 'kube-system', '--type', 'merge', '-p', JSON.stringify({data: {cni_network_config: cni}})])
  if (patched.code !== 0) throw new Error(patched.stderr)
}
