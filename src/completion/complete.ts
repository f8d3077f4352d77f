// Shell completion in cobra's protocol, which kubectl (>= 1.26) speaks to plugins: kubectl runs
// `kubectl_complete-dualstack ARGS... PARTIAL` and reads one candidate per line ("value\tdescription"),
// then ":N", N a bitmask telling the shell what else to do. The words are read here against each command's
// own oclif flags and args, so a new flag completes without being listed twice.

/** cobra's ShellCompDirective bits. */
export const Directive = {
  Default: 0,
  Error: 1,
  NoSpace: 2,
  NoFileComp: 4,
  FilterDirs: 16,
} as const

export interface Candidate {
  value: string
  description?: string
}

export interface Completion {
  candidates: Candidate[]
  directive: number
}

/** What the engine needs of an oclif flag or arg (a subset of oclif's own objects). */
export interface FlagSpec {
  type: 'boolean' | 'option'
  char?: string
  summary?: string
  description?: string
  options?: readonly string[]
  multiple?: boolean
  delimiter?: string
}
export interface ArgSpec {
  description?: string
}
export interface CommandSpec {
  summary?: string
  description?: string
  flags?: Record<string, FlagSpec>
  baseFlags?: Record<string, FlagSpec>
  args?: Record<string, ArgSpec>
  enableJsonFlag?: boolean
  strict?: boolean
}

/** Things only the cluster or the kubeconfig knows. Lookups that fail or time out return []. */
export type LookupKind = 'namespaces' | 'pods' | 'services' | 'contexts' | 'ippools'
export interface Connection {
  kubeconfig?: string
  context?: string
  namespace?: string
}
export type Lookup = (kind: LookupKind, connection: Connection) => Promise<string[]>

/** What a flag's or an argument's value is, where its name alone does not say. */
type ValueKind = LookupKind | 'check-ids' | 'files' | 'dirs' | 'shells'
const FLAG_VALUES: Record<string, ValueKind> = {
  namespace: 'namespaces',
  context: 'contexts',
  kubeconfig: 'files',
  from: 'pods',
  'in-pool': 'ippools',
  only: 'check-ids',
  skip: 'check-ids',
  'backup-dir': 'dirs',
}
const ARG_VALUES: Record<string, Record<string, ValueKind>> = {
  'pod-ips': {name: 'pods'},
  'svc-check': {service: 'services'},
  'services:dual': {names: 'services'},
  lint: {paths: 'files'},
  completion: {shell: 'shells'},
}

export interface CompletionContext {
  commands: Record<string, CommandSpec>
  topics: Record<string, string>
  checkIds: readonly string[]
  shells: readonly string[]
  lookup: Lookup
}

function summaryOf(text: string | undefined): string | undefined {
  return text?.split('\n')[0]
}

function allFlags(command: CommandSpec): Record<string, FlagSpec> {
  const flags: Record<string, FlagSpec> = {...command.baseFlags, ...command.flags}
  if (command.enableJsonFlag) flags.json = {type: 'boolean', summary: 'Format output as json'}
  flags.help = {type: 'boolean', summary: 'Show help for the command'}
  return flags
}

function flagByWord(flags: Record<string, FlagSpec>, word: string): [string, FlagSpec] | undefined {
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=')[0]!
    const flag = flags[name]
    return flag ? [name, flag] : undefined
  }
  if (/^-[^-]$/.test(word)) return Object.entries(flags).find(([, f]) => f.char === word[1])
  return undefined
}

function matching(values: Iterable<Candidate>, prefix: string): Candidate[] {
  return [...values].filter((c) => c.value.startsWith(prefix))
}

