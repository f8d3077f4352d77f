// Label and field selectors with kube-apiserver's grammar and errors.

export class SelectorError extends Error {}

type Requirement =
  | {op: 'in' | 'notin'; key: string; values: string[]}
  | {op: 'exists' | '!exists'; key: string}
  | {op: '=' | '!='; key: string; values: [string]}
  | {op: 'gt' | 'lt'; key: string; values: [string]}

export type LabelSelector = Requirement[]

// Split on commas that are not inside parentheses: "env in (a,b),tier!=db".
function splitTerms(text: string): string[] {
  const terms: string[] = []
  let depth = 0
  let current = ''
  for (const ch of text) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      terms.push(current)
      current = ''
    } else current += ch
  }
  terms.push(current)
  return terms.map((t) => t.trim()).filter((t) => t !== '')
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_./]*[a-z0-9A-Z])?)$/
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new SelectorError(`unable to parse requirement: invalid label key "${key}"`)
  return key
}

function checkValue(value: string): string {
  if (!VALUE.test(value)) throw new SelectorError(`unable to parse requirement: invalid label value: "${value}"`)
  return value
}

export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text) return []
  return splitTerms(text).map((term): Requirement => {
    let m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(term)
    if (m) return {op: m[2] as 'in' | 'notin', key: checkKey(m[1]!), values: m[3]!.split(',').map((v) => checkValue(v.trim()))}
    m = /^!\s*(\S+)$/.exec(term)
    if (m) return {op: '!exists', key: checkKey(m[1]!)}
    m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(term)
    if (m) {
      const op = m[2] === '==' ? '=' : m[2] === '>' ? 'gt' : m[2] === '<' ? 'lt' : (m[2] as '=' | '!=')
      const value = m[3]!.trim()
      if ((op === 'gt' || op === 'lt') && !/^-?\d+$/.test(value)) throw new SelectorError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`)
      return {op, key: checkKey(m[1]!), values: [checkValue(value)]}
    }
    if (KEY.test(term)) return {op: 'exists', key: term}
    throw new SelectorError(`unable to parse requirement: found '${term}', expected: identifier`)
  })
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {}
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key)
    const value = l[r.key]
    switch (r.op) {
      case 'exists':
        return has
      case '!exists':
        return !has
      case '=':
        return has && value === r.values[0]
      case '!=':
        return !has || value !== r.values[0]
      case 'in':
        return has && r.values.includes(value!)
      case 'notin':
        return !has || !r.values.includes(value!)
      case 'gt':
        return has && Number(value) > Number(r.values[0])
      case 'lt':
        return has && Number(value) < Number(r.values[0])
    }
  })
}

/** A selector given as a matchLabels/matchExpressions object (DaemonSet, Deployment). */
export function matchesLabelSelectorObject(
  selector: {matchLabels?: Record<string, string>; matchExpressions?: Array<{key: string; operator: string; values?: string[]}>} | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false
  const l = labels ?? {}
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false
  for (const e of selector.matchExpressions ?? []) {
    const has = k(e.key)
    if (e.operator === 'In' && !(has && e.values?.includes(l[e.key]!))) return false
    if (e.operator === 'NotIn' && has && e.values?.includes(l[e.key]!)) return false
    if (e.operator === 'Exists' && !has) return false
    if (e.operator === 'DoesNotExist' && has) return false
  }
  return true
  function k(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(l, key)
  }
}

export interface FieldRequirement {
  field: string
  op: '=' | '!='
  value: string
}

export function parseFieldSelector(text: string | null | undefined, allowed: readonly string[]): FieldRequirement[] {
  if (!text) return []
  return text.split(',').map((term) => term.trim()).filter((t) => t !== '').map((term) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term)
    if (!m) throw new SelectorError(`invalid selector: '${term}'; can't understand '${term}'`)
    const field = m[1]!.trim()
    if (!['metadata.name', 'metadata.namespace', ...allowed].includes(field)) {
      throw new SelectorError(`field label not supported: ${field}`)
    }
    return {field, op: m[2] === '!=' ? '!=' : '=', value: m[3]!.trim()}
  })
}

/** Reads a dotted field path the way the apiserver's field-set functions do (bools as "true"/"false"). */
export function fieldValue(obj: unknown, field: string): string {
  if (field === 'status.podIPs') {
    const ips = (obj as {status?: {podIPs?: Array<{ip: string}>}}).status?.podIPs ?? []
    return ips.map((p) => p.ip).join(',')
  }
  if (field === 'spec.hostNetwork') return String((obj as {spec?: {hostNetwork?: boolean}}).spec?.hostNetwork === true)
  if (field === 'spec.unschedulable') return String((obj as {spec?: {unschedulable?: boolean}}).spec?.unschedulable === true)
  let current: unknown = obj
  for (const part of field.split('.')) {
    if (current === null || typeof current !== 'object') return ''
    current = (current as Record<string, unknown>)[part]
  }
  return current === undefined || current === null ? '' : String(current)
}

export function matchesFields(reqs: FieldRequirement[], obj: unknown): boolean {
  return reqs.every((r) => {
    if (r.field === 'status.podIPs') {
      const ips = fieldValue(obj, r.field).split(',')
      return r.op === '=' ? ips.includes(r.value) : !ips.includes(r.value)
    }
    const value = fieldValue(obj, r.field)
    return r.op === '=' ? value === r.value : value !== r.value
  })
}
