// Credentials never appear in output, errors or --verbose traces, whatever goes wrong.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {makeCaCert} from '../sim/certs.js'
import {runPlugin, startSim, type RunningSim} from '../sim/harness.js'

const TOKEN = 'sk-live-7f3a9c2e1b8d4f60a5e7c9b1d3f5a7e9'
const REJECTED_TOKEN = 'sk-old-0e2c4a6b8d1f3e5a7c9b0d2f4a6c8e1b'

describe('credentials in output', () => {
  let sim: RunningSim
  let keyPem: string
  const kubeconfigs: Record<string, string> = {}

  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18', (s) => {
      s.users = [
        {name: 'ops', token: TOKEN, admin: true},
        {name: 'narrow', token: `${TOKEN}-narrow`, rules: [{verbs: ['list'], resources: ['pods']}]},
      ]
    })
    keyPem = (await makeCaCert()).key
    const withKey = (server: string, token: string) => sim.server.kubeconfig({user: 'ops', server})
      .replace('    token: ' + TOKEN, `    token: ${token}\n    client-key-data: ${Buffer.from(keyPem).toString('base64')}`)
    const write = (name: string, text: string) => {
      kubeconfigs[name] = path.join(sim.dir, name)
      writeFileSync(kubeconfigs[name]!, text)
    }
    write('ok', withKey(sim.server.url, TOKEN))
    write('rejected', withKey(sim.server.url, REJECTED_TOKEN))
    write('unreachable', withKey('https://127.0.0.1:1', TOKEN))
    write('narrow', sim.server.kubeconfig({user: 'narrow'}))
  })
  afterAll(() => sim.stop())

  const secrets = () => [
    TOKEN, REJECTED_TOKEN, `${TOKEN}-narrow`, Buffer.from(keyPem).toString('base64').slice(0, 40),
    ...keyPem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')).slice(0, 3),
  ]

  it.each([
    ['a run that works', 'ok', ['pod-ips', '-A']],
    ['doctor', 'ok', ['doctor', '-o', 'json']],
    ['a repair plan', 'ok', ['ippool', 'fix', '--dry-run']],
    ['a rejected token (401)', 'rejected', ['pod-ips', '-A']],
    ['an unreachable server', 'unreachable', ['doctor']],
    ['RBAC denial (403)', 'narrow', ['doctor']],
    ['a name that does not exist', 'ok', ['svc-check', 'nope', '-n', 'default']],
  ])('%s, with --verbose: neither the token nor the client key is printed', async (_what, kubeconfig, args) => {
    const result = await runPlugin([...args, '--verbose', '--kubeconfig', kubeconfigs[kubeconfig]!], {DEBUG: '*'})
    for (const secret of secrets()) {
      expect(result.stdout).not.toContain(secret)
      expect(result.stderr).not.toContain(secret)
    }
  })

  it('the kubeconfigs really carry the credentials (so the test above can fail)', () => {
    for (const name of ['ok', 'rejected', 'unreachable']) {
      expect(readFileSync(kubeconfigs[name]!, 'utf8')).toContain(secrets()[3])
    }
  })
})
