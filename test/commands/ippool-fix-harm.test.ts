// Repairs that never harm, on the simulator (the real control plane tier has the same in
// test/real/repairs-harm.test.ts): a pool of the name a migration wants that someone else made, a run killed
// while the Deployment controller moves pods, dry runs of --resume and --rollback that write nothing, a
// rollback that must not take the new pool from the pods on it, and a label another writer adds mid-run.
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import path from 'node:path'

import {PLUGIN, runPlugin, startSim, testEnv, type RunningSim} from '../sim/harness.js'
import {poolOf, withoutBarePods} from './ops-helpers.js'

const NEW_POOL = 'default-ipv6-ippool-2001-0-0-2---104-2'
const THEIRS = 'default-ipv6-ippool-2001-0-0-2---104'
const ORIGINAL = {cidr: '2001:0:0:1::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()'}
const DESIRED = {cidr: '2001:0:0:2::/104', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}

async function fix(sim: RunningSim, ...args: string[]) {
  const result = await runPlugin(['ippool', 'fix', '-o', 'json', '--kubeconfig', sim.kubeconfig, ...args])
  return {code: result.code, stderr: result.stderr, report: JSON.parse(result.stdout || '{}')}
}

const writesSince = (sim: RunningSim, since: number) => sim.server.sim.writes().slice(since).filter((w) => !w.dryRun).map((w) => `${w.verb} ${w.resource} ${w.name ?? ''}`.trim())

