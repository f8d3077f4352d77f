// Reads YAML files (directories walked) into documents that remember where each value is (line, column),
// so findings can point at the exact spot. Helm templates are reported as not linted.
import {readdirSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import {LineCounter, parseAllDocuments, type Document} from 'yaml'

import {UsageError} from '../errors.js'

export interface Position {
  file: string
  line: number
  column: number
}

export interface LintDocument {
  file: string
  index: number
  value: unknown
  /** Where the value at a path is (falls back to the nearest parent, then the document's start). */
  at(pathParts: ReadonlyArray<string | number>): Position
}

export interface Skipped {
  file: string
  reason: string
}

const YAML_FILE = /\.ya?ml$/i

function walk(target: string, out: string[]): void {
  let stat
  try {
    stat = statSync(target)
  } catch {
    throw new UsageError(`${target} does not exist`, 'pass files or directories of YAML to lint')
  }
  if (stat.isDirectory()) {
    for (const entry of readdirSync(target).sort()) {
      if (entry.startsWith('.') || entry === 'node_modules') continue
      const full = path.join(target, entry)
      if (statSync(full).isDirectory() || YAML_FILE.test(entry)) walk(full, out)
    }
  } else out.push(target)
}

export function readLintInputs(targets: readonly string[]): {documents: LintDocument[]; skipped: Skipped[]} {
  const files: string[] = []
  for (const target of targets) walk(target, files)
  const documents: LintDocument[] = []
  const skipped: Skipped[] = []
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    // A chart template is not YAML until Helm renders it.
    if (/\{\{[\s\S]*?\}\}/.test(text)) {
      skipped.push({file, reason: 'a Helm template ({{ }}): render it first (helm template) and lint the output'})
      continue
    }
    const lineCounter = new LineCounter()
    const docs = parseAllDocuments(text, {lineCounter})
    if (!Array.isArray(docs)) continue
    docs.forEach((doc: Document.Parsed, index) => {
      if (doc.errors.length > 0) {
        skipped.push({file, reason: `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`})
        return
      }
      const value = doc.toJS()
      if (value === null || value === undefined) return
      documents.push({
        file, index, value,
        at(parts) {
          for (let n = parts.length; n >= 0; n--) {
            const node = doc.getIn(parts.slice(0, n), true) as {range?: [number, number, number]} | undefined
            if (node?.range) {
              const pos = lineCounter.linePos(node.range[0])
              return {file, line: pos.line, column: pos.col}
            }
          }
          const start = doc.contents?.range?.[0] ?? 0
          const pos = lineCounter.linePos(start)
          return {file, line: pos.line, column: pos.col}
        },
      })
    })
  }
  return {documents, skipped}
}
