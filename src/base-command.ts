// What every cluster command shares: kubectl's connection flags, colour, and the one place where errors
// become a single stderr line and an exit code.
import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'

import type {ClusterClient} from './cluster/kube.js'
import type {ConnectionFlags} from './cluster/types.js'
import {DualstackError, ExitCode, UsageError} from './errors.js'
import {untilInterruptEnds, wasInterrupted} from './interrupt.js'
import {installOutputErrorHandler} from './output-errors.js'
import {loadYamlRenderer} from './render/structured.js'
import {colourWanted, makeTheme, type Theme} from './render/theme.js'

export const kubeFlags = {
  kubeconfig: Flags.string({description: 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)', helpGroup: 'KUBECTL'}),
  context: Flags.string({description: 'The kubeconfig context to use', helpGroup: 'KUBECTL'}),
  namespace: Flags.string({char: 'n', description: "Namespace (default: the context's namespace, else default)", helpGroup: 'KUBECTL'}),
  'request-timeout': Flags.string({
    description: 'How long to wait for a single API request (e.g. 10s, 2m); 0 waits forever',
    default: '0',
    helpGroup: 'KUBECTL',
  }),
  cluster: Flags.string({description: 'The kubeconfig cluster to use (instead of the context\'s)', helpGroup: 'KUBECTL'}),
  user: Flags.string({description: 'The kubeconfig user to use (instead of the context\'s)', helpGroup: 'KUBECTL'}),
  server: Flags.string({char: 's', description: 'The address and port of the Kubernetes API server', helpGroup: 'KUBECTL'}),
  token: Flags.string({description: 'Bearer token for authentication to the API server', helpGroup: 'KUBECTL'}),
  'certificate-authority': Flags.string({description: 'Path to a cert file for the certificate authority', helpGroup: 'KUBECTL'}),
  'client-certificate': Flags.string({description: 'Path to a client certificate file for TLS', helpGroup: 'KUBECTL'}),
  'client-key': Flags.string({description: 'Path to a client key file for TLS', helpGroup: 'KUBECTL'}),
  'insecure-skip-tls-verify': Flags.boolean({description: 'Do not check the server\'s certificate (insecure)', helpGroup: 'KUBECTL'}),
  'tls-server-name': Flags.string({description: 'Server name to use for server certificate validation', helpGroup: 'KUBECTL'}),
  as: Flags.string({description: 'Username to impersonate for the operation', helpGroup: 'KUBECTL'}),
  'as-group': Flags.string({description: 'Group to impersonate for the operation (repeat for several)', multiple: true, helpGroup: 'KUBECTL'}),
  'as-uid': Flags.string({description: 'UID to impersonate for the operation', helpGroup: 'KUBECTL'}),
}

/** For commands whose objects are cluster-wide or in Calico's own namespace: no -n that would be ignored. */
export const clusterScopedKubeFlags = Object.fromEntries(Object.entries(kubeFlags).filter(([name]) => name !== 'namespace')) as Omit<typeof kubeFlags, 'namespace'>

/** -A: exclusive with -n, as one selection cannot be both (kubectl lets -A win silently). */
export const allNamespacesFlag = (description: string) => Flags.boolean({char: 'A', description, exclusive: ['namespace']})

/** kubectl's connection flags, as parsed, in the shape the cluster module takes. */
export type KubeFlagValues = {kubeconfig?: string; context?: string; namespace?: string; 'request-timeout'?: string; cluster?: string; user?: string; server?: string;
  token?: string; 'certificate-authority'?: string; 'client-certificate'?: string; 'client-key'?: string; 'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string; as?: string; 'as-group'?: string[]; 'as-uid'?: string}

export function connectionFlags(flags: KubeFlagValues): ConnectionFlags {
  return {
    kubeconfig: flags.kubeconfig, context: flags.context, namespace: flags.namespace, requestTimeout: flags['request-timeout'],
    cluster: flags.cluster, user: flags.user, server: flags.server, token: flags.token,
    certificateAuthority: flags['certificate-authority'], clientCertificate: flags['client-certificate'], clientKey: flags['client-key'],
    insecureSkipTlsVerify: flags['insecure-skip-tls-verify'], tlsServerName: flags['tls-server-name'],
    as: flags.as, asGroup: flags['as-group'], asUid: flags['as-uid'],
  }
}

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    'no-color': Flags.boolean({description: 'Never colour the output (NO_COLOR does the same)', helpGroup: 'GLOBAL'}),
    verbose: Flags.boolean({description: 'Print stack traces with errors (DEBUG=* does the same)', helpGroup: 'GLOBAL'}),
  }

  override async init(): Promise<void> {
    await super.init()
    installOutputErrorHandler()
    const other = outputFormatBesideJson(this.argv)
    if (other) throw new UsageError(`--json and -o ${other} ask for two output formats`, 'pass one of them (--json is -o json)')
    if (outputFormats(this.argv).includes('yaml')) await loadYamlRenderer()
  }

  protected theme(noColor: boolean): Theme {
    return makeTheme(colourWanted(process.stdout, noColor))
  }

  protected override async catch(err: Error & {oclif?: {exit?: number}; code?: string}): Promise<void> {
    if (err.code === 'EEXIT') throw err
    let code: number
    let line: string
    if (err instanceof DualstackError) {
      code = err.exitCode
      line = err.hint ? `${err.message}; ${err.hint}` : err.message
    } else if (err.oclif?.exit !== undefined) {
      // oclif's own parse errors (unknown flag, bad option value, missing argument): bad usage.
      code = ExitCode.Usage
      // oclif's message can run over lines ("Missing 1 required arg:\npaths ...\nSee more help with --help"): keep it on one.
      const text = err.message.split('\n').map((l) => l.trim()).filter((l) => l && !/^See more help/.test(l)).join(' ')
      line = `${text}; see 'kubectl dualstack ${this.id?.replaceAll(':', ' ') ?? ''} --help'`
    } else {
      code = ExitCode.ProblemsFound
      line = `unexpected error: ${err.message.split('\n')[0]}; re-run with --verbose and report it`
    }
    process.stderr.write(`error: ${line}\n`)
    // A script that asked for JSON gets one JSON document whatever happens: the error, as data.
    if (wantsJson(this.argv)) {
      process.stdout.write(`${JSON.stringify({error: {message: err instanceof DualstackError ? err.message : line, ...(err instanceof DualstackError && err.hint ? {hint: err.hint} : {}), exitCode: code}}, null, 2)}\n`)
    }
    if (process.argv.includes('--verbose') || process.env.DEBUG) process.stderr.write(`${err.stack}\n`)
    if (wasInterrupted()) await untilInterruptEnds()
    this.exit(code)
  }
}

/** The -o/--output values on a command line (-o F, -oF, -o=F, --output F, --output=F), up to a bare --. */
function outputFormats(argv: readonly string[]): string[] {
  const formats: string[] = []
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const arg = argv[i]!
    const value = arg === '-o' || arg === '--output' ? argv[i + 1] : /^(?:-o=?|--output=)(.+)$/.exec(arg)?.[1]
    if (value !== undefined) formats.push(value)
  }
  return formats
}

/** The -o/--output format given beside --json, when it is not json: oclif's --json would silently win over it. */
export function outputFormatBesideJson(argv: readonly string[]): string | undefined {
  return argv.includes('--json') ? outputFormats(argv).find((format) => format !== 'json') : undefined
}

/** Whether the command line asks for JSON output (-o json, --output=json, -ojson, --json). */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json') || outputFormats(argv).includes('json')
}

export abstract class KubeCommand extends BaseCommand {
  /** client-node is loaded here, on first use: commands that never reach a cluster (lint, --help) start faster. */
  protected async connect(flags: KubeFlagValues): Promise<ClusterClient> {
    const {ClusterClient} = await import('./cluster/kube.js')
    return ClusterClient.connect(connectionFlags(flags))
  }
}
