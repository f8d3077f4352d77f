// calico-restart on simulated clusters: node by node, stopping at a node that does not come back, operator
// installs, all at once, and the shared lock.
import {answerAtTerminal, interruptPlugin, runPlugin, startSim, type RunningSim} from '../sim/harness.js'
import {objectOf, type Scenario} from '../sim/scenario.js'

interface RestartJson {
  namespace: string
  mode: string
  nodes: Array<{node: string; pod: string; newPod?: string; status: string; reason?: string}>
  controllers: Array<{pod: string; newPod?: string; status: string}>
  result: string
  message: string
  warnings: string[]
}

async function restart(sim: RunningSim, ...args: string[]): Promise<{code: number; report: RestartJson; stderr: string}> {
  const result = await runPlugin(['calico-restart', '-o', 'json', '--kubeconfig', sim.kubeconfig, ...args])
  return {code: result.code, report: JSON.parse(result.stdout || '{}') as RestartJson, stderr: result.stderr}
}

describe('calico-restart on the runbook cluster', () => {
  let sim: RunningSim
  beforeEach(async () => {
    sim = await startSim('runbook-rke-1.18')
  })
  afterEach(() => sim.stop())

  it('--dry-run lists every node and writes nothing', async () => {
    const {code, report} = await restart(sim, '--dry-run')
    expect(code).toBe(0)
    expect(report).toMatchObject({namespace: 'kube-system', mode: 'rolling', result: 'planned'})
    expect(report.nodes.map((n) => n.node)).toEqual(['node-1', 'node-2', 'node-3'])
    expect(report.controllers).toHaveLength(1)
    expect(sim.server.sim.writes()).toEqual([])
  })

  it('restarts one node at a time, each replacement Ready before the next delete, then calico-kube-controllers', async () => {
    const before = sim.server.sim.requests.length
    const {code, report, stderr} = await restart(sim, '--yes')
    expect(code).toBe(0)
    expect(report.result).toBe('restarted')
    expect(report.nodes.every((n) => n.status === 'restarted' && n.newPod && n.newPod !== n.pod)).toBe(true)
    expect(report.controllers[0]).toMatchObject({status: 'restarted'})
    expect(stderr).toContain('[3/4] restart calico-node on node-3')
    const requests = sim.server.sim.requests.slice(before)
    const podDeletes = requests.filter((r) => r.verb === 'delete' && r.resource === 'pods')
    expect(podDeletes.map((r) => r.name)).toEqual([...report.nodes.map((n) => n.pod), report.controllers[0]!.pod])
    expect(podDeletes.every((r) => r.namespace === 'kube-system')).toBe(true)
    // Between two deletes the plugin looked at the pods (waited for the replacement).
    const at = podDeletes.map((d) => requests.indexOf(d))
    for (let i = 1; i < at.length; i++) expect(requests.slice(at[i - 1]! + 1, at[i]).some((r) => r.verb === 'list' && r.resource === 'pods')).toBe(true)
    // Nothing but pods (and the lock) was written: no spec edited.
    expect(sim.server.sim.writes().filter((w) => !['pods', 'leases'].includes(w.resource ?? ''))).toEqual([])
  })

  it('stops at a node whose new pod never gets Ready, names it and says why (exit 1)', async () => {
    sim.server.sim.scenario.nodes.find((n) => n.name === 'node-2')!.podsFail = {reason: 'BackOff', message: 'calico/node is not ready: BIRD is not ready: BGP not established with 10.10.0.11'}
    const {code, report} = await restart(sim, '--yes', '--timeout', '2s')
    expect(code).toBe(1)
    expect(report.result).toBe('failed')
    expect(report.nodes.map((n) => n.status)).toEqual(['restarted', 'failed', 'skipped'])
    const failed = report.nodes[1]!
    expect(failed.reason).toMatch(/^phase Running; container calico-node: CrashLoopBackOff/)
    expect(failed.reason).toContain('events: BackOff: calico/node is not ready: BIRD is not ready')
    expect(report.message).toMatch(/^calico-node on node-2 did not become Ready within 2s/)
    expect(report.controllers[0]!.status).toBe('skipped')
  })

  it('Ctrl-C while a node is waited for: no further node is started, the Lease is released (not left for the next operator), exit 130', async () => {
    sim.server.sim.scenario.nodes.find((n) => n.name === 'node-2')!.podsFail = {reason: 'BackOff', message: 'not ready'}
    const deletedOnNode2 = () => sim.server.sim.writes().some((w) => w.verb === 'delete' && w.resource === 'pods' && w.name === restartPods[1])
    const restartPods = sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod'), 'kube-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'calico-node')
      .sort((a, b) => String(a.spec?.nodeName).localeCompare(String(b.spec?.nodeName))).map((p) => p.metadata.name)
    const {code, stderr} = await interruptPlugin(['calico-restart', '--yes', '--timeout', '60s', '--kubeconfig', sim.kubeconfig], deletedOnNode2)
    expect(code).toBe(130)
    expect(stderr).toContain('[2/4] restart calico-node on node-2')
    expect(stderr).not.toContain('[3/4]')
    expect(sim.server.sim.store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'), 'kube-system')).toEqual([])
    expect(sim.server.sim.writes().filter((w) => w.verb === 'delete' && w.resource === 'pods').map((w) => w.name)).toEqual(restartPods.slice(0, 2))
    // The next operator is not refused.
    delete sim.server.sim.scenario.nodes.find((n) => n.name === 'node-2')!.podsFail
    const again = await restart(sim, '--yes')
    expect({code: again.code, result: again.report.result}).toEqual({code: 0, result: 'restarted'})
  })

  it('--timeout 0s is bad usage (exit 2): no pod is deleted', async () => {
    const result = await runPlugin(['calico-restart', '--yes', '--timeout', '0s', '--kubeconfig', sim.kubeconfig])
    expect({code: result.code, stderr: result.stderr}).toEqual({code: 2, stderr: 'error: --timeout 0s leaves no time to wait for what the repair changes; give --timeout a duration above 0, e.g. --timeout 5m\n'})
    expect(sim.server.sim.writes()).toEqual([])
  })

  it('at a terminal, proceeds only when calico-node is typed', async () => {
    const args = ['calico-restart', '--kubeconfig', sim.kubeconfig]
    const wrong = await answerAtTerminal(args, 'to continue:', 'yes')
    expect(wrong.code).toBe(2)
    expect(wrong.output).toContain(`This changes calico-node on 3 node(s) in kube-system on context "sim" (server ${sim.server.url}).`)
    expect(wrong.output).toContain('error: aborted: "yes" is not calico-node; nothing was changed')
    expect(sim.server.sim.writes()).toEqual([])
    const right = await answerAtTerminal(args, 'to continue:', 'calico-node')
    expect(right.code).toBe(0)
    expect(right.output).toContain('restarted: 3 calico-node pod(s) restarted node by node, then calico-kube-controllers')
    // The plan before the prompt has no result line of its own (it printed an empty `planned: `).
    expect(right.output).not.toMatch(/^planned: *\r?$/m)
  })

  it('--all-at-once warns and restarts every node together', async () => {
    const {code, report} = await restart(sim, '--all-at-once', '--yes')
    expect(code).toBe(0)
    expect(report.mode).toBe('all-at-once')
    expect(report.warnings[0]).toContain('every node\'s pod network is disrupted at the same time')
    expect(report.nodes.every((n) => n.status === 'restarted')).toBe(true)
  })

  it('is refused while another repair holds the lock', async () => {
    const c = sim.server.sim
    const now = new Date().toISOString().replace('Z', '000Z')
    c.store.create(c.type('coordination.k8s.io/v1', 'Lease'), {apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: {name: 'kubectl-dualstack', namespace: 'kube-system'}, spec: {holderIdentity: 'alice@laptop (pid 1, ippool fix)', leaseDurationSeconds: 60, acquireTime: now, renewTime: now}})
    const {code, report} = await restart(sim, '--yes')
    expect(code).toBe(1)
    expect(report.result).toBe('refused')
    expect(report.message).toContain('is held by alice@laptop (pid 1, ippool fix)')
    expect(c.writes().filter((w) => w.resource === 'pods')).toEqual([])
  })
})

