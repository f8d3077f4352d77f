import {holderText} from '../../ops/lock.js'
import {describeUnfinished} from '../../ops/repairs.js'
import {ApiError} from '../../errors.js'
import {fail, need, pass, skip, warn, type Check} from '../check.js'

export const unfinished: Check = {
  id: 'repairs.unfinished', title: 'No repair is left half-done', area: 'Repairs', needs: ['repairLease'],
  run(f) {
    const read = f.repairLease
    // Reading the Lease is a help, not a need: a user who may not read it is told what goes unseen.
    if (!read.ok && read.cause instanceof ApiError && read.cause.code === 403) {
      return skip(`the repairs' Lease cannot be read (${read.error}): a repair running now, or one left half-done, is not seen${read.cause.hint ? `; ${read.cause.hint}` : ''}`)
    }
    const {namespace, name, lease} = need(read)
    const where = `Lease ${namespace}/${name}`
    if (!lease) return pass(`no ${where}: no repair is running or left half-done`)
    if (lease.held) {
      const who = lease.holder ? holderText(lease.holder) : lease.holderIdentity ?? 'another run'
      return warn(`a repair is running now: ${where} is held by ${who}${lease.expiresAt ? ` until ${lease.expiresAt.toISOString()} unless renewed` : ''}; what it changes may be seen half-way`,
        'run doctor again once it has finished')
    }
    const run = describeUnfinished(lease.journal, namespace)
    if (!run) return pass(`${where} holds no unfinished run`)
    return fail(run.text, run.finish, {lease: where, command: run.command ?? null, pools: run.pools})
  },
}
