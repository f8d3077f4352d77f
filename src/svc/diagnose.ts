// Likely causes for failed probes: IPv6 forwarding off on a node, read through its calico-node pod as
// doctor does. Read lazily, once per node, and only when something failed.
import type {ClusterClient} from '../cluster/kube.js'
import {hostPodOn, readIpv6Forwarding} from '../cluster/node-sysctl.js'
import {findCalicoNode} from '../cluster/resources.js'
import type {PodDetail} from '../cluster/types.js'

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

export function forwardingCause(off: readonly string[]): string {
  return off.length > 0
    ? `; likely cause: IPv6 forwarding is off on node ${off.join(', ')} (kubectl dualstack doctor --only node.ipv6-forwarding)`
    : '; run kubectl dualstack doctor to find the cause'
}
