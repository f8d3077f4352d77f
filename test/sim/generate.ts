// Generated clusters for benchmarks: many pods, loaded straight into the store.
import {nthAddress} from '../../src/net/ip.js'
import type {SimCluster} from './cluster.js'
import type {Scenario} from './scenario.js'
import {timestamp, type Obj} from './store.js'

/** Adds `count` Running dual-stack pods across the scenario's nodes, in namespaces of 1,000 pods. */
export function generatePods(sim: SimCluster, count: number): void {
  const podType = sim.type('v1', 'Pod')
  const nsType = sim.type('v1', 'Namespace')
  const nodes = sim.scenario.nodes.map((n) => n.name)
  const [v4, v6] = [sim.scenario.clusterCIDRs[0] ?? '10.244.0.0/16', sim.scenario.clusterCIDRs[1]]
  const created = timestamp()
  const pods: Obj[] = []
  for (let i = 0; i < count; i++) {
    const ns = `load-${String(Math.floor(i / 1000)).padStart(4, '0')}`
    if (i % 1000 === 0 && !sim.store.get(nsType, undefined, ns)) sim.store.create(nsType, {apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns}, status: {phase: 'Active'}})
    const ips = [nthAddress(v4, BigInt(i + 2)), ...(v6 ? [nthAddress(v6, BigInt(i + 2))] : [])]
    pods.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: {name: `load-${i}`, namespace: ns, labels: {app: 'load', shard: String(i % 10)}, creationTimestamp: created},
      spec: {nodeName: nodes[i % nodes.length], containers: [{name: 'app', image: 'registry.example/app:1.0', ports: [{containerPort: 8080}]}]},
      status: {phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ip})), hostIP: '10.0.0.1', startTime: created,
        conditions: [{type: 'Ready', status: 'True'}], containerStatuses: [{name: 'app', ready: true, restartCount: 0, image: 'registry.example/app:1.0', imageID: ''}]},
    })
  }
  sim.store.bulkLoad(podType, pods)
}

/** Grows a scenario to `count` dual-stack nodes (before the cluster starts, so DaemonSets cover them all). */
export function generateNodes(scenario: Scenario, count: number): void {
  scenario.nodes = Array.from({length: count}, (_, i) => ({
    name: `node-${String(i).padStart(5, '0')}`,
    addresses: [nthAddress('10.128.0.0/12', BigInt(i + 10)), nthAddress('fd00:128::/64', BigInt(i + 10))],
  }))
}