/** Completes the last word of `words` (the words after `kubectl dualstack`; the last may be ''). */
export async function complete(words: string[], ctx: CompletionContext): Promise<Completion> {
  const partial = words.at(-1) ?? ''
  const before = words.slice(0, -1)

  // The command: the leading words that name a topic and a command in it.
  let id: string | undefined
  let consumed = 0
  const first = before[0]
  if (first !== undefined && ctx.commands[first]) {
    id = first
    consumed = 1
  } else if (first !== undefined && ctx.topics[first] && before[1] !== undefined && ctx.commands[`${first}:${before[1]}`]) {
    id = `${first}:${before[1]}`
    consumed = 2
  }

  if (id === undefined) {
    if (before.length === 0) {
      const names = [
        ...Object.entries(ctx.commands).filter(([name]) => !name.includes(':')).map(([value, c]) => ({value, description: summaryOf(c.summary ?? c.description)})),
        ...Object.entries(ctx.topics).map(([value, description]) => ({value, description: summaryOf(description)})),
      ].sort((a, b) => a.value.localeCompare(b.value))
      return {candidates: matching(names, partial), directive: Directive.NoFileComp}
    }
    if (before.length === 1 && first !== undefined && ctx.topics[first]) {
      const names = Object.entries(ctx.commands)
        .filter(([name]) => name.startsWith(`${first}:`))
        .map(([name, c]) => ({value: name.slice(first.length + 1), description: summaryOf(c.summary ?? c.description)}))
      return {candidates: matching(names, partial), directive: Directive.NoFileComp}
    }
    return {candidates: [], directive: Directive.NoFileComp}
  }

  const command = ctx.commands[id]!
  const flags = allFlags(command)
  const connection: Connection = {}
  const positionals: string[] = []
  const given = new Set<string>()
  let pendingFlag: [string, FlagSpec] | undefined
  const rest = before.slice(consumed)
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!
    if (word === '--') {
      positionals.push(...rest.slice(i + 1))
      break
    }
    const flag = word.startsWith('-') ? flagByWord(flags, word) : undefined
    if (!flag) {
      if (!word.startsWith('-')) positionals.push(word)
      continue
    }
    given.add(flag[0])
    if (flag[1].type !== 'option') continue
    const inline = word.startsWith('--') && word.includes('=') ? word.slice(word.indexOf('=') + 1) : undefined
    if (inline === undefined && i === rest.length - 1) pendingFlag = flag
    const value = inline ?? rest[i + 1]
    if (value !== undefined && (flag[0] === 'kubeconfig' || flag[0] === 'context' || flag[0] === 'namespace')) connection[flag[0]] = value
    if (inline === undefined) i++ // the next word is this flag's value
  }

  // A flag's value: `--flag VALUE` (pending) or `--flag=VALUE` in the partial word.
  if (pendingFlag) return valueCompletion(pendingFlag[0], pendingFlag[1], partial, '', connection, ctx)
  if (partial.startsWith('--') && partial.includes('=')) {
    const flag = flagByWord(flags, partial)
    if (flag && flag[1].type === 'option') {
      const head = partial.slice(0, partial.indexOf('=') + 1)
      return valueCompletion(flag[0], flag[1], partial.slice(head.length), head, connection, ctx)
    }
    return {candidates: [], directive: Directive.NoFileComp}
  }
  if (partial.startsWith('-')) {
    const names: Candidate[] = []
    for (const [name, flag] of Object.entries(flags)) {
      if (given.has(name) && !flag.multiple) continue
      const description = summaryOf(flag.summary ?? flag.description)
      names.push({value: `--${name}`, description})
      if (flag.char && partial.length <= 2 && !partial.startsWith('--')) names.push({value: `-${flag.char}`, description})
    }
    return {candidates: matching(names, partial).sort((a, b) => a.value.localeCompare(b.value)), directive: Directive.NoFileComp}
  }

  // A positional argument.
  const argNames = Object.keys(command.args ?? {})
  const argName = command.strict === false ? argNames.at(-1) : argNames[positionals.length]
  const kind = argName ? ARG_VALUES[id]?.[argName] : undefined
  if (!kind) return {candidates: [], directive: Directive.NoFileComp}
  return kindCompletion(kind, partial, '', connection, ctx)
}

async function valueCompletion(name: string, flag: FlagSpec, partial: string, head: string, connection: Connection, ctx: CompletionContext): Promise<Completion> {
  if (flag.options) return {candidates: matching(flag.options.map((value) => ({value: head + value})), head + partial), directive: Directive.NoFileComp}
  const kind = FLAG_VALUES[name]
  if (!kind) return {candidates: [], directive: Directive.NoFileComp}
  // A comma-separated list (--only a,b,c): complete its last element.
  if (flag.delimiter) {
    const cut = partial.lastIndexOf(flag.delimiter) + 1
    return kindCompletion(kind, partial.slice(cut), head + partial.slice(0, cut), connection, ctx)
  }
  return kindCompletion(kind, partial, head, connection, ctx)
}

async function kindCompletion(kind: ValueKind, partial: string, head: string, connection: Connection, ctx: CompletionContext): Promise<Completion> {
  if (kind === 'files') return {candidates: [], directive: Directive.Default}
  if (kind === 'dirs') return {candidates: [], directive: Directive.FilterDirs}
  let values: readonly string[]
  let directive: number = Directive.NoFileComp
  if (kind === 'check-ids') {
    // Ids and their groups (calico, calico.ippool): a group is a prefix, so no space after it.
    const groups = new Set(ctx.checkIds.flatMap((checkId) => checkId.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))))
    values = [...ctx.checkIds, ...groups].sort()
  } else if (kind === 'shells') {
    values = ctx.shells
  } else {
    values = await ctx.lookup(kind, connection)
  }
  const candidates = matching(values.map((value) => ({value: head + value})), head + partial)
  if (kind === 'check-ids') directive |= Directive.NoSpace
  return {candidates, directive}
}

/** cobra's wire format. */
export function formatCompletion(completion: Completion): string {
  const lines = completion.candidates.map((c) => (c.description ? `${c.value}\t${c.description}` : c.value))
  return [...lines, `:${completion.directive}`].join('\n') + '\n'
}
