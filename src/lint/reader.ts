// Reads YAML files (directories walked) into documents that remember where each value is (line, column),
// so findings can point at the exact spot, grouped into clusters (one directory, or the files named together).
// Helm templates are reported as not linted; files that are not YAML (or cannot be read) as bad input.
import {readdirSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import {isScalar, LineCounter, parseAllDocuments, parseDocument, Scalar, type Document} from 'yaml'

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
  /**
   * Where a line and column of the text embedded at a path are (YAML in a ConfigMap's literal block); the
   * string's own position when it is not a literal block.
   */
  inside(pathParts: ReadonlyArray<string | number>, line: number, column: number): Position
}

export interface Skipped {
  file: string
  reason: string
}

/** A file that could not be linted: unreadable, not text, not YAML, or refused (an alias bomb). Bad input: exit 2. */
export interface Unreadable {
  file: string
  line?: number
  column?: number
  message: string
  /** What it is, in a few words, for the one-line error. */
  kind: string
}

/** Files linted together as one cluster: the files of one directory, or the files named on the command line. */
export interface LintGroup {
  name: string
  files: string[]
  documents: LintDocument[]
}

export interface LintInputs {
  groups: LintGroup[]
  skipped: Skipped[]
  unreadable: Unreadable[]
}

const YAML_FILE = /\.ya?ml$/i
/** Named on the command line: the files given as arguments, linted together whatever their directories. */
export const NAMED_TOGETHER = 'the files named together'
/** yaml's own default, said here because the message quotes it. */
const MAX_ALIAS_COUNT = 100

interface Found {
  file: string
  /** The group: a directory's path, or NAMED_TOGETHER. */
  group: string
  /** Why it cannot be read, when even listing it failed (a dangling symlink). */
  error?: string
}

function walk(dir: string, out: Found[]): void {
  for (const entry of readdirSync(dir).sort()) {
    if (entry.startsWith('.') || entry === 'node_modules') continue
    const full = path.join(dir, entry)
    let isDir: boolean
    try {
      isDir = statSync(full).isDirectory()
    } catch (error) {
      if (YAML_FILE.test(entry)) out.push({file: full, group: dir, error: (error as Error).message})
      continue
    }
    if (isDir) walk(full, out)
    else if (YAML_FILE.test(entry)) out.push({file: full, group: dir})
  }
}

