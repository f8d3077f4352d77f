// A pod that was deleted and is still there (Terminating): what holds it, and the command that lets it go.

/** The command that releases a pod held Terminating: its finalizers removed, or a forced delete when none is left. */
export function releaseCommand(pod: {namespace: string; name: string}, finalizers: readonly string[]): string {
  return finalizers.length > 0
    ? `kubectl -n ${pod.namespace} patch pod ${pod.name} --type merge -p '{"metadata":{"finalizers":null}}'`
    : `kubectl -n ${pod.namespace} delete pod ${pod.name} --grace-period=0 --force`
}

/** What to say of a pod that was deleted and is still there: what holds it, and the command that removes it. */
export function stillTerminating(pod: {namespace: string; name: string}, finalizers: readonly string[], waitedMs: number): string {
  const after = `pod ${pod.namespace}/${pod.name} is still Terminating ${waitedMs / 1000}s after it was deleted`
  return finalizers.length > 0
    ? `${after} (finalizers: ${finalizers.join(', ')}); it goes once they are removed: ${releaseCommand(pod, finalizers)}`
    : `${after}; remove it with: ${releaseCommand(pod, finalizers)}`
}
