// An object a command made that is not gone after its clean-up: one it could not delete (the command that
// deletes it), or one deleted and still there, Terminating (what holds it, and the command that lets it go).

/** What to say of an object that could not be deleted: which, why, and the kubectl command that deletes it. */
export function leftBehind(kind: 'pod' | 'service' | 'namespace' | 'daemonset', name: string, namespace: string | undefined, error: unknown): string {
  const why = (error as Error)?.message ?? String(error)
  return `could not delete ${kind} ${namespace ? `${namespace}/` : ''}${name} (${why}); delete it with: kubectl delete ${kind} ${namespace ? `-n ${namespace} ` : ''}${name}`
}

/**
 * What removes an object that was deleted and is still there: with finalizers, clearing them; a pod none
 * holds (its kubelet gone), deleting it by force; anything else, a look at it.
 */
export function removal(kind: string, ref: {namespace?: string; name: string}, finalizers: readonly string[]): {held: string; command: string} {
  const ns = ref.namespace ? `-n ${ref.namespace} ` : ''
  if (finalizers.length > 0) {
    return {held: ` (finalizers: ${finalizers.join(', ')})`, command: `it goes once they are removed: kubectl ${ns}patch ${kind} ${ref.name} --type merge -p '{"metadata":{"finalizers":null}}'`}
  }
  return kind === 'pod'
    ? {held: '', command: `remove it with: kubectl ${ns}delete pod ${ref.name} --grace-period=0 --force`}
    : {held: '', command: `see what keeps it: kubectl ${ns}get ${kind} ${ref.name} -o yaml`}
}

/** The command that releases a pod held Terminating: its finalizers removed, or a forced delete when none is left. */
export function releaseCommand(pod: {namespace: string; name: string}, finalizers: readonly string[]): string {
  return removal('pod', pod, finalizers).command.replace(/^[^:]*: /, '')
}

/** What to say of an object that was deleted and is still there: what holds it, and the command that removes it. */
export function stillTerminating(ref: {namespace?: string; name: string}, finalizers: readonly string[], waitedMs: number, kind = 'pod'): string {
  const {held, command} = removal(kind, ref, finalizers)
  return `${kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} is still Terminating ${waitedMs / 1000}s after it was deleted${held}; ${command}`
}
