// Every repair's definition, for what reads another command's journal (doctor): which run a journal in the
// Lease is, how far it got, and the commands that finish or undo it.
import {CALICO_RESTART} from './calico-restart.js'
import {isInvalid, isUnfinished, parseJournal, unfinishedText, type RepairCommand} from './engine/journal.js'
import {finishHint, type RepairDefinition} from './engine/run.js'
import {POOL_FIX} from './ippool/run.js'
import {PODS_RECREATE} from './pods-recreate.js'
import {SERVICES_DUAL} from './services/run.js'

const DEFINITIONS: readonly RepairDefinition[] = [POOL_FIX, CALICO_RESTART, PODS_RECREATE, SERVICES_DUAL]

export interface UnfinishedRun {
  command?: RepairCommand
  /** unfinishedText: which run, started when, how far it got, the next step. */
  text: string
  /** The commands that finish it (and, for ippool fix, undo it). */
  finish: string
  /** The pools an unfinished ippool fix is changing: the one it fixes and the one it makes (a migration's new pool). */
  pools: string[]
}

/** A journal read from the Lease, said as the command that wrote it would say it; undefined when the run is over. */
export function describeUnfinished(raw: unknown, namespace: string): UnfinishedRun | undefined {
  if (!isUnfinished(raw)) return undefined
  const command = (raw as {command?: unknown}).command
  const definition = DEFINITIONS.find((d) => d.command === command)
  if (!definition) return {text: unfinishedText(raw), finish: `look at it (kubectl -n ${namespace} get lease kubectl-dualstack -o yaml); it was written by another version of kubectl-dualstack`, pools: []}
  const journal = parseJournal(raw, definition.command, definition.kinds, definition.validateParams, definition.validateOriginal)
  if (isInvalid(journal)) {
    return {command: definition.command, text: `${unfinishedText(raw)}; its journal cannot be trusted: ${journal.invalid}`,
      finish: `look at it (kubectl -n ${namespace} get lease kubectl-dualstack -o yaml), put things right by hand from the backups, then delete the Lease`, pools: []}
  }
  const text = unfinishedText(journal, definition.kinds, definition.summarize?.(journal.params as never))
  if (definition.command !== 'ippool fix') return {command: definition.command, text, finish: finishHint(definition.command, false, raw, namespace).replace(/ first: /, ': '), pools: []}
  const params = journal.params as {pool: string; to: {name: string}}
  return {
    command: definition.command, text,
    finish: 'kubectl dualstack ippool fix --resume finishes it, kubectl dualstack ippool fix --rollback puts the original back (each shows what is left and asks first; add --dry-run to only look)',
    pools: [...new Set([params.pool, params.to.name])],
  }
}