describe('calico-restart and what holds a node back', () => {
  it('a deleted calico-node pod a finalizer keeps Terminating is named, with its finalizers and the command that releases it', async () => {
    const sim = await startSim('runbook-rke-1.18')
    try {
      const c = sim.server.sim
      const type = c.type('v1', 'Pod')
      const held = c.store.list(type, 'kube-system').find((p) => p.metadata.labels?.['k8s-app'] === 'calico-node' && p.spec?.nodeName === 'node-2')!
      c.store.write(type, {...held, metadata: {...held.metadata, finalizers: ['example.com/hold']}})
      const {code, report} = await restart(sim, '--yes', '--timeout', '2s')
      expect(code).toBe(1)
      expect(report.nodes.map((n) => n.status)).toEqual(['restarted', 'failed', 'skipped'])
      const name = held.metadata.name
      expect(report.nodes[1]!.reason).toMatch(new RegExp(`^no new pod was created on node-2: pod kube-system/${name}, deleted at \\S+, is still Terminating \\(its finalizers example\\.com/hold hold it\\), ` +
        'and the DaemonSet makes no new pod there until it is gone; release it: '))
      expect(report.nodes[1]!.reason).toContain(`kubectl -n kube-system patch pod ${name} --type merge -p '{"metadata":{"finalizers":null}}'`)
      expect(report.message).toContain(`calico-node on node-2 did not become Ready within 2s: no new pod was created on node-2: pod kube-system/${name}`)
    } finally {
      await sim.stop()
    }
  })

  it('a node with no calico-node pod is in the plan, not restarted, with why (a taint the DaemonSet does not tolerate)', async () => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      s.nodes[2]!.taints = [{key: 'dedicated', value: 'gpu', effect: 'NoSchedule'}]
    })
    try {
      const why = 'no calico-node pod on it: the DaemonSet does not tolerate the node\'s taint dedicated=gpu:NoSchedule'
      const planned = await restart(sim, '--dry-run')
      expect(planned.report.nodes.map((n) => [n.node, n.status])).toEqual([['node-1', 'pending'], ['node-2', 'pending'], ['node-3', 'not-restarted']])
      expect(planned.report.nodes[2]).toMatchObject({pod: '', reason: why})
      expect(planned.report.message).toBe('dry run: 2 calico-node pod(s) and 1 calico-kube-controllers pod(s) would be restarted; 1 node(s) have no calico-node pod and are not restarted: node-3; nothing was changed')
      const table = await runPlugin(['calico-restart', '--dry-run', '--kubeconfig', sim.kubeconfig])
      expect(table.stdout).toMatch(/\nnode-3 +not-restarted/)
      expect(table.stdout).toContain(`node-3: ${why}`)
      const {code, report} = await restart(sim, '--yes')
      expect(code).toBe(0)
      expect(report.nodes.map((n) => n.status)).toEqual(['restarted', 'restarted', 'not-restarted'])
      expect(report.message).toBe('2 calico-node pod(s) restarted node by node, then calico-kube-controllers; 1 node(s) have no calico-node pod and are not restarted: node-3')
    } finally {
      await sim.stop()
    }
  })

  it('a node the DaemonSet\'s nodeSelector leaves out is said so', async () => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      objectOf(s, 'DaemonSet', 'calico-node').spec.template.spec.nodeSelector = {'kubernetes.io/os': 'linux', 'example.com/calico': 'yes'}
      for (const n of s.nodes.slice(0, 2)) n.labels = {...n.labels, 'example.com/calico': 'yes'}
    })
    try {
      const {report} = await restart(sim, '--dry-run')
      expect(report.nodes[2]).toMatchObject({node: 'node-3', status: 'not-restarted',
        reason: 'no calico-node pod on it: the DaemonSet\'s nodeSelector example.com/calico=yes does not match the node (example.com/calico=(unset))'})
    } finally {
      await sim.stop()
    }
  })

  it('refused by an ippool fix that stopped half-way: the refusal names the commands that finish or undo it', async () => {
    const sim = await startSim('runbook-rke-1.18')
    try {
      const c = sim.server.sim
      const journal = {format: 'kubectl-dualstack/journal', version: 2, command: 'ippool fix', runId: 'x1-abcd', context: 'sim', server: sim.server.url,
        startedAt: '2026-01-01T00:00:00.000Z', resumable: true, params: {}, steps: [], commitAt: 4, done: 2, state: 'running', originals: {}, backups: []}
      c.store.create(c.type('coordination.k8s.io/v1', 'Lease'), {apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: {name: 'kubectl-dualstack', namespace: 'kube-system', annotations: {'dualstack.kubectl.io/journal': JSON.stringify(journal)}}, spec: {}})
      const {code, report} = await restart(sim, '--yes')
      expect(code).toBe(1)
      expect(report.message).toBe('a previous ippool fix (started 2026-01-01T00:00:00.000Z) stopped half-way: 2 of 0 steps done; finish it first: kubectl dualstack ippool fix --resume (or --rollback)')
      const table = await runPlugin(['calico-restart', '--yes', '--kubeconfig', sim.kubeconfig])
      expect(table.stdout).toContain('refused: a previous ippool fix (started 2026-01-01T00:00:00.000Z) stopped half-way: 2 of 0 steps done; finish it first: kubectl dualstack ippool fix --resume (or --rollback)')
      expect(c.writes().filter((w) => w.resource === 'pods')).toEqual([])
    } finally {
      await sim.stop()
    }
  })
})

describe('calico-restart on an operator install', () => {
  it('restarts calico-node in calico-system', async () => {
    const sim = await startSim('healthy-dual-stack', (s: Scenario) => {
      s.calicoOperator = true
      for (const o of s.objects!) if (o.metadata.name === 'calico-node' || o.metadata.name === 'calico-kube-controllers') o.metadata.namespace = 'calico-system'
      s.objects!.push({apiVersion: 'operator.tigera.io/v1', kind: 'Installation', metadata: {name: 'default'}, spec: {calicoNetwork: {ipPools: [{cidr: '10.244.0.0/16'}, {cidr: 'fd00:10:244::/56'}]}}})
    })
    try {
      const {code, report} = await restart(sim, '--yes')
      expect(code).toBe(0)
      expect(report.namespace).toBe('calico-system')
      expect(report.nodes).toHaveLength(3)
      expect(sim.server.sim.writes().filter((w) => w.resource === 'pods').every((w) => w.namespace === 'calico-system')).toBe(true)
    } finally {
      await sim.stop()
    }
  })
})
