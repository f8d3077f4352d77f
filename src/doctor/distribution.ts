// Which distribution built the cluster, from what it shows (doctor explains what it cannot see by it).
import {imageTag} from '../calico/env.js'
import {calicoNodeContainer, calicoNodeDaemonSet} from '../calico/node.js'
import type {Facts} from './facts.js'

/** Calico's version from calico-node's image tag; null when there is no calico-node to be seen. */
export function calicoVersion(f: Facts): string | null {
  const ds = f.daemonSets.ok ? calicoNodeDaemonSet(f.daemonSets.value) : undefined
  if (!ds) return null
  return imageTag(calicoNodeContainer(ds)?.image) ?? 'unknown version'
}

export function detectDistribution(f: Facts): string {
  const version = f.version.gitVersion
  if (/\+k3s/.test(version)) return 'k3s'
  if (/\+rke2/.test(version)) return 'rke2'
  const nodes = f.nodes.ok ? f.nodes.value : []
  const labels = nodes.map((n) => n.metadata?.labels ?? {})
  const annotations = nodes.map((n) => n.metadata?.annotations ?? {})
  if (labels.some((l) => l['node-role.kubernetes.io/controlplane'] === 'true') || annotations.some((a) => Object.keys(a).some((k) => k.startsWith('rke.cattle.io/')))) return 'rke'
  const pods = f.systemPods.ok ? f.systemPods.value : []
  if ((f.configMaps.ok && f.configMaps.value.has('kubeadm-config')) || pods.some((p) => p.metadata?.labels?.component === 'kube-apiserver' && p.metadata.labels.tier === 'control-plane')) return 'kubeadm'
  return 'unknown'
}
