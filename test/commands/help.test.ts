// Every command's --help: a description, its flags, and two or three examples that use only flags it has.
import {runPlugin} from '../sim/harness.js'

const COMMANDS = ['pod-ips', 'doctor', 'svc-check', 'connectivity', 'lint', 'ippool fix', 'calico-restart', 'pods recreate', 'services dual', 'completion']

describe.each(COMMANDS)('kubectl dualstack %s --help', (command) => {
  it('has a description, its flags and two or three examples of itself with real flags', async () => {
    const result = await runPlugin([...command.split(' '), '--help'])
    expect(result).toMatchObject({code: 0, stderr: ''})
    const help = result.stdout
    expect(help).toMatch(/^DESCRIPTION\n {2}\S/m)
    expect(help).toMatch(/^(FLAGS|GLOBAL FLAGS)\n/m)
    const examples = help.slice(help.indexOf('\nEXAMPLES\n')).split('\n').filter((line) => line.trimStart().startsWith('$ '))
    expect(examples.length).toBeGreaterThanOrEqual(2)
    expect(examples.length).toBeLessThanOrEqual(3)
    for (const example of examples) {
      expect(example).toContain(`$ kubectl dualstack ${command}`)
      for (const flag of example.match(/ --[a-z-]+/g) ?? []) expect(help).toMatch(new RegExp(`^ +(-\\w, )?${flag.trim()}[ =\\n]`, 'm'))
    }
  })
})
