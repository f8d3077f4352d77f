import * as Args from '@oclif/core/args'

import {BaseCommand} from '../base-command.js'
import {completionScript, SHELLS, type Shell} from '../completion/scripts.js'

export default class Completion extends BaseCommand {
  static override summary = 'Print a shell completion script (bash, zsh or fish)'
  static override description = `\`kubectl dualstack <TAB>\` completes through kubectl (1.26 or later, with kubectl's own completion loaded): kubectl runs the kubectl_complete-dualstack executable on PATH. The npm install puts it there. For the krew install, link it once:
  ln -s "\${KREW_ROOT:-$HOME/.krew}/bin/kubectl-dualstack" "\${KREW_ROOT:-$HOME/.krew}/bin/kubectl_complete-dualstack"

The script this command prints completes the plugin run directly as kubectl-dualstack. Both complete subcommands, flags, namespaces, pods, Services, contexts, IP pools and doctor check ids, asking the cluster for at most 2 seconds (DUALSTACK_COMPLETION_TIMEOUT) so that a slow cluster never hangs the shell.`
  static override examples = [
    {description: 'Load completion in the current bash shell', command: 'source <(kubectl dualstack completion bash)'},
    {description: 'Install it for zsh (a directory on $fpath)', command: 'kubectl dualstack completion zsh > "${fpath[1]}/_kubectl-dualstack"'},
    {description: 'Install it for fish', command: 'kubectl dualstack completion fish > ~/.config/fish/completions/kubectl-dualstack.fish'},
  ]
  static override args = {shell: Args.string({description: 'The shell', required: true, options: [...SHELLS]})}

  async run(): Promise<void> {
    const {args} = await this.parse(Completion)
    process.stdout.write(completionScript(args.shell as Shell))
  }
}
