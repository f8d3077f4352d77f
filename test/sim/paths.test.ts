// The simulated cluster's NodePorts, UDP, MTU and hairpin (issue 21): allocation as kube-apiserver does it, and
// the data plane's answers, each with the fault that breaks it.
import {SimCluster} from './cluster.js'
import {runInPod} from './exec.js'
import {loadScenario, type Scenario} from './scenario.js'
import type {Obj} from './store.js'

function cluster(mutate?: (s: Scenario) => void): SimCluster {
  const scenario = loadScenario('healthy-dual-stack')
  mutate?.(scenario)
  return new SimCluster(scenario)
}

const service = (name: string, spec: Record<string, unknown>): Obj => ({apiVersion: 'v1', kind: 'Service', metadata: {name, namespace: 'default'},
  spec: {selector: {app: 'echo'}, ports: [{name: 'http', port: 80, targetPort: 8080}, {name: 'udp', port: 8081, targetPort: 8081, protocol: 'UDP'}], ...spec}})

/** An agnhost netexec pod (HTTP 8080, UDP 8081) and a client on each of two nodes. */
function workload(sim: SimCluster): {server1: Obj; server2: Obj; client1: Obj; host1: Obj} {
  const pod = (name: string, node: string, extra: {labels?: Record<string, string>; ports?: unknown[]; hostNetwork?: boolean} = {}) => sim.apply({apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace: 'default', labels: extra.labels ?? {}},
    spec: {nodeName: node, ...(extra.hostNetwork ? {hostNetwork: true} : {}), containers: [{name: 'c', image: 'x:1', ...(extra.ports ? {ports: extra.ports} : {})}]}})
  const ports = [{containerPort: 8080}, {containerPort: 8081, protocol: 'UDP'}]
  pod('server-1', 'worker-1', {labels: {app: 'echo'}, ports})
  pod('server-2', 'worker-2', {labels: {app: 'echo'}, ports})
  pod('client-1', 'worker-1')
  pod('host-1', 'worker-1', {hostNetwork: true})
  sim.controllers.reconcile()
  const get = (name: string) => sim.store.mustGet(sim.type('v1', 'Pod'), 'default', name)
  return {server1: get('server-1'), server2: get('server-2'), client1: get('client-1'), host1: get('host-1')}
}

const v6 = (pod: Obj) => (pod.status.podIPs as Array<{ip: string}>).map((p) => p.ip).find((ip) => ip.includes(':'))!

describe('NodePorts', () => {
  it('are allocated in 30000-32767 for each port of a NodePort Service, checked when asked for, and given back on delete', () => {
    const sim = cluster()
    const svcType = sim.type('v1', 'Service')
    const made = sim.apply(service('np', {type: 'NodePort'}))
    expect(made.spec.externalTrafficPolicy).toBe('Cluster')
    const ports = (made.spec.ports as Array<{nodePort: number}>).map((p) => p.nodePort)
    expect(new Set(ports).size).toBe(2)
    expect(ports.every((p) => p >= 30000 && p <= 32767)).toBe(true)
    expect(sim.apply(service('plain', {})).spec.ports[0].nodePort).toBeUndefined()
    expect(() => sim.apply(service('low', {type: 'NodePort', ports: [{port: 80, nodePort: 8080}]})))
      .toThrow('Service "low" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767')
    expect(() => sim.apply(service('taken', {type: 'NodePort', ports: [{port: 80, nodePort: ports[0]}]})))
      .toThrow(`Service "taken" is invalid: spec.ports[0].nodePort: Invalid value: ${ports[0]}: provided port is already allocated`)
    sim.serviceIps.release(sim.store.delete(svcType, 'default', 'np', false))
    expect(sim.apply(service('again', {type: 'NodePort', ports: [{port: 80, nodePort: ports[0]}]})).spec.ports[0].nodePort).toBe(ports[0])
  })
})

