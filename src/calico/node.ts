// Locating calico-node and reading its configuration from the facts doctor gathers.
import type {DaemonSetObject} from '../cluster/types.js'
import {resolveEnv, type ResolvedEnvValue} from './env.js'

/** The calico-node DaemonSet: kube-system for manifest/Helm installs, calico-system for the operator. */
export function calicoNodeDaemonSet(daemonSets: readonly DaemonSetObject[]): DaemonSetObject | undefined {
  return daemonSets.find((ds) => ds.metadata?.name === 'calico-node' && ds.metadata?.namespace === 'kube-system')
    ?? daemonSets.find((ds) => ds.metadata?.name === 'calico-node')
}

export function calicoNodeContainer(ds: DaemonSetObject) {
  const containers = ds.spec?.template?.spec?.containers ?? []
  return containers.find((c) => c.name === 'calico-node') ?? containers[0]
}

export function calicoNodeEnv(ds: DaemonSetObject, configMaps: ReadonlyMap<string, Record<string, string>>): Map<string, ResolvedEnvValue> {
  return resolveEnv(calicoNodeContainer(ds)?.env ?? [], configMaps)
}
