// Scenario mutations and store reads that the repair commands' tests share.
import type {RunningSim} from '../sim/harness.js'
import type {Scenario} from '../sim/scenario.js'
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
