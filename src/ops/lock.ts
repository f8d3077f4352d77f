// One repair at a time per cluster: a coordination.k8s.io Lease in Calico's namespace. It also holds the run's
// journal (what it set out to do, the original objects, how far it got), so that a run killed half-way can
// be finished or undone later, from this machine or another one.
import {hostname, userInfo} from 'node:os'

import type {KubeObject} from '../cluster/types.js'
import {ApiError} from '../errors.js'
import {isUnfinished} from './engine/journal.js'
import type {RepairClient} from './engine/steps.js'

export const LOCK_NAME = 'kubectl-dualstack'
const JOURNAL_ANNOTATION = 'dualstack.kubectl.io/journal'
const HOLDER_ANNOTATION = 'dualstack.kubectl.io/holder'
export const LEASE_SECONDS = 60
const RENEW_EVERY_MS = 15_000

export interface Holder {
  user: string
  host: string
  pid: number
  command: string
}

interface LeaseObject extends KubeObject {
  spec?: {holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number}
}

export function holderText(holder: Holder): string {
  return `${holder.user}@${holder.host} (pid ${holder.pid}, ${holder.command})`
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export interface LeaseState {
  holder?: Holder
  holderIdentity?: string
  expiresAt?: Date
  /** Held by a live run: unexpired, and not a process of this machine that has died. */
  held: boolean
  journal?: unknown
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function readLease(lease: LeaseObject, now = Date.now()): LeaseState {
  const annotations = lease.metadata?.annotations ?? {}
  const parse = (text: string | undefined) => {
    try {
      return text ? JSON.parse(text) : undefined
    } catch {
      return undefined
    }
  }
  const holder = parse(annotations[HOLDER_ANNOTATION]) as Holder | undefined
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '')
  const expiresAt = Number.isNaN(renewed) ? undefined : new Date(renewed + (lease.spec?.leaseDurationSeconds ?? LEASE_SECONDS) * 1000)
  // A holder on this machine whose process is gone cannot finish: no need to wait for the Lease to expire.
  const deadHere = holder !== undefined && holder.host === hostname() && holder.pid !== process.pid && !processAlive(holder.pid)
  const held = Boolean(lease.spec?.holderIdentity) && expiresAt !== undefined && expiresAt.getTime() > now && !deadHere
  return {holder, holderIdentity: lease.spec?.holderIdentity, expiresAt, held, journal: parse(annotations[JOURNAL_ANNOTATION])}
}

export class LockHeldError extends Error {
  constructor(readonly state: LeaseState, namespace: string) {
    const who = state.holder ? holderText(state.holder) : state.holderIdentity ?? 'another run'
    const until = state.expiresAt ? ` until ${state.expiresAt.toISOString()} unless renewed (in ${Math.max(0, Math.ceil((state.expiresAt.getTime() - Date.now()) / 1000))}s)` : ''
    super(`another repair is running: Lease ${namespace}/${LOCK_NAME} is held by ${who}${until}`)
  }
}

/** What acquire found: the lock is ours, possibly with the journal of a run that did not finish. */
export interface Acquired {
  lock: RunLock
  /** The journal a previous run left (it stopped half-way), if any. */
  unfinished?: unknown
}

export class RunLock {
  private lease: LeaseObject
  private timer?: NodeJS.Timeout
  private chain: Promise<unknown> = Promise.resolve()
  private journalText: string
  lost?: string
  private released = false

  private constructor(private readonly client: RepairClient, readonly namespace: string, private readonly holder: Holder, lease: LeaseObject, journal: unknown) {
    this.lease = lease
    this.journalText = JSON.stringify(journal ?? null)
  }

  private static path(namespace: string, name = ''): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${name ? `/${name}` : ''}`
  }

  static holderFor(command: string, user: string): Holder {
    let local = 'unknown'
    try {
      local = userInfo().username
    } catch {
      // no passwd entry (containers)
    }
    return {user: `${local} as ${user}`, host: hostname(), pid: process.pid, command}
  }

  private static manifest(holder: Holder, journal: unknown, base?: LeaseObject): LeaseObject {
    const now = microTime()
    return {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: {
        ...(base?.metadata ?? {}), name: LOCK_NAME,
        labels: {...base?.metadata?.labels, 'app.kubernetes.io/managed-by': 'kubectl-dualstack'},
        annotations: {...base?.metadata?.annotations, [HOLDER_ANNOTATION]: JSON.stringify(holder), [JOURNAL_ANNOTATION]: JSON.stringify(journal ?? null)},
      },
      spec: {
        holderIdentity: holderText(holder), leaseDurationSeconds: LEASE_SECONDS, acquireTime: now, renewTime: now,
        leaseTransitions: (base?.spec?.leaseTransitions ?? -1) + 1,
      },
    }
  }

  /**
   * Takes the lock, or throws LockHeldError naming the holder and when its Lease expires. A Lease left by a
   * run that did not finish is taken over and its journal returned, for the caller to resume, roll back or refuse.
   */
  static async acquire(client: RepairClient, namespace: string, holder: Holder, journal: unknown): Promise<Acquired> {
    try {
      const created = await client.request<LeaseObject>('POST', RunLock.path(namespace), {body: RunLock.manifest(holder, journal)})
      return {lock: new RunLock(client, namespace, holder, created, journal).start()}
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 409)) return RunLock.ifTaken(client, namespace, holder, journal, error)
    }
    const existing = await client.request<LeaseObject>('GET', RunLock.path(namespace, LOCK_NAME))
    const state = readLease(existing)
    if (state.held) throw new LockHeldError(state, namespace)
    const unfinished = isUnfinished(state.journal) ? state.journal : undefined
    try {
      // The resourceVersion makes this a compare-and-swap: of two runs taking over at once, one gets 409.
      const taken = await client.request<LeaseObject>('PUT', RunLock.path(namespace, LOCK_NAME), {body: RunLock.manifest(holder, unfinished ?? journal, existing)})
      return {lock: new RunLock(client, namespace, holder, taken, unfinished ?? journal).start(), unfinished}
    } catch (error) {
      if (error instanceof ApiError && error.code === 409) {
        throw new LockHeldError(readLease(await client.request<LeaseObject>('GET', RunLock.path(namespace, LOCK_NAME))), namespace)
      }
      const adopted = await RunLock.ifTaken(client, namespace, holder, unfinished ?? journal, error)
      return {...adopted, unfinished}
    }
  }

  /**
   * A write of the Lease whose answer never came (the connection dropped, the API server restarted) may have
   * landed: read back, a Lease this run holds is this run's (released as any other), never left held for
   * others until it expires. Otherwise the write's error stands.
   */
  private static async ifTaken(client: RepairClient, namespace: string, holder: Holder, journal: unknown, error: unknown): Promise<Acquired> {
    if (error instanceof ApiError && error.code < 500 && error.code !== 429) throw error
    const now = await client.getIfExists<LeaseObject>(RunLock.path(namespace, LOCK_NAME)).catch(() => undefined)
    if (now && now.spec?.holderIdentity === holderText(holder) && now.metadata?.annotations?.[JOURNAL_ANNOTATION] === JSON.stringify(journal ?? null)) {
      return {lock: new RunLock(client, namespace, holder, now, journal).start()}
    }
    throw error
  }

  /** Looks without taking: who holds the lock, and any journal left behind. */
  static async peek(client: RepairClient, namespace: string): Promise<LeaseState | undefined> {
    const lease = await client.getIfExists<LeaseObject>(RunLock.path(namespace, LOCK_NAME))
    return lease ? readLease(lease) : undefined
  }

  private start(): this {
    this.timer = setInterval(() => void this.write().catch(() => undefined), RENEW_EVERY_MS)
    this.timer.unref()
    return this
  }

  /** Writes the journal (and renews the Lease). Writes are serialised; a lost Lease is an error. */
  async record(journal: unknown): Promise<void> {
    this.journalText = JSON.stringify(journal)
    await this.write()
  }

  private write(): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.lost) throw new Error(this.lost)
      const body = RunLock.manifest(this.holder, JSON.parse(this.journalText), this.lease)
      body.spec!.acquireTime = this.lease.spec?.acquireTime
      body.spec!.leaseTransitions = this.lease.spec?.leaseTransitions
      try {
        this.lease = await this.client.request<LeaseObject>('PUT', RunLock.path(this.namespace, LOCK_NAME), {body})
      } catch (error) {
        if (!(error instanceof ApiError && (error.code === 409 || error.code === 404))) throw error
        // A conflict is not proof of a takeover: read it again, and carry on if it is still ours.
        const now = await this.client.getIfExists<LeaseObject>(RunLock.path(this.namespace, LOCK_NAME))
        if (now && now.spec?.holderIdentity === holderText(this.holder)) {
          this.lease = now
          const retry = RunLock.manifest(this.holder, JSON.parse(this.journalText), now)
          retry.spec = {...retry.spec, acquireTime: now.spec?.acquireTime, leaseTransitions: now.spec?.leaseTransitions}
          this.lease = await this.client.request<LeaseObject>('PUT', RunLock.path(this.namespace, LOCK_NAME), {body: retry})
          return
        }
        this.lost = `the Lease ${this.namespace}/${LOCK_NAME} was ${now ? `taken by ${now.spec?.holderIdentity ?? 'another run'}` : 'removed by someone else'} while this run held it`
        throw new Error(this.lost, {cause: error})
      }
    })
    this.chain = next.catch(() => undefined)
    return next
  }

  /**
   * Gives the lock up. With a journal that is not finished, the Lease stays (unheld) so a later run can finish.
   * Never throws: the work is done by now. Returns what went wrong, if the Lease could not be released.
   */
  async release(journal?: unknown): Promise<string | undefined> {
    // Once: a failed run's clean-up and its finally may both ask.
    if (this.released) return undefined
    this.released = true
    clearInterval(this.timer)
    await this.chain
    if (this.lost) return undefined
    const unheld = async (kept: unknown) => {
      const body = RunLock.manifest(this.holder, kept, this.lease)
      body.spec = {...body.spec, holderIdentity: undefined, renewTime: undefined}
      this.lease = await this.client.request<LeaseObject>('PUT', RunLock.path(this.namespace, LOCK_NAME), {body})
    }
    try {
      if (journal !== undefined) return void (await unheld(journal))
      await this.client.deleteConfirmed(RunLock.path(this.namespace, LOCK_NAME))
      return undefined
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return undefined
      // Leave at least a journal that says the run finished, so no later run thinks it is half-done.
      const finished = journal ?? {...(JSON.parse(this.journalText) as object), state: 'finished'}
      await unheld(finished).catch(() => undefined)
      return `the Lease ${this.namespace}/${LOCK_NAME} could not be released (${(error as Error).message}); it expires within ${LEASE_SECONDS}s`
    }
  }
}
