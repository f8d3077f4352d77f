// Reading a node's sysctls through the API: exec into a pod with host networking on that node (calico-node
// by preference), whose /proc/sys is the node's.
import type {ClusterClient} from './kube.js'
import type {PodDetail} from './types.js'

/** A Running pod with host networking on the node, preferring calico-node. */
export function hostPodOn(pods: readonly PodDetail[], node: string): PodDetail | undefined {
  const candidates = pods.filter((p) => p.spec?.nodeName === node && p.spec?.hostNetwork && p.status?.phase === 'Running')
  return candidates.find((p) => p.metadata?.labels?.['k8s-app'] === 'calico-node') ?? candidates[0]
}

/** net.ipv6.conf.all.forwarding of the pod's node: the value, or why it could not be read. */
export async function readIpv6Forwarding(client: ClusterClient, pod: PodDetail, timeoutMs: number): Promise<{value?: string; error?: string}> {
  const container = pod.spec?.containers?.find((c) => c.name === 'calico-node')?.name ?? pod.spec?.containers?.[0]?.name ?? ''
  try {
    const result = await client.exec(pod.metadata!.namespace!, pod.metadata!.name!, container, ['cat', '/proc/sys/net/ipv6/conf/all/forwarding'], timeoutMs)
    if (result.timedOut) return {error: `exec timed out after ${timeoutMs / 1000}s`}
    if (result.exitCode !== 0) return {error: `exec exited ${result.exitCode}: ${result.stderr.trim()}`}
    return {value: result.stdout.trim()}
  } catch (error) {
    return {error: (error as Error).message}
  }
}
