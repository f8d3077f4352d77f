// The simulated cluster is only worth what it proves: the real kubectl must see it as a kube-apiserver.
import {mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {PLUGIN, runKubectl, startSim, type RunResult, type RunningSim} from '../sim/harness.js'

function ok(result: RunResult): string {
  if (result.code !== 0) throw new Error(`kubectl failed (${result.code}): ${result.stderr}`)
  return result.stdout
}

const REQUIRE_DUAL = `apiVersion: v1
kind: Service
metadata: {name: probe-dual, namespace: default}
spec:
  ipFamilyPolicy: RequireDualStack
  selector: {app: hello-k8s}
  ports: [{port: 80, targetPort: 8080}]
`

describe('kubectl against the healthy dual-stack cluster', () => {
  let sim: RunningSim
  let k: (...args: string[]) => Promise<RunResult>
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
    k = (...args) => runKubectl(['--kubeconfig', sim.kubeconfig, ...args])
  })
  afterAll(() => sim.stop())

  it('kubectl is on PATH (CI has it: a missing kubectl fails here, it is not skipped)', async () => {
    const result = await runKubectl(['version', '--client', '-o', 'json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).clientVersion.major).toBe('1')
  })

  it('discovery and version work: kubectl version and api-resources', async () => {
    const version = JSON.parse(ok(await k('version', '-o', 'json')))
    expect(version.serverVersion.gitVersion).toBe('v1.31.4')
    const resources = ok(await k('api-resources', '--no-headers', '-o', 'name'))
    expect(resources.split('\n')).toEqual(expect.arrayContaining(['pods', 'nodes', 'services', 'daemonsets.apps', 'endpointslices.discovery.k8s.io', 'leases.coordination.k8s.io', 'ippools.crd.projectcalico.org', 'ipamblocks.crd.projectcalico.org', 'blockaffinities.crd.projectcalico.org']))
  })

  it("the runbook's go-template prints one IPv4 and one IPv6 line", async () => {
    const out = ok(await k('get', 'pods', 'hello-k8s', '-n', 'default', '-o', 'go-template={{range .status.podIPs}}{{printf "%s\\n" .ip}}{{end}}'))
    const [v4, v6, rest] = out.split('\n')
    expect(v4).toMatch(/^10\.244\.\d+\.\d+$/)
    expect(v6).toMatch(/^fd00:10:244::[0-9a-f]+$/)
    expect(rest).toBe('')
  })

  it('kubectl get ippools lists the pools calico-node created from its env', async () => {
    const out = ok(await k('get', 'ippools'))
    expect(out).toMatch(/^NAME\s+AGE\n/)
    expect(out).toContain('default-ipv4-ippool')
    expect(out).toContain('default-ipv6-ippool')
    const pool = JSON.parse(ok(await k('get', 'ippools.crd.projectcalico.org', 'default-ipv6-ippool', '-o', 'json')))
    expect(pool.spec).toEqual({cidr: 'fd00:10:244::/56', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'})
  })

  it('create --dry-run=server of a RequireDualStack Service shows both ClusterIPs and stores nothing', async () => {
    const file = path.join(sim.dir, 'svc.yaml')
    writeFileSync(file, REQUIRE_DUAL)
    const created = JSON.parse(ok(await k('create', '--dry-run=server', '-f', file, '-o', 'json')))
    expect(created.spec.ipFamilies).toEqual(['IPv4', 'IPv6'])
    expect(created.spec.clusterIPs[0]).toMatch(/^10\.96\./)
    expect(created.spec.clusterIPs[1]).toMatch(/^fd00:10:96::/)
    const after = await k('get', 'svc', 'probe-dual', '-n', 'default')
    expect(after.code).toBe(1)
    expect(after.stderr).toContain('services "probe-dual" not found')
  })

  it('get svc prints ClusterIPs like kube-apiserver', async () => {
    const out = ok(await k('get', 'svc', '-n', 'default'))
    expect(out).toMatch(/svc-hellok8s\s+ClusterIP\s+fd00:10:96::[0-9a-f]+\s+<none>\s+80\/TCP/)
  })

  it('exec reads IPv6 forwarding on a node through its calico-node pod, and exit codes come back', async () => {
    const pod = ok(await k('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node', '--field-selector', 'spec.nodeName=worker-1', '-o', 'name')).trim()
    expect(ok(await k('exec', '-n', 'kube-system', pod, '--', 'cat', '/proc/sys/net/ipv6/conf/all/forwarding'))).toBe('1\n')
    const failed = await k('exec', '-n', 'default', 'netshoot', '--', 'ping6', '-c', '1', 'fd00:dead::1')
    expect(failed.code).toBe(1)
    expect(failed.stdout).toContain('100% packet loss')
  })

  it('delete pod: the DaemonSet replaces it', async () => {
    const before = ok(await k('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node', '-o', 'name')).trim().split('\n')
    expect(before).toHaveLength(3)
    ok(await k('delete', 'pod', '-n', 'kube-system', before[0]!.replace('pod/', '')))
    const after = ok(await k('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node', '-o', 'name')).trim().split('\n')
    expect(after).toHaveLength(3)
    expect(after).not.toContain(before[0])
  })

  it('rollout restart + rollout status roll the calico-node DaemonSet', async () => {
    const before = ok(await k('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node', '-o', 'name')).trim().split('\n')
    expect(ok(await k('rollout', 'restart', 'daemonset/calico-node', '-n', 'kube-system'))).toContain('daemonset.apps/calico-node restarted')
    expect(ok(await k('rollout', 'status', 'daemonset/calico-node', '-n', 'kube-system', '--timeout=30s'))).toContain('daemon set "calico-node" successfully rolled out')
    const after = ok(await k('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node', '-o', 'name')).trim().split('\n')
    expect(after).toHaveLength(3)
    expect(after.filter((p) => before.includes(p))).toEqual([])
  })

  it('rollout restart + rollout status work for Deployments too', async () => {
    ok(await k('rollout', 'restart', 'deployment/calico-kube-controllers', '-n', 'kube-system'))
    expect(ok(await k('rollout', 'status', 'deployment/calico-kube-controllers', '-n', 'kube-system', '--timeout=30s'))).toContain('successfully rolled out')
  })

  it('apply, rollout restart and rollout status work for StatefulSets, with stable pod names', async () => {
    const file = path.join(sim.dir, 'sts.yaml')
    writeFileSync(file, [
      'apiVersion: apps/v1', 'kind: StatefulSet', 'metadata: {name: db, namespace: default}',
      'spec:', '  replicas: 2', '  serviceName: db', '  selector: {matchLabels: {app: db}}',
      '  template:', '    metadata: {labels: {app: db}}', '    spec: {containers: [{name: db, image: "postgres:17"}]}', '',
    ].join('\n'))
    expect(ok(await k('apply', '-f', file))).toContain('statefulset.apps/db created')
    expect(ok(await k('rollout', 'status', 'statefulset/db', '-n', 'default', '--timeout=30s'))).toContain('partitioned roll out complete')
    ok(await k('rollout', 'restart', 'statefulset/db', '-n', 'default'))
    expect(ok(await k('rollout', 'status', 'statefulset/db', '-n', 'default', '--timeout=30s'))).toContain('partitioned roll out complete')
    expect(ok(await k('get', 'pods', '-n', 'default', '-l', 'app=db', '-o', 'name')).trim().split('\n')).toEqual(['pod/db-0', 'pod/db-1'])
  })

  it('kubectl finds the plugin on PATH: plugin list, --help, and a real command', async () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'dualstack-path-'))
    symlinkSync(PLUGIN, path.join(bin, 'kubectl-dualstack'))
    const env = {PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`}
    const list = await runKubectl(['plugin', 'list'], env)
    expect(list.stdout).toContain(path.join(bin, 'kubectl-dualstack'))
    const help = await runKubectl(['dualstack', '--help'], env)
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('pod-ips')
    const pods = await runKubectl(['dualstack', 'pod-ips', '-n', 'default', '--kubeconfig', sim.kubeconfig], env)
    expect(pods.code).toBe(0)
    expect(pods.stdout).toMatch(/hello-k8s\s+\S+\s+10\.244\.\S+\s+fd00:10:244::\S+\s+dual/)
  })

  it('Pod Security admission: a restricted namespace refuses a root pod with the apiserver\'s message', async () => {
    ok(await k('create', 'namespace', 'locked'))
    ok(await k('label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=restricted'))
    const refused = await k('run', 'probe', '-n', 'locked', '--image=busybox:1.37', '--restart=Never', '--', 'sleep', '60')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^Error from server \(Forbidden\): pods "probe" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "probe" must set securityContext.allowPrivilegeEscalation=false\), unrestricted capabilities/)
    ok(await k('label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=baseline', '--overwrite'))
    expect(ok(await k('run', 'probe', '-n', 'locked', '--image=busybox:1.37', '--restart=Never', '--', 'sleep', '60'))).toContain('pod/probe created')
    ok(await k('delete', 'namespace', 'locked'))
  })

  it('a DaemonSet keeps off a tainted node unless it tolerates the taint, and deleting the namespace takes its pods', async () => {
    const file = path.join(sim.dir, 'ds.yaml')
    const daemonSet = (name: string, tolerations: string) => [
      'apiVersion: apps/v1', 'kind: DaemonSet', `metadata: {name: ${name}, namespace: ds-test}`,
      'spec:', `  selector: {matchLabels: {app: ${name}}}`,
      `  template:`, `    metadata: {labels: {app: ${name}}}`, `    spec: {${tolerations}containers: [{name: c, image: "busybox:1.37"}]}`,
    ].join('\n')
    writeFileSync(file, `${daemonSet('plain', '')}\n---\n${daemonSet('tolerant', 'tolerations: [{operator: Exists}], ')}\n`)
    ok(await k('create', 'namespace', 'ds-test'))
    ok(await k('taint', 'nodes', 'worker-1', 'dedicated=gpu:NoSchedule'))
    try {
      ok(await k('apply', '-f', file))
      expect(ok(await k('rollout', 'status', 'daemonset/plain', '-n', 'ds-test', '--timeout=30s'))).toContain('successfully rolled out')
      const nodesOf = async (app: string) => ok(await k('get', 'pods', '-n', 'ds-test', '-l', `app=${app}`, '-o', 'jsonpath={.items[*].spec.nodeName}')).split(' ').sort()
      expect(await nodesOf('plain')).toEqual(['cp-1', 'worker-2'])
      expect(await nodesOf('tolerant')).toEqual(['cp-1', 'worker-1', 'worker-2'])
      expect(ok(await k('get', 'daemonset', 'plain', '-n', 'ds-test', '-o', 'jsonpath={.status.desiredNumberScheduled}'))).toBe('2')
    } finally {
      ok(await k('taint', 'nodes', 'worker-1', 'dedicated-'))
    }
    expect(ok(await k('delete', 'namespace', 'ds-test'))).toContain('namespace "ds-test" deleted')
    const left = await k('get', 'pods', '-n', 'ds-test', '-o', 'name')
    expect(left.stdout.trim()).toBe('')
  })
})

describe('kubectl against the IPv4-only cluster', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('ipv4-only')
  })
  afterAll(() => sim.stop())

  it("a RequireDualStack Service is refused with kube-apiserver's 422", async () => {
    const file = path.join(sim.dir, 'svc.yaml')
    writeFileSync(file, REQUIRE_DUAL)
    const result = await runKubectl(['--kubeconfig', sim.kubeconfig, 'create', '--dry-run=server', '-f', file])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('The Service "probe-dual" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services')
  })

  it('kubectl get ippools shows only the IPv4 pool', async () => {
    const out = (await runKubectl(['--kubeconfig', sim.kubeconfig, 'get', 'ippools', '-o', 'name'])).stdout
    expect(out.trim().split('\n')).toEqual(['ippool.crd.projectcalico.org/default-ipv4-ippool'])
  })
})

describe('kubectl against the runbook RKE 1.18 cluster', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18')
  })
  afterAll(() => sim.stop())

  it("the 1.18 Service with ipFamily: IPv6 got an IPv6 ClusterIP in the service range", async () => {
    const svc = JSON.parse((await runKubectl(['--kubeconfig', sim.kubeconfig, 'get', 'svc', 'svc-hellok8s', '-o', 'json'])).stdout)
    expect(svc.spec.ipFamily).toBe('IPv6')
    expect(svc.spec.clusterIP).toMatch(/^2001:0:0:3::[0-9a-f]+$/)
    expect(svc.spec.clusterIPs).toBeUndefined()
  })

  it('the node without forwarding reads 0 through exec', async () => {
    const pod = (await runKubectl(['--kubeconfig', sim.kubeconfig, 'get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node', '--field-selector', 'spec.nodeName=node-2', '-o', 'name'])).stdout.trim()
    const out = await runKubectl(['--kubeconfig', sim.kubeconfig, 'exec', '-n', 'kube-system', pod, '--', 'sysctl', 'net.ipv6.conf.all.forwarding'])
    expect(out.stdout).toBe('net.ipv6.conf.all.forwarding = 0\n')
  })

  it('calico-node never edits an existing pool: the stale IPv6 CIDR stays', async () => {
    const pool = JSON.parse((await runKubectl(['--kubeconfig', sim.kubeconfig, 'get', 'ippools', 'default-ipv6-ippool', '-o', 'json'])).stdout)
    expect(pool.spec.cidr).toBe('2001:0:0:1::/104')
    expect(pool.spec.natOutgoing).toBe(false)
  })
})

describe('kubectl against the cluster without Calico', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('no-calico')
  })
  afterAll(() => sim.stop())

  it('has no Calico resources: get ippools says the server does not have the resource type', async () => {
    const result = await runKubectl(['--kubeconfig', sim.kubeconfig, 'get', 'ippools'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`the server doesn't have a resource type "ippools"`)
  })

  it("pods get addresses from their node's podCIDRs", async () => {
    const out = (await runKubectl(['--kubeconfig', sim.kubeconfig, 'get', 'pod', 'web', '-o', 'jsonpath={.status.podIPs[*].ip}'])).stdout
    expect(out).toBe('10.42.1.1 fd00:42:0:1::1')
  })
})