/** What to lint, grouped into clusters: each directory walked is a cluster; the files named as arguments are one. */
function collect(targets: readonly string[]): Found[] {
  const found: Found[] = []
  for (const target of targets) {
    let stat
    try {
      stat = statSync(target)
    } catch {
      throw new UsageError(`${target} does not exist`, 'pass files or directories of YAML to lint')
    }
    if (stat.isDirectory()) walk(target, found)
    else found.push({file: target, group: NAMED_TOGETHER})
  }
  // A file reached twice (named, and in a directory walked) is linted once, where it was first found.
  const seen = new Set<string>()
  return found.filter((f) => {
    const key = path.resolve(f.file)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** The file's text, or why it is not text: invalid UTF-8, or control characters YAML does not allow (a binary file). */
function readText(bytes: Buffer): {text: string} | {error: string} {
  let text: string
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    return {error: 'not YAML: a binary file (not UTF-8 text)'}
  }
  // YAML's printable set (YAML 1.2, c-printable) has no C0 control character but tab, LF and CR, and no DEL.
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.exec(text)
  if (control) {
    const before = text.slice(0, control.index)
    const line = before.split('\n').length
    return {error: `not YAML: a binary file (control character at line ${line}, column ${control.index - before.lastIndexOf('\n')})`}
  }
  return {text}
}

export function readLintInputs(targets: readonly string[]): LintInputs {
  const skipped: Skipped[] = []
  const unreadable: Unreadable[] = []
  const groups = new Map<string, LintGroup>()
  for (const {file, group, error} of collect(targets)) {
    const into = groups.get(group) ?? {name: group, files: [], documents: []}
    groups.set(group, into)
    into.files.push(file)
    if (error) {
      unreadable.push({file, message: `cannot read it: ${error}`, kind: 'cannot read it'})
      continue
    }
    let bytes: Buffer
    try {
      bytes = readFileSync(file)
    } catch (e) {
      unreadable.push({file, message: `cannot read it: ${(e as Error).message}`, kind: 'cannot read it'})
      continue
    }
    const read = readText(bytes)
    if ('error' in read) {
      unreadable.push({file, message: read.error, kind: 'not YAML'})
      continue
    }
    const text = read.text
    // A chart template is not YAML until Helm renders it.
    if (/\{\{[\s\S]*?\}\}/.test(text)) {
      skipped.push({file, reason: 'a Helm template ({{ }}): render it first (helm template) and lint the output'})
      continue
    }
    const lineCounter = new LineCounter()
    const docs = parseAllDocuments(text, {lineCounter})
    if (!Array.isArray(docs)) continue
    const documents: LintDocument[] = []
    const problem = docs.map((doc: Document.Parsed, index) => readDocument(file, text, doc, index, lineCounter, documents)).find((p) => p !== undefined)
    // A file with a problem is not linted at all: half a file would give findings about what is not there.
    if (problem) unreadable.push(problem)
    else into.documents.push(...documents)
  }
  return {groups: [...groups.values()], skipped, unreadable}
}

function readDocument(file: string, text: string, doc: Document.Parsed, index: number, lineCounter: LineCounter, out: LintDocument[]): Unreadable | undefined {
  const startOf = (offset: number) => {
    const pos = lineCounter.linePos(offset)
    return {line: pos.line, column: pos.col}
  }
  const error = doc.errors[0]
  if (error) {
    const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
    return {file, ...(error.linePos ? {line: error.linePos[0].line, column: error.linePos[0].col} : startOf(error.pos[0])), message: `not valid YAML: ${message}`, kind: 'not valid YAML'}
  }
  let value: unknown
  try {
    value = doc.toJS({maxAliasCount: MAX_ALIAS_COUNT})
  } catch (e) {
    // yaml refuses an alias that expands too far (ReferenceError "Excessive alias count ..."): a billion-laughs bomb.
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      return {file, ...startOf(doc.contents?.range?.[0] ?? 0), message: `refused: its aliases expand past ${MAX_ALIAS_COUNT} nodes (a YAML alias bomb, "billion laughs")`, kind: 'refused, an alias bomb'}
    }
    return {file, ...startOf(doc.contents?.range?.[0] ?? 0), message: `not valid YAML: ${(e as Error).message.split('\n')[0]}`, kind: 'not valid YAML'}
  }
  if (value === null || value === undefined) return undefined
  if (typeof value !== 'object') {
    return {file, ...startOf(doc.contents?.range?.[0] ?? 0), message: `not a YAML config: the document is a plain ${typeof value}, not a mapping`, kind: 'not a YAML config'}
  }
  const at = (parts: ReadonlyArray<string | number>): Position => {
    for (let n = parts.length; n >= 0; n--) {
      const node = doc.getIn(parts.slice(0, n), true) as {range?: [number, number, number]} | undefined
      if (node?.range) return {file, ...startOf(node.range[0])}
    }
    return {file, ...startOf(doc.contents?.range?.[0] ?? 0)}
  }
  out.push({
    file, index, value, at,
    inside(parts, line, column) {
      const node = doc.getIn(parts, true)
      if (!isScalar(node) || node.type !== Scalar.BLOCK_LITERAL || !node.range) return at(parts)
      // The header (|, |-) is on the key's line; the text starts on the next, at the block's indentation.
      const header = lineCounter.linePos(node.range[0]).line
      const indent = /^ */.exec(text.split('\n')[header] ?? '')![0].length
      return {file, line: header + line, column: indent + column}
    },
  })
  return undefined
}

/**
 * YAML embedded in a string of a document (kubeadm's kube-proxy ConfigMap: data."config.conf"), as a document
 * whose positions are in the outer file; undefined when it is not a YAML mapping.
 */
export function embeddedDocument(outer: LintDocument, parts: ReadonlyArray<string | number>, text: string): LintDocument | undefined {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter})
  if (doc.errors.length > 0) return undefined
  let value: unknown
  try {
    value = doc.toJS({maxAliasCount: MAX_ALIAS_COUNT})
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const at = (inner: ReadonlyArray<string | number>): Position => {
    for (let n = inner.length; n >= 0; n--) {
      const node = doc.getIn(inner.slice(0, n), true) as {range?: [number, number, number]} | undefined
      if (node?.range) {
        const pos = lineCounter.linePos(node.range[0])
        return outer.inside(parts, pos.line, pos.col)
      }
    }
    return outer.at(parts)
  }
  return {file: outer.file, index: outer.index, value, at, inside: () => outer.at(parts)}
}
