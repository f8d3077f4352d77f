// Scenario mutations, store reads and report readers that the repair commands' tests share (both tiers).
import {runPlugin, type RunningSim} from '../sim/harness.js'
import {objectOf, type Scenario} from '../sim/scenario.js'
import type {Obj} from '../sim/store.js'

export function poolOf(sim: RunningSim, name: string): Obj | undefined {
  return sim.server.sim.store.get(sim.server.sim.type('crd.projectcalico.org/v1', 'IPPool'), undefined, name)
}

/** The runbook cluster with no pod holding an address of the stale IPv6 pool: the pods that did are gone. */
export function runbookUnused(s: Scenario): void {
  s.objects = s.objects!.filter((o) => !['calico-kube-controllers', 'netshoot'].includes(o.metadata.name))
  const hello = s.objects.find((o) => o.metadata.name === 'hello-k8s')!
  hello.status.podIPs = [{ip: '3.2.184.119'}]
}

/** The runbook cluster whose only holder of the stale pool is calico-kube-controllers (a Deployment). */
export function withoutBarePods(s: Scenario): void {
  s.objects = s.objects!.filter((o) => o.metadata.name !== 'netshoot')
  const hello = s.objects.find((o) => o.metadata.name === 'hello-k8s')!
  hello.status.podIPs = [{ip: '3.2.184.119'}]
}

/** shop/web: a Service made before the cluster went dual-stack (SingleStack, IPv4), and its pod web-0 (dual-stack, hello-k8s's container). */
export function shopWebSingleStack(s: Scenario): void {
  const pod = structuredClone(objectOf(s, 'Pod', 'hello-k8s'))
  pod.metadata = {name: 'web-0', namespace: 'shop', labels: {app: 'web'}}
  delete pod.status
  s.objects!.push(pod, {apiVersion: 'v1', kind: 'Service', metadata: {name: 'web', namespace: 'shop'}, spec: {selector: {app: 'web'}, ports: [{port: 80, targetPort: 8080}]}})
}

/** A run of the plugin with `-o json` among `args`: its exit code and report; output that is not JSON fails with what it printed. */
export async function pluginJson<T>(args: string[]): Promise<{code: number; report: T; stderr: string}> {
  const result = await runPlugin(args)
  try {
    return {code: result.code, report: JSON.parse(result.stdout) as T, stderr: result.stderr}
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`)
  }
}

/** services dual -o json, the fields the tests read. */
export interface ServicesDualJson {
  services: Array<{namespace: string; name: string; status: string; message?: string}>
  result: string
  message: string
  notes: string[]
}

/** doctor --only services.dual-stack --strict (a warning, which a SingleStack Service is, fails it): exit code, status, message, the Services named. */
export async function servicesDoctor(kubeconfig: string): Promise<{code: number; status: string; message: string; services?: string[]}> {
  const {code, report} = await pluginJson<{checks: Array<{id: string; status: string; message: string; details?: {services?: string[]}}>}>(
    ['doctor', '--only', 'services.dual-stack', '--strict', '-o', 'json', '--kubeconfig', kubeconfig])
  if (report.checks.length !== 1 || report.checks[0]!.id !== 'services.dual-stack') throw new Error(`doctor ran ${report.checks.map((c) => c.id).join(', ')}, not services.dual-stack alone`)
  const check = report.checks[0]!
  return {code, status: check.status, message: check.message, ...(check.details?.services ? {services: check.details.services} : {})}
}

/** svc-check's tests of a dual-stack Service, every one passing. */
export const SVC_CHECK_ALL_PASS = [
  'ipv4 service-ip pass', 'ipv4 endpoints pass', 'ipv4 ping pass', 'ipv4 http pass',
  'ipv6 service-ip pass', 'ipv6 endpoints pass', 'ipv6 ping pass', 'ipv6 http pass',
]
