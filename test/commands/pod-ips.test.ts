import {generatePods} from '../sim/generate.js'
import {runKubectl, runPlugin, startSim, type RunningSim} from '../sim/harness.js'

const RUNBOOK_TEMPLATE = '{{range .status.podIPs}}{{printf "%s\\n" .ip}}{{end}}'
const LIST_TEMPLATE = `{{range .items}}${RUNBOOK_TEMPLATE}{{end}}`

describe('pod-ips on the runbook cluster', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18')
  })
  afterAll(() => sim.stop())

  it('-o plain prints the same bytes as the runbook go-template for one pod', async () => {
    const kubectl = await runKubectl(['--kubeconfig', sim.kubeconfig, 'get', 'pods', 'hello-k8s', '-n', 'default', '-o', `go-template=${RUNBOOK_TEMPLATE}`])
    const plugin = await runPlugin(['pod-ips', 'hello-k8s', '-n', 'default', '-o', 'plain', '--kubeconfig', sim.kubeconfig])
    expect(kubectl.code).toBe(0)
    expect(plugin).toEqual({code: 0, stdout: kubectl.stdout, stderr: ''})
    expect(plugin.stdout).toBe('3.2.184.119\n2001::1:0:0:17:c2fb\n')
  })

  it('-A -o plain prints the same bytes as kubectl over every pod, in the same order', async () => {
    const kubectl = await runKubectl(['--kubeconfig', sim.kubeconfig, 'get', 'pods', '-A', '-o', `go-template=${LIST_TEMPLATE}`])
    const plugin = await runPlugin(['pod-ips', '-A', '-o', 'plain', '--kubeconfig', sim.kubeconfig])
    expect(kubectl.code).toBe(0)
    expect(plugin.stdout).toBe(kubectl.stdout)
    expect(plugin.stdout.split('\n').length).toBeGreaterThan(10)
  })

  it('the table shows families, the stack, hostNetwork pods and a summary', async () => {
    const result = await runPlugin(['pod-ips', '-A', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+NODE\s+IPV4\s+IPV6\s+STACK$/)
    expect(result.stdout).toMatch(/default\s+hello-k8s\s+node-3\s+3\.2\.184\.119\s+2001::1:0:0:17:c2fb\s+dual\n/)
    expect(result.stdout).toMatch(/default\s+legacy-web-7d4b9c-x2x9k\s+node-2\s+3\.2\.64\.9\s+<none>\s+ipv4\n/)
    expect(result.stdout).toMatch(/kube-system\s+calico-node-\w+\s+node-1\s+10\.10\.0\.11\s+fd10::11\s+dual \(hostNetwork\)\n/)
    expect(lines.at(-1)).toMatch(/^\d+ pods: \d+ dual-stack, 3 single-stack \(3 IPv4 only, 0 IPv6 only\), 1 without an IP$/)
  })

  it('-o wide adds phase and age', async () => {
    const result = await runPlugin(['pod-ips', '-n', 'kube-system', '-o', 'wide', '--kubeconfig', sim.kubeconfig])
    expect(result.stdout.split('\n')[0]).toMatch(/^NAME\s+NODE\s+IPV4\s+IPV6\s+STACK\s+PHASE\s+AGE$/)
    expect(result.stdout).toMatch(/coredns-ffd79f768-v9blv\s+node-1\s+3\.2\.0\.5\s+<none>\s+ipv4\s+Running\s+\d+[dy]/)
  })

  it('-o json and --json give the documented model', async () => {
    const json = await runPlugin(['pod-ips', '-n', 'default', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    const flag = await runPlugin(['pod-ips', '-n', 'default', '--json', '--kubeconfig', sim.kubeconfig])
    expect(json.code).toBe(0)
    const model = JSON.parse(json.stdout)
    expect(JSON.parse(flag.stdout)).toEqual(model)
    expect(Object.keys(model)).toEqual(['items', 'summary'])
    expect(model.items.find((i: {name: string}) => i.name === 'hello-k8s')).toEqual({
      namespace: 'default', name: 'hello-k8s', node: 'node-3', phase: 'Running', hostNetwork: false,
      ipv4: ['3.2.184.119'], ipv6: ['2001::1:0:0:17:c2fb'], stack: 'dual',
    })
    expect(model.summary).toEqual({total: 3, dual: 2, ipv4: 1, ipv6: 0, none: 0})
  })

  it('-o yaml is the same model', async () => {
    const result = await runPlugin(['pod-ips', '-n', 'default', '-o', 'yaml', '--kubeconfig', sim.kubeconfig])
    expect(result.stdout).toContain('summary:\n  total: 3\n  dual: 2\n  ipv4: 1\n  ipv6: 0\n  none: 0')
    expect(result.stdout).toContain('- namespace: default\n    name: hello-k8s')
  })

  it('-l and --field-selector are applied by the API server', async () => {
    const byLabel = await runPlugin(['pod-ips', '-A', '-l', 'k8s-app in (kube-dns, metrics-server)', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect(JSON.parse(byLabel.stdout).items.map((i: {name: string}) => i.name)).toEqual(['coredns-ffd79f768-v9blv', 'metrics-server-6987c87c8b-rxpjx'])
    const byField = await runPlugin(['pod-ips', '-A', '--field-selector', 'spec.nodeName=node-2,status.phase=Running', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    const names = JSON.parse(byField.stdout).items.map((i: {name: string}) => i.name)
    expect(names).toContain('legacy-web-7d4b9c-x2x9k')
    expect(names.every((n: string) => !n.startsWith('hello'))).toBe(true)
  })

  it('a bad selector is bad input: exit 2 with the API server message', async () => {
    const result = await runPlugin(['pod-ips', '-A', '--field-selector', 'spec.color=blue', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: .*field label not supported: spec\.color/)
  })

  it('--require-dual exits 1 and names the single-stack running pods', async () => {
    const result = await runPlugin(['pod-ips', '-A', '--require-dual', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('3 running pod(s) are not dual-stack')
    expect(result.stderr).toContain('default/legacy-web-7d4b9c-x2x9k (ipv4)')
    expect(result.stderr).not.toContain('rke-metrics-addon')
    expect(result.stdout).toContain('hello-k8s')
  })

  it('a named pod that does not exist is exit 2, and NAME with -A is refused', async () => {
    const missing = await runPlugin(['pod-ips', 'nope', '--kubeconfig', sim.kubeconfig])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('pods "nope" not found')
    const both = await runPlugin(['pod-ips', 'hello-k8s', '-A', '--kubeconfig', sim.kubeconfig])
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('cannot be retrieved by name across all namespaces')
  })

  it("the namespace defaults to the context's namespace", async () => {
    const kc = sim.writeKubeconfig('kc-kube-system', {namespace: 'kube-system'})
    const result = await runPlugin(['pod-ips', '-o', 'json', '--kubeconfig', kc])
    const namespaces = new Set(JSON.parse(result.stdout).items.map((i: {namespace: string}) => i.namespace))
    expect([...namespaces]).toEqual(['kube-system'])
  })
})

describe('pod-ips on a healthy cluster', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
  })
  afterAll(() => sim.stop())

  it('--require-dual passes when every running pod has both families', async () => {
    const result = await runPlugin(['pod-ips', '-A', '--require-dual', '--kubeconfig', sim.kubeconfig])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/\d+ pods: (\d+) dual-stack, 0 single-stack/)
  })
})

describe('pod-ips pages through big lists', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
    generatePods(sim.server.sim, 1234)
  })
  afterAll(() => sim.stop())

  it('lists with limit=500 and continue, and sees every pod', async () => {
    const before = sim.server.sim.requests.length
    const result = await runPlugin(['pod-ips', '-A', '-l', 'app=load', '-o', 'plain', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(0)
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1234 * 2)
    const lists = sim.server.sim.requests.slice(before).filter((r) => r.verb === 'list' && r.resource === 'pods')
    expect(lists).toHaveLength(3)
    expect(lists.every((r) => r.path.includes('limit=500'))).toBe(true)
    expect(lists.slice(1).every((r) => r.path.includes('continue='))).toBe(true)
  })
})
