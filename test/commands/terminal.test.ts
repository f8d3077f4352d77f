// How the plugin behaves as a terminal program: colour only on a TTY, NO_COLOR and --no-color, Ctrl-C,
// unknown commands.
import {interruptPlugin, PLUGIN, run, runPlugin, startSim, testEnv, type RunningSim} from '../sim/harness.js'

const ANSI = /\x1b\[[0-9;]*m/ // eslint-disable-line no-control-regex

describe('the plugin in a terminal', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      s.faults = [{verb: 'list', resource: 'pods', latencyMs: 20_000, user: 'viewer'}]
    })
  })
  afterAll(() => sim.stop())

  // util-linux `script` gives the command a pseudo-terminal, as an interactive shell would.
  const inTty = (args: string[], env: Record<string, string | undefined> = {}) =>
    run('script', ['-qec', [PLUGIN, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], testEnv({NO_COLOR: undefined, ...env}))

  it('colours the table on a TTY', async () => {
    const result = await inTty(['pod-ips', '-A', '--kubeconfig', sim.kubeconfig])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(ANSI)
  })

  it('doctor shows its progress on a terminal, and not when piped', async () => {
    const tty = await inTty(['doctor', '--only', 'node.ipv6-forwarding', '--kubeconfig', sim.kubeconfig])
    expect(tty.stdout).toContain('reading IPv6 forwarding on nodes: 3/3')
    const piped = await runPlugin(['doctor', '--only', 'node.ipv6-forwarding', '--kubeconfig', sim.kubeconfig])
    expect(piped.stderr).toBe('')
  })

  it('never colours with NO_COLOR, --no-color, or when piped', async () => {
    expect((await inTty(['pod-ips', '-A', '--kubeconfig', sim.kubeconfig], {NO_COLOR: '1'})).stdout).not.toMatch(ANSI)
    expect((await inTty(['pod-ips', '-A', '--no-color', '--kubeconfig', sim.kubeconfig])).stdout).not.toMatch(ANSI)
    expect((await runPlugin(['pod-ips', '-A', '--kubeconfig', sim.kubeconfig], {NO_COLOR: undefined})).stdout).not.toMatch(ANSI)
  })

  it('Ctrl-C exits 130', async () => {
    const kc = sim.writeKubeconfig('kc-viewer', {user: 'viewer'})
    // Interrupt once the request is at the (slow) API server.
    const {code, stderr} = await interruptPlugin(['pod-ips', '-A', '--kubeconfig', kc], () => sim.server.sim.requests.some((r) => r.user === 'viewer'))
    expect(code).toBe(130)
    expect(stderr).toContain('interrupted')
  })

  it('an unknown command is bad usage', async () => {
    const result = await runPlugin(['ippool', 'nope'])
    expect(result).toEqual({code: 2, stdout: '', stderr: `error: unknown command "ippool nope" for "kubectl dualstack"; see 'kubectl dualstack --help'\n`})
  })
})
