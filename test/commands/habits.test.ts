// kubectl's habits where a flag could be taken and ignored, or two flags could contradict each other: each is
// refused in one line (exit 2), or does what it says.
import {spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {parse} from 'yaml'

import {PLUGIN, runPlugin, startSim, testEnv, type RunResult, type RunningSim} from '../sim/harness.js'

function expectUsage(result: RunResult, pattern: RegExp): void {
  expect(result.code).toBe(2)
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
  expect(result.stderr).toMatch(pattern)
}

describe('flags that would be ignored or contradict each other', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('healthy-dual-stack')
  })
  afterAll(() => sim.stop())
  const kc = () => ['--kubeconfig', sim.kubeconfig]

  it('--json beside -o yaml|plain|junit is refused, not silently won by --json; --json with -o json is the same thing', async () => {
    expectUsage(await runPlugin(['pod-ips', '--json', '-o', 'yaml', ...kc()]), /^error: --json and -o yaml ask for two output formats/)
    expectUsage(await runPlugin(['pod-ips', '-oplain', '--json', ...kc()]), /--json and -o plain/)
    expectUsage(await runPlugin(['doctor', '--output=junit', '--json', ...kc()]), /--json and -o junit/)
    const same = await runPlugin(['pod-ips', '--json', '-o', 'json', ...kc()])
    expect(same.code).toBe(0)
    expect(JSON.parse(same.stdout)).toHaveProperty('items')
  })

  it('pod-ips -n with a namespace that does not exist says so (a typo would pass --require-dual); an empty one is fine', async () => {
    expectUsage(await runPlugin(['pod-ips', '--require-dual', '-n', 'defualt', ...kc()]), /^error: namespace "defualt" does not exist; check -n/)
    sim.server.sim.store.create(sim.server.sim.type('v1', 'Namespace'), {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'empty'}})
    expect(await runPlugin(['pod-ips', '--require-dual', '-n', 'empty', ...kc()])).toMatchObject({code: 0})
  })

  it('-n is not taken by ippool fix and calico-restart, whose objects are cluster-wide or in Calico\'s namespace', async () => {
    for (const command of [['ippool', 'fix', '--dry-run'], ['calico-restart', '--dry-run']]) {
      expectUsage(await runPlugin([...command, '-n', 'shop', ...kc()]), /Nonexistent flag: -n/)
    }
  })

  it('-A with -n is refused alike by pod-ips and pods recreate', async () => {
    for (const command of [['pod-ips'], ['pods', 'recreate', '--single-stack', '--dry-run']]) {
      expectUsage(await runPlugin([...command, '-A', '-n', 'default', ...kc()]), /--namespace=default cannot also be provided when using --all-namespaces/)
    }
  })

  it('svc-check -o yaml is the JSON report as YAML', async () => {
    const json = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '-o', 'json', ...kc()])
    const yaml = await runPlugin(['svc-check', 'svc-hellok8s', '-n', 'default', '-o', 'yaml', ...kc()])
    expect(yaml.code).toBe(0)
    const strip = (report: {source: {pod: string}}) => ({...report, source: {...report.source, pod: 'made-per-run'}}) // each run makes its own test pod
    expect(strip(parse(yaml.stdout))).toEqual(strip(JSON.parse(json.stdout)))
  })

  it('output that cannot be written (a full disk) is one line and exit 1, not a stack trace', async () => {
    const full = openSync('/dev/full', 'w')
    try {
      const result = await new Promise<{code: number | null; stderr: string}>((resolve) => {
        const child = spawn(PLUGIN, ['pod-ips', '-A', ...kc()], {env: testEnv(), stdio: ['ignore', full, 'pipe']})
        let stderr = ''
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
        child.on('close', (code) => resolve({code, stderr}))
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/^error: cannot write the output: ENOSPC: no space left on device/)
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    } finally {
      closeSync(full)
    }
  })
})
