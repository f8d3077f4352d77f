// The commands the simulated pods answer, and the reachability model behind them.
import {SimCluster} from './cluster.js'
import {runInPod} from './exec.js'
import {loadScenario} from './scenario.js'
import type {Obj} from './store.js'

function cluster(name: string): SimCluster {
  return new SimCluster(loadScenario(name))
}

function pod(sim: SimCluster, namespace: string, name: string): Obj {
  return sim.store.mustGet(sim.type('v1', 'Pod'), namespace, name)
}

function ipOf(p: Obj, family: 4 | 6): string {
  return (p.status.podIPs as Array<{ip: string}>).map((x) => x.ip).find((ip) => (family === 6) === ip.includes(':'))!
}

describe('pods in the healthy cluster', () => {
  const sim = cluster('healthy-dual-stack')
  const netshoot = pod(sim, 'default', 'netshoot')
  const hello = pod(sim, 'default', 'hello-k8s')
  const svc = sim.store.mustGet(sim.type('v1', 'Service'), 'default', 'svc-hellok8s')

  it('ping6 to a pod answers with an rtt line', () => {
    const result = runInPod(sim, netshoot, ['ping6', '-c', '3', ipOf(hello, 6)])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/3 packets transmitted, 3 received, 0% packet loss/)
    expect(result.stdout).toMatch(/^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/m)
  })

  it("curl -g to the Service's IPv6 ClusterIP returns the app's page; a port with no listener is refused", () => {
    const v6 = (svc.spec.clusterIPs as string[]).find((ip) => ip.includes(':'))!
    const ok = runInPod(sim, netshoot, ['curl', '-g', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://[${v6}]:80/`])
    expect(ok).toEqual({stdout: '200', stderr: '', exitCode: 0})
    expect(runInPod(sim, netshoot, ['curl', '-s', `http://[${v6}]/`]).stdout).toContain('Hello Kubernetes!')
    expect(runInPod(sim, netshoot, ['curl', `http://[${v6}]:80/`]).exitCode).toBe(0)
    expect(runInPod(sim, netshoot, ['curl', '-s', `http://[${v6}]:81/`]).exitCode).toBe(7)
  })

  it('DNS answers A and AAAA for a dual-stack Service', () => {
    const aaaa = runInPod(sim, netshoot, ['dig', '+short', 'AAAA', 'svc-hellok8s.default.svc.cluster.local'])
    expect(aaaa.stdout.trim()).toMatch(/^fd00:10:96::[0-9a-f]+$/)
    const a = runInPod(sim, netshoot, ['dig', '+short', 'A', 'svc-hellok8s'])
    expect(a.stdout.trim()).toMatch(/^10\.96\.\d+\.\d+$/)
    expect(runInPod(sim, netshoot, ['nslookup', 'nothing-here']).exitCode).toBe(1)
  })

  it('reaches outside over IPv6 because the pool has natOutgoing', () => {
    expect(runInPod(sim, netshoot, ['ping', '-6', '-c', '1', '2606:4700:4700::1111']).exitCode).toBe(0)
  })

  it('unknown commands fail like a container runtime does', () => {
    expect(runInPod(sim, netshoot, ['traceroute6', 'x'])).toMatchObject({exitCode: 127, stderr: expect.stringContaining('executable file not found')})
  })
})

describe('pods in the runbook cluster', () => {
  const sim = cluster('runbook-rke-1.18')
  const netshoot = pod(sim, 'default', 'netshoot')
  const hello = pod(sim, 'default', 'hello-k8s')
  const legacy = pod(sim, 'default', 'legacy-web-7d4b9c-x2x9k')

  it('IPv6 to a pod on the node without forwarding times out; IPv4 still works', () => {
    sim.apply({apiVersion: 'v1', kind: 'Pod', metadata: {name: 'on-node-2', namespace: 'default'}, spec: {nodeName: 'node-2', containers: [{name: 'c', image: 'x:1'}]}})
    sim.controllers.reconcile()
    const onNode2 = pod(sim, 'default', 'on-node-2')
    expect(runInPod(sim, netshoot, ['ping', '-c', '1', ipOf(onNode2, 4)]).exitCode).toBe(0)
    const blocked = runInPod(sim, netshoot, ['ping6', '-c', '2', ipOf(onNode2, 6)])
    expect(blocked.exitCode).toBe(1)
    expect(blocked.stdout).toContain('2 packets transmitted, 0 received, 100% packet loss')
    expect(runInPod(sim, netshoot, ['ping6', '-c', '2', ipOf(hello, 6)]).exitCode).toBe(0)
  })

  it('a pod without an IPv6 address cannot ping6 at all', () => {
    const result = runInPod(sim, legacy, ['ping6', '-c', '1', ipOf(hello, 6)])
    expect(result).toMatchObject({exitCode: 2, stderr: 'ping: connect: Network is unreachable\n'})
  })

  it('NAT outgoing off on the IPv6 pool: outside is unreachable over IPv6, reachable over IPv4', () => {
    expect(runInPod(sim, netshoot, ['ping6', '-c', '1', '2606:4700:4700::1111']).exitCode).toBe(1)
    expect(runInPod(sim, netshoot, ['ping', '-c', '1', '1.1.1.1']).exitCode).toBe(0)
  })

  it('sysctl reads the node for hostNetwork pods; sysctl -w changes it until "reboot"', () => {
    const calicoOnNode2 = sim.store.list(sim.type('v1', 'Pod'), 'kube-system').find((p) => p.metadata.labels?.['k8s-app'] === 'calico-node' && p.spec.nodeName === 'node-2')!
    expect(runInPod(sim, calicoOnNode2, ['sysctl', '-n', 'net.ipv6.conf.all.forwarding']).stdout).toBe('0\n')
    expect(runInPod(sim, calicoOnNode2, ['sysctl', '-w', 'net.ipv6.conf.all.forwarding=1']).exitCode).toBe(0)
    expect(runInPod(sim, calicoOnNode2, ['cat', '/proc/sys/net/ipv6/conf/all/forwarding']).stdout).toBe('1\n')
    expect(runInPod(sim, netshoot, ['sysctl', '-w', 'net.ipv6.conf.all.forwarding=1']).exitCode).toBe(1)
  })
})

describe('a node firewall (NodeSpec.firewall)', () => {
  /** A pod on each node of the healthy cluster, the API server's host-network pod on cp-1, and worker-1's firewall rules. */
  function firewalled(rules: NonNullable<ReturnType<typeof loadScenario>['nodes'][number]['firewall']>) {
    const scenario = loadScenario('healthy-dual-stack')
    scenario.nodes.find((n) => n.name === 'worker-1')!.firewall = rules
    const sim = new SimCluster(scenario)
    for (const node of ['cp-1', 'worker-1', 'worker-2']) {
      for (const suffix of ['a', 'b']) sim.apply({apiVersion: 'v1', kind: 'Pod', metadata: {name: `${node}-${suffix}`, namespace: 'default'}, spec: {nodeName: node, containers: [{name: 'c', image: 'x:1'}]}})
    }
    sim.controllers.reconcile()
    const ping = (from: string, to: Obj, family: 4 | 6) => runInPod(sim, pod(sim, 'default', from), ['ping', `-${family}`, '-c', '1', ipOf(to, family)]).exitCode
    return {sim, ping, on: (name: string) => pod(sim, 'default', name)}
  }

  it('in: drops what arrives from other nodes, pods and hosts alike, in that family only; on the node and outgoing pass', () => {
    const {sim, ping, on} = firewalled([{family: 'ipv6', direction: 'in'}])
    expect(ping('cp-1-a', on('worker-1-a'), 6)).toBe(1)
    expect(ping('worker-2-a', on('worker-1-a'), 6)).toBe(1)
    expect(ping('cp-1-a', on('worker-1-a'), 4)).toBe(0)
    expect(ping('worker-1-b', on('worker-1-a'), 6)).toBe(0)
    expect(ping('worker-1-a', on('worker-2-a'), 6)).toBe(0)
    const apiserver = pod(sim, 'kube-system', 'kube-apiserver-cp-1')
    expect(runInPod(sim, apiserver, ['ping', '-6', '-c', '1', ipOf(on('worker-1-a'), 6)]).exitCode).toBe(1)
    expect(runInPod(sim, on('cp-1-a'), ['ping', '-6', '-c', '1', 'fd00:10::11']).exitCode).toBe(1) // worker-1's own address
  })

  it('out with peers: drops only what it sends to those nodes', () => {
    const {ping, on} = firewalled([{family: 'ipv4', direction: 'out', peers: ['worker-2']}])
    expect(ping('worker-1-a', on('worker-2-a'), 4)).toBe(1)
    expect(ping('worker-1-a', on('cp-1-a'), 4)).toBe(0)
    expect(ping('worker-2-a', on('worker-1-a'), 4)).toBe(0)
    expect(ping('worker-1-a', on('worker-2-a'), 6)).toBe(0)
  })
})
