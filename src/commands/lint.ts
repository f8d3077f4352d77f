import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../base-command.js'
import {ExitCode, UsageError} from '../errors.js'
import {parseKubeVersion, type KubeVersion} from '../k8s/version.js'
import {lintClusters, unreadableLine} from '../lint/clusters.js'
import {readLintInputs} from '../lint/reader.js'
import {renderJunit} from '../render/junit.js'
import {lintJunitCases, lintModel, renderLintText, renderSarif, type LintReport} from '../render/lint.js'
import {emit, outputOf} from '../render/emit.js'

export default class Lint extends BaseCommand {
  static override summary = 'Find dual-stack mistakes in cluster config files, offline (for merge-request pipelines)'
  static override description = `Reads YAML files and directories: RKE cluster.yml and a values.yaml with a cluster: block, Calico Helm values (calicoNode.env, env, extraEnv), the calico-config ConfigMap and calico-node DaemonSet, and Services. Helm templates ({{ }}) are reported as not linted.
The files of one directory are one cluster (each directory walked is linted on its own); the files named as arguments are linted together.
Exit 1 when an error is found (with --strict, a warning too), 2 on bad input: a file that cannot be read, is not YAML or is refused (an alias bomb); the other files are still linted.`

  static override examples = [
    '<%= config.bin %> lint values.yaml values-calico.yaml svc.yaml --kubernetes-version v1.18.20',
    '<%= config.bin %> lint clusters/ -o sarif > dualstack.sarif',
  ]

  static override enableJsonFlag = true
  static override strict = false
  static override args = {paths: Args.string({description: 'Files or directories to lint', required: true})}
  static override flags = {
    'kubernetes-version': Flags.string({description: 'Target Kubernetes version (enables the feature-gate and version rules), e.g. v1.18.20'}),
    strict: Flags.boolean({description: 'Warnings fail the run too (exit 1)'}),
    output: Flags.string({char: 'o', description: 'Output format', options: ['table', 'json', 'junit', 'sarif'], default: 'table'}),
  }

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Lint)
    let version: KubeVersion | undefined
    if (flags['kubernetes-version']) {
      version = parseKubeVersion(flags['kubernetes-version'])
      if (!version) throw new UsageError(`"${flags['kubernetes-version']}" is not a Kubernetes version`, 'pass it as v1.28.3 or 1.28')
    }
    const inputs = readLintInputs(argv as string[])
    const {findings, notes, readAs} = lintClusters(inputs.groups, version)
    const report: LintReport = {
      files: inputs.groups.reduce((n, g) => n + g.files.length, 0),
      clusters: inputs.groups.map((g) => ({name: g.name, files: g.files})),
      findings, skipped: inputs.skipped, unreadable: inputs.unreadable, notes, readAs,
      summary: {error: findings.filter((f) => f.severity === 'error').length, warning: findings.filter((f) => f.severity === 'warning').length},
    }
    emit(this, outputOf(this, flags.output), lintModel(report), {
      table: () => renderLintText(report, this.theme(flags['no-color'])), sarif: () => renderSarif(report, process.cwd()),
      junit: () => renderJunit('kubectl-dualstack lint', lintJunitCases(report)),
    })
    if (report.summary.error > 0 || (flags.strict && report.summary.warning > 0)) process.exitCode = ExitCode.ProblemsFound
    // Input it could not read is bad input (exit 2), whatever the other files gave: the lint is incomplete.
    if (report.unreadable.length > 0) {
      process.stderr.write(`error: ${unreadableLine(report.unreadable)}\n`)
      process.exitCode = ExitCode.Usage
    }
    return lintModel(report)
  }
}
