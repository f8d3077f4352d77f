// ippool fix under the things that go wrong around it: a second operator, Ctrl-C, a killed process, and a
// person at a terminal who types the wrong name. Real binary, real signals, a pseudo-terminal for the prompt.
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import path from 'node:path'

import {PLUGIN, answerAtTerminal, runPlugin, startSim, testEnv, type RunningSim} from '../sim/harness.js'
import {poolOf, runbookUnused} from './ops-helpers.js'

const ORIGINAL_CIDR = '2001:0:0:1::/104'
const DESIRED_CIDR = '2001:0:0:2::/104'

/** Inside the sim's directory, which stop() removes. */
function backupDir(sim: RunningSim): string {
  return mkdtempSync(path.join(sim.dir, 'backup-'))
}

/** Starts `ippool fix` in the background; `until` waits for a condition on the cluster, then `signal` sends one. */
function startFix(sim: RunningSim, args: string[]) {
  const child = spawn(PLUGIN, ['ippool', 'fix', '--kubeconfig', sim.kubeconfig, '--backup-dir', backupDir(sim), ...args], {env: testEnv()})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))))
  return {
    child,
    output: () => ({stdout, stderr}),
    exited,
    async until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`condition not met; stderr so far: ${stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
  }
}

const poolDeleted = (sim: RunningSim) => () => sim.server.sim.requests.some((r) => r.verb === 'delete' && r.resource === 'ippools' && r.code === 200)
/** The run's journal (in the Lease) records that it got past the delete. */
const journalPastDelete = (sim: RunningSim) => () => {
  const lease = sim.server.sim.store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'))[0]
  const journal = JSON.parse(lease?.metadata.annotations?.['dualstack.kubectl.io/journal'] ?? 'null') as {done?: number} | null
  return (journal?.done ?? 0) >= 2
}
const leases = (sim: RunningSim) => sim.server.sim.store.list(sim.server.sim.type('coordination.k8s.io/v1', 'Lease'))

describe('ippool fix: two runs at once', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      runbookUnused(s)
      // The first run's create takes long enough for a second run to come while it holds the lock.
      s.faults = [{verb: 'create', resource: 'ippools', latencyMs: 6000, times: 1}]
    })
  })
  afterAll(() => sim.stop())

  it('the second is refused, naming the holder and when its Lease expires; the first finishes', async () => {
    const first = startFix(sim, ['--yes'])
    await first.until(poolDeleted(sim))
    const second = await runPlugin(['ippool', 'fix', '--yes', '-o', 'json', '--kubeconfig', sim.kubeconfig])
    expect(second.code).toBe(1)
    const report = JSON.parse(second.stdout) as {result: string; message: string}
    expect(report.result).toBe('refused')
    expect(report.message).toMatch(/^another repair is running: Lease kube-system\/kubectl-dualstack is held by .+@.+ \(pid \d+, ippool fix\) until \d{4}-\d\d-\d\dT/)
    expect(await first.exited).toBe(0)
    expect(poolOf(sim, 'default-ipv6-ippool')?.spec.cidr).toBe(DESIRED_CIDR)
    expect(leases(sim)).toEqual([])
  })
})

describe('ippool fix: Ctrl-C between the delete and the create', () => {
  it('stops at the next safe point and puts the original pool back: exit 130, no lock left', async () => {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      runbookUnused(s)
      s.faults = [{verb: 'create', resource: 'ippools', latencyMs: 1500, times: 1}]
    })
    try {
      const run = startFix(sim, ['--yes'])
      await run.until(poolDeleted(sim))
      run.child.kill('SIGINT')
      expect(await run.exited).toBe(130)
      const {stdout, stderr} = run.output()
      expect(stderr).toContain('interrupted')
      expect(stderr).toContain('interrupted (Ctrl-C): rolling back')
      expect(stdout).toContain('rolled-back: interrupted (Ctrl-C); everything done was undone: IPPool default-ipv6-ippool is as it was')
      expect(poolOf(sim, 'default-ipv6-ippool')?.spec.cidr).toBe(ORIGINAL_CIDR)
      expect(leases(sim)).toEqual([])
    } finally {
      await sim.stop()
    }
  })
})

describe('ippool fix: a run killed half-way', () => {
  async function killedHalfWay(): Promise<RunningSim> {
    const sim = await startSim('runbook-rke-1.18', (s) => {
      runbookUnused(s)
      s.faults = [{verb: 'create', resource: 'ippools', latencyMs: 1000, times: 1}]
    })
    const run = startFix(sim, ['--yes'])
    await run.until(journalPastDelete(sim))
    run.child.kill('SIGKILL')
    await run.exited
    // The create it had sent still lands (the server finishes what it received).
    await new Promise((resolve) => setTimeout(resolve, 1200))
    return sim
  }

  it('a later run says so and takes --resume, which finishes it', async () => {
    const sim = await killedHalfWay()
    try {
      expect(leases(sim)).toHaveLength(1)
      const plain = await runPlugin(['ippool', 'fix', '--yes', '-o', 'json', '--kubeconfig', sim.kubeconfig])
      expect(plain.code).toBe(1)
      const refused = JSON.parse(plain.stdout) as {result: string; message: string; hint: string}
      expect(refused.result).toBe('refused')
      expect(refused.message).toMatch(/^a previous ippool fix \(recreate of default-ipv6-ippool, started .*\) stopped half-way: 2 of 4 steps done, next: create IPPool default-ipv6-ippool/)
      expect(refused.hint).toBe('finish it with --resume, or put the original back with --rollback')

      // Finishing writes: without a terminal it needs --yes like any run, and leaves the journal alone.
      const unconfirmed = await runPlugin(['ippool', 'fix', '--resume', '--kubeconfig', sim.kubeconfig])
      expect(unconfirmed.code).toBe(2)
      expect(unconfirmed.stderr).toContain('error: refusing to change IPPool default-ipv6-ippool without confirmation')
      expect(leases(sim)).toHaveLength(1)

      const resumed = await runPlugin(['ippool', 'fix', '--resume', '--yes', '-o', 'json', '--kubeconfig', sim.kubeconfig])
      expect(resumed.code).toBe(0)
      expect(JSON.parse(resumed.stdout)).toMatchObject({result: 'fixed', strategy: 'recreate'})
      expect(poolOf(sim, 'default-ipv6-ippool')?.spec).toMatchObject({cidr: DESIRED_CIDR, natOutgoing: true})
      expect(leases(sim)).toEqual([])
      const nothing = await runPlugin(['ippool', 'fix', '--resume', '--kubeconfig', sim.kubeconfig])
      expect(nothing.code).toBe(2)
      expect(nothing.stderr).toMatch(/^error: there is no unfinished ippool fix to resume/)
    } finally {
      await sim.stop()
    }
  })

  it('--rollback puts the original pool back', async () => {
    const sim = await killedHalfWay()
    try {
      const rolled = await runPlugin(['ippool', 'fix', '--rollback', '--yes', '-o', 'json', '--kubeconfig', sim.kubeconfig])
      expect(rolled.code).toBe(1)
      expect(JSON.parse(rolled.stdout)).toMatchObject({result: 'rolled-back'})
      expect(poolOf(sim, 'default-ipv6-ippool')?.spec).toMatchObject({cidr: ORIGINAL_CIDR, natOutgoing: false})
      expect(leases(sim)).toEqual([])
    } finally {
      await sim.stop()
    }
  })

  it('a forged journal (a step whose pool name is a path to a Secret) is refused by --rollback and --resume: exit 1, nothing written', async () => {
    const sim = await killedHalfWay()
    try {
      const c = sim.server.sim
      const type = c.type('coordination.k8s.io/v1', 'Lease')
      const lease = c.store.get(type, 'kube-system', 'kubectl-dualstack')!
      const journal = JSON.parse(lease.metadata.annotations!['dualstack.kubectl.io/journal']!) as {steps: Array<Record<string, unknown>>}
      journal.steps.push({kind: 'delete-pool', api: 'crd.projectcalico.org/v1', pool: '../../../api/v1/namespaces/kube-system/secrets/token'})
      c.store.write(type, {...lease, metadata: {...lease.metadata, annotations: {...lease.metadata.annotations, 'dualstack.kubectl.io/journal': JSON.stringify(journal)}}})
      const before = c.writes().length
      for (const how of ['--rollback', '--resume']) {
        const result = await runPlugin(['ippool', 'fix', how, '--yes', '--kubeconfig', sim.kubeconfig])
        expect({code: result.code, stderr: result.stderr}).toEqual({code: 1, stderr: expect.stringMatching(
          /^error: the journal in Lease kube-system\/kubectl-dualstack cannot be trusted: step 5 \(delete-pool\): "\.\.\/\.\.\/\.\.\/api\/v1\/namespaces\/kube-system\/secrets\/token" is not a pool name; nothing was changed; look at it \(kubectl -n kube-system get lease kubectl-dualstack -o yaml\)/)})
      }
      expect(c.writes().slice(before)).toEqual([])
    } finally {
      await sim.stop()
    }
  })
})

describe('ippool fix at a terminal', () => {
  let sim: RunningSim
  beforeEach(async () => {
    sim = await startSim('runbook-rke-1.18', runbookUnused)
  })
  afterEach(() => sim.stop())

  const atTerminal = (answer: string) =>
    answerAtTerminal(['ippool', 'fix', '--kubeconfig', sim.kubeconfig, '--backup-dir', backupDir(sim)], 'to continue:', answer)

  it('shows the plan, the context and server, and proceeds when the pool\'s name is typed', async () => {
    const {code, output} = await atTerminal('default-ipv6-ippool')
    expect(output).toContain('Plan:')
    expect(output).toContain(`This changes IPPool default-ipv6-ippool on context "sim" (server ${sim.server.url}).`)
    expect(output).toContain('Type default-ipv6-ippool to continue:')
    expect(output).toContain('fixed: IPPool default-ipv6-ippool is 2001:0:0:2::/104 with natOutgoing true')
    expect(code).toBe(0)
    expect(poolOf(sim, 'default-ipv6-ippool')?.spec.cidr).toBe(DESIRED_CIDR)
  })

  it('aborts with exit 2 on any other answer, having written nothing', async () => {
    const {code, output} = await atTerminal('y')
    expect(output).toContain('error: aborted: "y" is not default-ipv6-ippool; nothing was changed')
    expect(code).toBe(2)
    expect(sim.server.sim.writes()).toEqual([])
  })

  it('Ctrl-C at the prompt is an interrupt (exit 130), Ctrl-D no answer (exit 2): never an unexpected error, nothing written', async () => {
    const interrupted = await atTerminal('\x03')
    expect(interrupted.output).not.toMatch(/unexpected error|\n\s+at /)
    expect(interrupted.code).toBe(130)
    const ended = await atTerminal('\x04')
    expect(ended.output).toContain('error: aborted: no answer (end of input); nothing was changed; type default-ipv6-ippool to go ahead, or pass --yes')
    expect(ended.code).toBe(2)
    expect(sim.server.sim.writes()).toEqual([])
  })
})
