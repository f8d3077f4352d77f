// Before any change, the object as it is goes to a YAML file that `kubectl apply -f` restores.
import {constants} from 'node:fs'
import {access, mkdir, open, stat} from 'node:fs/promises'
import {homedir} from 'node:os'
import path from 'node:path'
import {stringify} from 'yaml'

import type {KubeObject, Target} from '../cluster/types.js'
import {UsageError} from '../errors.js'

export function defaultBackupDir(): string {
  return path.join(process.env.HOME ?? homedir(), '.kube', 'dualstack-backups')
}

/** Only what apply needs: no uid, resourceVersion, timestamps or managed fields (they would make apply fail). */
export function restorable<T extends KubeObject & {spec?: unknown}>(obj: T): KubeObject & {spec?: unknown} {
  const meta = obj.metadata ?? {}
  const annotations = Object.fromEntries(Object.entries(meta.annotations ?? {}).filter(([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration'))
  return {
    apiVersion: obj.apiVersion, kind: obj.kind,
    metadata: {name: meta.name, ...(meta.labels && Object.keys(meta.labels).length > 0 ? {labels: meta.labels} : {}),
      ...(Object.keys(annotations).length > 0 ? {annotations} : {})},
    ...(obj.spec !== undefined ? {spec: obj.spec} : {}),
  }
}

/** A file name that says what, where and when, safe whatever the context is called. */
function fileName(obj: KubeObject, target: Target, now: Date): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80)
  const stamp = now.toISOString().replace(/[:.]/g, '').replace(/Z$/, 'Z')
  return `${safe((obj.kind ?? 'object').toLowerCase())}-${safe(obj.metadata?.name ?? 'unnamed')}-${safe(target.context)}-${stamp}.yaml`
}

/** How long one file-system call may take: a hung network mount must not hold a run (or its Ctrl-C) for ever. */
export const FS_TIMEOUT_MS = 10_000

/** A file-system call that gives up after FS_TIMEOUT_MS (async, so Ctrl-C is still heard while it waits). */
export async function bounded<T>(what: string, call: Promise<T>, timeoutMs = FS_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs / 1000}s (a hung mount?)`)), timeoutMs)
    timer.unref()
  })
  try {
    return await Promise.race([call, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Makes the backup directory (and its parents) and checks it is writable; a UsageError saying why not.
 * One level at a time: Node's recursive mkdir never returns under /proc (it retries ENOENT there for ever).
 */
export async function ensureBackupDir(dir: string, timeoutMs = FS_TIMEOUT_MS): Promise<void> {
  const absolute = path.resolve(dir)
  try {
    const missing: string[] = []
    for (let at = absolute; ; at = path.dirname(at)) {
      try {
        if (!(await bounded(`stat ${at}`, stat(at), timeoutMs)).isDirectory()) throw new Error(`${at} is not a directory`)
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || at === path.dirname(at)) throw error
        missing.unshift(at)
      }
    }
    for (const level of missing) await bounded(`mkdir ${level}`, mkdir(level, {mode: 0o700}), timeoutMs)
    await bounded(`access ${absolute}`, access(absolute, constants.W_OK), timeoutMs)
  } catch (error) {
    throw new UsageError(`cannot use the backup directory ${dir}: ${(error as Error).message}`, 'pass --backup-dir DIR with a writable directory')
  }
}

/** Writes the backup (mode 0600, flushed to disk) and returns its path. */
export async function writeBackup(dir: string, obj: KubeObject & {spec?: unknown}, target: Target, now = new Date(), timeoutMs = FS_TIMEOUT_MS): Promise<string> {
  await ensureBackupDir(dir, timeoutMs)
  const file = path.join(dir, fileName(obj, target, now))
  const text = [
    `# ${obj.kind} ${obj.metadata?.name} from context "${target.context}" (${target.server}), saved by kubectl-dualstack at ${now.toISOString()}`,
    `# restore: kubectl --context ${JSON.stringify(target.context)} apply -f ${JSON.stringify(file)}`,
    stringify(restorable(obj), {lineWidth: 0}),
  ].join('\n')
  let handle: Awaited<ReturnType<typeof open>> | undefined
  try {
    handle = await bounded(`open ${file}`, open(file, 'wx', 0o600), timeoutMs)
    await bounded(`write ${file}`, handle.writeFile(text), timeoutMs)
    await bounded(`fsync ${file}`, handle.sync(), timeoutMs)
  } catch (error) {
    throw new UsageError(`cannot write the backup ${file}: ${(error as Error).message}`, 'pass --backup-dir DIR with a writable directory')
  } finally {
    await handle?.close().catch(() => undefined)
  }
  return file
}
