// Who manages an IP pool and would put it back if it were changed behind their back: the Tigera operator,
// Argo CD, Flux or Helm, read from the pool's labels and annotations. doctor's fixes and ippool fix's
// refusals say from it where the change is made instead (the Installation, or the manifest in Git).
import type {IPPoolObject} from '../cluster/types.js'
import {parseCidr} from '../net/ip.js'
import {installationPools, type CalicoInstall, type InstallationObject} from './install.js'

export interface PoolManager {
  operator: boolean
  /** Who it is, and how that was seen: `Argo CD application "calico" (annotation argocd.argoproj.io/tracking-id)`. */
  text: string
  /** Where the pool's definition is changed instead, in a line. */
  fix: string
  /** Where the pool's manifest lives: `Argo CD application "calico"'s source in Git`. */
  source: string
  /** What is done after changing it there: `sync it` (otherwise ...). */
  then: string
}

/** A field of the pool as it is and as it should be, for "spec.cidr from A to B". */
export interface FieldChange {
  field: string
  from: unknown
  to: unknown
}

const shown = (value: unknown) => (value === undefined || value === null ? '(unset)' : typeof value === 'string' ? value : JSON.stringify(value))

export function poolManager(pool: IPPoolObject, install: CalicoInstall, installation: InstallationObject | undefined): PoolManager | undefined {
  const labels = pool.metadata?.labels ?? {}
  const name = pool.metadata?.name ?? ''
  const inInstallation = installationPools(installation).some((p) => p.name === name || (p.cidr && parseCidr(p.cidr)?.text === parseCidr(pool.spec?.cidr ?? '')?.text))
  if (install.operator && (inInstallation || labels['app.kubernetes.io/managed-by'] === 'tigera-operator')) {
    return {operator: true, text: `the Tigera operator (it is in the Installation "default", spec.calicoNetwork.ipPools)`,
      fix: 'change the pool in the Installation instead: kubectl edit installation default (spec.calicoNetwork.ipPools); see docs.tigera.io "Migrate from one IP pool to another" for operator installs',
      source: 'the Installation "default"', then: 'the operator applies it'}
  }
  return objectManager(pool, `IPPool ${name}`, 'pool')
}

/**
 * Who manages an object and would put it back if it were changed with kubectl: Argo CD, Flux or Helm, read
 * from its labels and annotations. `what` names the object in sentences ("Service shop/web"), `noun` its kind
 * for the chart's values ("pool", "Service").
 */
export function objectManager(obj: {metadata?: {labels?: Record<string, string>; annotations?: Record<string, string>}}, what: string, noun: string): PoolManager | undefined {
  const labels = obj.metadata?.labels ?? {}
  const annotations = obj.metadata?.annotations ?? {}
  const argo = (app: string, how: string): PoolManager => ({operator: false, text: `Argo CD application "${app}" (${how})`,
    fix: `change the ${what} in application "${app}"'s source in Git and sync it; otherwise Argo CD puts it back`,
    source: `the ${what} manifest of Argo CD application "${app}" (its source in Git)`, then: `sync application "${app}" (argocd app sync ${app}); a change made with kubectl is put back by Argo CD`})
  const tracking = annotations['argocd.argoproj.io/tracking-id']
  if (tracking || labels['argocd.argoproj.io/instance']) {
    return tracking ? argo(tracking.split(':')[0]!, 'annotation argocd.argoproj.io/tracking-id') : argo(labels['argocd.argoproj.io/instance']!, 'label argocd.argoproj.io/instance')
  }
  for (const kind of ['kustomize', 'helm'] as const) {
    const owner = labels[`${kind}.toolkit.fluxcd.io/name`]
    if (owner) {
      const ns = labels[`${kind}.toolkit.fluxcd.io/namespace`] ?? 'flux-system'
      const flux = kind === 'kustomize' ? 'Kustomization' : 'HelmRelease'
      return {operator: false, text: `Flux ${flux} ${ns}/${owner} (label ${kind}.toolkit.fluxcd.io/name)`,
        fix: `change the ${what} in the Git source of Flux ${flux} ${ns}/${owner}; otherwise Flux puts it back at its next reconcile`,
        source: `the ${what} manifest in the Git source of Flux ${flux} ${ns}/${owner}`, then: 'let Flux reconcile it; a change made with kubectl is put back at its next reconcile'}
    }
  }
  const release = annotations['meta.helm.sh/release-name']
  if (release || labels['app.kubernetes.io/managed-by'] === 'Helm') {
    const ns = annotations['meta.helm.sh/release-namespace'] ?? ''
    const which = release ? `"${release}"${ns ? ` in ${ns}` : ''}` : '(label app.kubernetes.io/managed-by=Helm)'
    return {operator: false, text: `Helm release ${which}`,
      fix: `change the ${noun} in the chart's values (kept in Git) and upgrade the release; otherwise the next upgrade puts it back`,
      source: `the chart's values of Helm release ${which} (kept in Git)`, then: 'upgrade the release; a change made with kubectl is put back by the next upgrade'}
  }
  if (labels['app.kubernetes.io/instance'] && !release) {
    return argo(labels['app.kubernetes.io/instance'], 'label app.kubernetes.io/instance, Argo CD\'s tracking label')
  }
  return undefined
}

/** What to change where the pool is managed: each field, from and to, and what to do then. */
export function managedPoolFix(manager: PoolManager, changes: readonly FieldChange[]): string {
  // The Installation names a pool's fields its own way (natOutgoing: Enabled, encapsulation): its own fix says where.
  if (changes.length === 0 || manager.operator) return manager.fix
  return `in ${manager.source} change ${changes.map((c) => `spec.${c.field} from ${shown(c.from)} to ${shown(c.to)}`).join(', ')}, then ${manager.then}`
}