describe('ippool fix on the simulator: repairs that never harm what they must protect', () => {
  let sim: RunningSim
  let backups: string
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      withoutBarePods(s)
      // A kubelet that takes a while to start pods: the rollout the run starts is still going when it is killed.
      s.podStartMs = 1500
      s.objects!.push({apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: THEIRS}, spec: {cidr: '2001:0:0:99::/104', disabled: true}})
    })
    backups = mkdtempSync(path.join(sim.dir, 'backup-'))
  })
  afterAll(() => sim.stop())

  it('a pool with the name the migration would give its new pool, made by someone else: the plan picks a free name', async () => {
    const since = sim.server.sim.writes().length
    const {code, report} = await fix(sim, '--dry-run')
    expect(code).toBe(0)
    expect(report).toMatchObject({strategy: 'migrate', to: {name: NEW_POOL}, result: 'planned'})
    expect(writesSince(sim, since)).toEqual([])
  })

  it('killed during the rollout: --resume --dry-run --yes and --rollback --dry-run write nothing and count who holds each pool now', async () => {
    const child = spawn(PLUGIN, ['ippool', 'fix', '--recreate-pods', '--yes', '--backup-dir', backups, '--kubeconfig', sim.kubeconfig], {env: testEnv()})
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    const patched = () => sim.server.sim.writes().some((w) => w.verb === 'patch' && w.resource === 'deployments' && w.name === 'calico-kube-controllers')
    const deadline = Date.now() + 20_000
    while (!patched() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(child.exitCode).toBeNull()
    child.kill('SIGKILL')
    await exited
    // The Deployment controller finishes the rollout the run started: the pod moves to the new pool.
    const onNewPool = () => sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod'), 'kube-system')
      .some((p) => p.metadata.name.startsWith('calico-kube-controllers-') && p.status?.podIPs?.some((ip: {ip: string}) => ip.ip.startsWith('2001:0:0:2:')))
    for (let i = 0; i < 100 && !onNewPool(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(onNewPool()).toBe(true)

    const since = sim.server.sim.writes().length
    const resume = await fix(sim, '--resume', '--dry-run', '--yes')
    expect({code: resume.code, result: resume.report.result}).toEqual({code: 0, result: 'planned'})
    expect(resume.report.message).toMatch(/^dry run: nothing was written; would resume: a previous ippool fix \(migrate of default-ipv6-ippool, started .*\) stopped half-way: 4 of 6 steps done/)
    // Counted now: the old pool's holders, less the pod the rollout moved.
    const holdingOld = sim.server.sim.store.list(sim.server.sim.type('v1', 'Pod'))
      .filter((p) => p.status?.phase === 'Running' && p.status?.podIPs?.some((ip: {ip: string}) => ip.ip.startsWith('2001:0:0:1:')))
      .map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort()
    expect({cidr: resume.report.impact.cidr, pods: [...resume.report.impact.pods].sort()}).toEqual({cidr: '2001:0:0:1::/104', pods: holdingOld})
    const rollback = await fix(sim, '--rollback', '--dry-run')
    expect({code: rollback.code, result: rollback.report.result}).toEqual({code: 0, result: 'planned'})
    expect(rollback.report.impact).toMatchObject({cidr: '2001:0:0:2::/104', pods: [expect.stringMatching(/^kube-system\/calico-kube-controllers-/)]})
    // What it would undo, newest first: not the forward step a resume takes.
    expect(rollback.report.message).toMatch(new RegExp(`4 of 6 steps done, to undo: disable IPPool default-ipv6-ippool \\(no new addresses come from it\\); create IPPool ${NEW_POOL} `))
    expect(writesSince(sim, since)).toEqual([])
  })

  it('--rollback does not take the new pool from the pod on it: disabled and named with what to move; the old pool enabled again; theirs untouched', async () => {
    const since = sim.server.sim.writes().length
    const {code, report} = await fix(sim, '--rollback', '--yes')
    expect({code, result: report.result}).toEqual({code: 1, result: 'rolled-back'})
    expect(report.left.join('\n')).toContain(`IPPool ${NEW_POOL} (2001:0:0:2::/104) is left disabled, not deleted: 1 pod(s) hold its addresses`)
    expect(poolOf(sim, 'default-ipv6-ippool')?.spec).toEqual(ORIGINAL)
    expect(poolOf(sim, NEW_POOL)?.spec).toEqual({...DESIRED, disabled: true})
    expect(poolOf(sim, THEIRS)?.spec).toEqual({cidr: '2001:0:0:99::/104', disabled: true})
    const writes = writesSince(sim, since).filter((w) => w.includes(' ippools '))
    expect(writes.filter((w) => w.startsWith('delete ') || w.endsWith(THEIRS))).toEqual([])
  })
})

describe('ippool fix on the simulator: another writer labels the old pool mid-migration', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', withoutBarePods)
  })
  afterAll(() => sim.stop())

  it('the label lands between the run\'s read and its write (a 409): read again and re-applied, the label kept, the fix lands', async () => {
    const c = sim.server.sim
    const type = c.type('crd.projectcalico.org/v1', 'IPPool')
    // Once the new pool exists, the first read of the old one is followed at once by someone's label: the run's write after it meets a 409.
    const record = c.record.bind(c)
    let labelled = false
    c.record = (entry) => {
      record(entry)
      if (labelled || entry.verb !== 'get' || entry.name !== 'default-ipv6-ippool' || !c.store.get(type, undefined, 'default-ipv6-ippool-2001-0-0-2---104')) return
      labelled = true
      // After the answer has gone out (the run holds the resourceVersion it read), before its write comes in.
      setImmediate(() => {
        const old = c.store.get(type, undefined, 'default-ipv6-ippool')!
        c.store.write(type, {...old, metadata: {...old.metadata, labels: {team: 'network'}}})
      })
    }
    const {code, report} = await fix(sim, '--yes', '--backup-dir', sim.dir)
    c.record = record
    expect(labelled).toBe(true)
    expect(c.requests.some((r) => r.verb === 'update' && r.name === 'default-ipv6-ippool' && r.code === 409)).toBe(true)
    expect({code, result: report.result}).toEqual({code: 0, result: 'fixed'})
    expect(poolOf(sim, 'default-ipv6-ippool')?.metadata.labels).toEqual({team: 'network'})
    expect(poolOf(sim, 'default-ipv6-ippool')?.spec).toEqual({...ORIGINAL, disabled: true})
  })
})