describe('the data plane of the paths', () => {
  it('a NodePort answers on every node address; externalTrafficPolicy Local from the node addressed; --nodeport-addresses leaves a family out', () => {
    const sim = cluster((s) => {
      s.nodes.find((n) => n.name === 'worker-2')!.nodePortAddresses = ['10.0.0.0/16']
    })
    const {client1, host1} = workload(sim)
    const made = sim.apply(service('np', {type: 'NodePort', externalTrafficPolicy: 'Local', ipFamilyPolicy: 'PreferDualStack'}))
    sim.controllers.reconcile()
    const port = made.spec.ports[0].nodePort as number
    const hostname = (pod: Obj, url: string) => runInPod(sim, pod, ['curl', '-g', '-s', url])
    expect(hostname(client1, `http://10.0.0.12:${port}/hostname`)).toEqual({stdout: 'server-2', stderr: '', exitCode: 0})
    expect(hostname(host1, `http://[fd00:10::11]:${port}/hostname`).stdout).toBe('server-1')
    expect(hostname(client1, `http://[fd00:10::12]:${port}/hostname`)).toMatchObject({exitCode: 7, stderr: expect.stringContaining('Connection refused')})
    // No local endpoint on cp-1: externalTrafficPolicy Local drops it there.
    expect(hostname(client1, `http://10.0.0.10:${port}/hostname`).exitCode).toBe(28)
    // A Service of one family has no NodePort of the other.
    const single = sim.apply(service('single', {type: 'NodePort'}))
    sim.controllers.reconcile()
    expect(hostname(client1, `http://10.0.0.11:${single.spec.ports[0].nodePort}/hostname`).stdout).toBe('server-1')
    expect(hostname(client1, `http://[fd00:10::11]:${single.spec.ports[0].nodePort}/hostname`).exitCode).toBe(7)
  })

  it('UDP reaches netexec\'s UDP server through the Service (the plugin\'s constant script, data as $0 $1 $2), and is lost where UDP is dropped', () => {
    const sim = cluster((s) => {
      s.nodes.find((n) => n.name === 'worker-2')!.udpDropped = ['ipv6']
    })
    const {client1, server2} = workload(sim)
    const made = sim.apply(service('udp', {ipFamilyPolicy: 'RequireDualStack', selector: {'statefulset.kubernetes.io/pod-name': 'none'}}))
    sim.store.write(sim.type('v1', 'Pod'), {...server2, metadata: {...server2.metadata, labels: {...server2.metadata.labels, 'statefulset.kubernetes.io/pod-name': 'none'}}})
    sim.controllers.reconcile()
    const [v4, v6ip] = made.spec.clusterIPs as string[]
    const script = ['sh', '-c', 'echo hostname | nc -u -w "$2" "$0" "$1"']
    expect(runInPod(sim, client1, [...script, v4!, '8081', '1'])).toEqual({stdout: 'server-2', stderr: '', exitCode: 0})
    expect(runInPod(sim, client1, [...script, v6ip!, '8081', '1'])).toEqual({stdout: '', stderr: '', exitCode: 0})
    expect(runInPod(sim, client1, [...script, v4!, '8082', '1'])).toMatchObject({exitCode: 1, stderr: 'nc: read: Connection refused\n'})
    // To the pod itself, no Service: netexec's other commands.
    expect(runInPod(sim, client1, ['sh', '-c', 'echo echo 42 | nc -u -w 1 "$0" 8081', (server2.status.podIPs as Array<{ip: string}>)[0]!.ip]).stdout).toBe('42')
  })

  it('across a node narrower than 1500 bytes, a 2,000-byte echo is lost and a small request passes; on the node itself both pass', () => {
    const sim = cluster((s) => {
      s.nodes.find((n) => n.name === 'worker-2')!.mtu = {ipv6: 1400}
    })
    const {client1, server1, server2} = workload(sim)
    const echo = (to: Obj, msg: string) => runInPod(sim, client1, ['curl', '-g', '-s', `http://[${v6(to)}]:8080/echo?msg=${msg}`])
    const large = '42'.repeat(1000)
    expect(echo(server2, 'small')).toEqual({stdout: 'small', stderr: '', exitCode: 0})
    expect(echo(server2, large).exitCode).toBe(28)
    expect(echo(server1, large).stdout).toBe(large)
  })

  it('a pod reaches itself through its Service unless its node drops hairpin traffic', () => {
    const sim = cluster((s) => {
      s.nodes.find((n) => n.name === 'worker-2')!.hairpin = false
    })
    const {server1, server2} = workload(sim)
    const made = sim.apply(service('own', {ipFamilyPolicy: 'PreferDualStack', internalTrafficPolicy: 'Local'}))
    sim.controllers.reconcile()
    const ip = made.spec.clusterIPs[0] as string
    expect(runInPod(sim, server1, ['curl', '-s', `http://${ip}/hostname`]).stdout).toBe('server-1')
    expect(runInPod(sim, server2, ['curl', '-s', `http://${ip}/hostname`]).exitCode).toBe(28)
  })
})
