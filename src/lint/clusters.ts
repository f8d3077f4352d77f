// lint across clusters: each group of files (one directory, or the files named together) is one cluster's
// config, modelled and judged on its own, so that one cluster's pools are never compared with another's CIDRs.
import path from 'node:path'

import {parseKubeVersion, type KubeVersion} from '../k8s/version.js'
import {buildModel, FORMATS_READ} from './model.js'
import {NAMED_TOGETHER, type LintGroup, type Unreadable} from './reader.js'
import {runLint, sortFindings, VERSION_RULES, type Finding} from './rules.js'

/** Not a rule of the config: a file lint read but found nothing in that it reads (a green result would say it was understood). */
export const NOT_UNDERSTOOD = {id: 'input.not-understood', title: 'The file is in a format lint reads'}

export function lintClusters(groups: readonly LintGroup[], version: KubeVersion | undefined): {findings: Finding[]; notes: string[]; readAs: Record<string, string[]>} {
  const findings: Finding[] = []
  const notes: string[] = []
  const readAs: Record<string, string[]> = {}
  const several = groups.length > 1
  if (several) {
    notes.push(`${groups.length} clusters, each linted on its own (one directory is one cluster; name files to lint them together): ${groups.map((g) => `${g.name} (${g.files.length} file${g.files.length === 1 ? '' : 's'})`).join(', ')}`)
  }
  for (const group of groups) {
    // Files named together from more than one directory: merged on purpose, said so.
    const named = group.name === NAMED_TOGETHER
    if (named && new Set(group.files.map((f) => path.dirname(path.resolve(f)))).size > 1) {
      notes.push(`linted together as one cluster: ${group.files.join(', ')}`)
    }
    const model = buildModel(group.documents)
    const prefix = several ? `${group.name}: ` : ''
    // The files' own version, unless --kubernetes-version says otherwise (e.g. for an upgrade being planned).
    let judged = version
    const stated = model.kubernetesVersions.find((s) => parseKubeVersion(s.value))
    if (!judged && stated) {
      judged = parseKubeVersion(stated.value)
      notes.push(`${prefix}Kubernetes ${stated.value}, from ${stated.at.file}:${stated.at.line} (${stated.where})`)
    }
    if (!judged && group.documents.length > 0) notes.push(`${prefix}no Kubernetes version in the files: ${VERSION_RULES.join(' and ')} were not checked; pass --kubernetes-version`)
    findings.push(...runLint(model, judged))
    for (const file of group.files) {
      const first = group.documents.find((d) => d.file === file)
      if (!first) continue // not linted (a Helm template) or unreadable: said as such
      const as = [...(model.readAs.get(file) ?? [])]
      readAs[file] = as
      if (as.length > 0) continue
      const root = first.value as {apiVersion?: unknown; kind?: unknown} | null
      const what = root && typeof root === 'object' && typeof root.kind === 'string' ? ` (kind ${root.kind}${typeof root.apiVersion === 'string' ? ` of ${root.apiVersion}` : ''})` : ''
      findings.push({rule: NOT_UNDERSTOOD.id, severity: 'warning', at: first.at([]),
        message: `nothing in this file is in a format lint reads${what}, so nothing in it was checked`, fix: `lint reads ${FORMATS_READ.join('; ')}`})
    }
  }
  return {findings: sortFindings(findings), notes, readAs}
}

/** The one error line for files that could not be linted. */
export function unreadableLine(unreadable: readonly Unreadable[]): string {
  return `${unreadable.length} file(s) could not be linted: ${unreadable.map((u) => `${u.file} (${u.kind})`).join(', ')}; fix them or leave them out`
}
