// Every command, by its oclif id: src/cli.ts hands each to oclif from the bundle when oclif asks for it (the
// manifest answers --help), so a run evaluates only its own. The build makes the manifest from these classes.
import type {Command} from '@oclif/core/command'

export const COMMAND_LOADERS: Record<string, () => Promise<Command.Class>> = {
  'calico-restart': async () => (await import('./commands/calico-restart.js')).default,
  completion: async () => (await import('./commands/completion.js')).default,
  connectivity: async () => (await import('./commands/connectivity.js')).default,
  doctor: async () => (await import('./commands/doctor.js')).default,
  'ippool:fix': async () => (await import('./commands/ippool/fix.js')).default,
  lint: async () => (await import('./commands/lint.js')).default,
  'pod-ips': async () => (await import('./commands/pod-ips.js')).default,
  'pods:recreate': async () => (await import('./commands/pods/recreate.js')).default,
  'services:dual': async () => (await import('./commands/services/dual.js')).default,
  'svc-check': async () => (await import('./commands/svc-check.js')).default,
}

/** Every command's class (tests: the manifest against the code). */
export async function loadCommands(): Promise<Record<string, Command.Class>> {
  const commands: Record<string, Command.Class> = {}
  // One after another: jest's ES-module linker fails on modules imported twice at once.
  for (const [id, load] of Object.entries(COMMAND_LOADERS)) commands[id] = await load()
  return commands
}
