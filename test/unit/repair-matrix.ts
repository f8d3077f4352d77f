// What the in-process repair tests share: the faults of the every-write matrix, and how a run left the Lease.
import {isUnfinished, type Journal} from '../../src/ops/engine/journal.js'
import {readLease} from '../../src/ops/lock.js'
import type {FakeCluster, Fault} from './fake-cluster.js'

export const LEASE = (namespace = 'kube-system') => `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/kubectl-dualstack`

/** How the run left the Lease: released means gone, or kept unheld with a journal that is not unfinished. */
export function leaseLeft(fake: FakeCluster, namespace = 'kube-system'): string {
  const lease = fake.get(LEASE(namespace))
  if (!lease) return 'released'
  const state = readLease(lease as never)
  if (state.held) return 'held'
  return isUnfinished(state.journal) ? `kept unheld with an unfinished journal (${(state.journal as Journal).state})` : 'released'
}

/** The faults of the every-write matrix for write k of a clean run: refused, answered-then-lost, refused for good. */
export function faultsFor(writes: ReadonlyArray<{method: string; path: string}>, k: number): Array<[string, Fault[]]> {
  const w = writes[k]!
  const same = writes.slice(0, k).filter((x) => x.method === w.method && x.path === w.path).length
  const exact = new RegExp(`^${w.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
  return [
    [`${w.method} ${w.path} refused`, [{method: '*', path: /./, when: 'before', skip: k}]],
    [`${w.method} ${w.path} applied, its answer lost`, [{method: '*', path: /./, when: 'after', skip: k}]],
    [`${w.method} ${w.path} refused for good`, [{method: w.method as Fault['method'], path: exact, when: 'before', skip: same, times: 99}]],
  ]
}
