// Reading a node's sysctls through the API: exec into a pod with host networking on that node (calico-node
// by preference), whose /proc/sys is the node's.
import type {ClusterClient} from './kube.js'
import {findCalicoNode} from './resources.js'
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

/**
 * net.ipv6.conf.all.forwarding of nodes, read lazily through their calico-node pods as doctor does, once per
 * node: the likely cause svc-check and connectivity name for failed probes, and what connectivity's sample keeps.
 */
export class ForwardingReader {
  private hostPods?: Promise<PodDetail[]>
  private readonly values = new Map<string, Promise<string | undefined>>()

  constructor(private readonly client: ClusterClient) {}

  /** The nodes among these whose net.ipv6.conf.all.forwarding reads 0 (unreadable nodes are left out). */
  async ipv6ForwardingOff(nodes: Iterable<string | undefined>): Promise<string[]> {
    const off: string[] = []
    for (const node of new Set(nodes)) if (node && (await this.read(node)) === '0') off.push(node)
    return off
  }

  private read(node: string): Promise<string | undefined> {
    let value = this.values.get(node)
    if (!value) {
      value = this.readNode(node)
      this.values.set(node, value)
    }
    return value
  }

  private async calicoNodePods(): Promise<PodDetail[]> {
    const found = await findCalicoNode(this.client).catch(() => undefined)
    if (!found) return []
    return this.client.listAll<PodDetail>(`/api/v1/namespaces/${found.namespace}/pods`, {labelSelector: 'k8s-app=calico-node'}).catch(() => [])
  }

  private async readNode(node: string): Promise<string | undefined> {
    // No permission to list or exec, or no Calico: no cause to offer, and the caller points to doctor.
    this.hostPods ??= this.calicoNodePods()
    const pod = hostPodOn(await this.hostPods, node)
    return pod ? (await readIpv6Forwarding(this.client, pod, 10_000)).value : undefined
  }
}
