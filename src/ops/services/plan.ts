// services dual, the plan: which Services are converted from SingleStack to PreferDualStack or
// RequireDualStack, and why the others are not. Pure: the command reads the cluster, this decides.
import {objectManager} from '../../calico/managers.js'
import type {ServiceObject} from '../../cluster/types.js'
import {singleStackServices} from '../../doctor/checks/services.js'
import {addressFamily} from '../../net/ip.js'

export type DualPolicy = 'PreferDualStack' | 'RequireDualStack'
export type FamilyName = 'IPv4' | 'IPv6'
export const POLICIES: readonly DualPolicy[] = ['PreferDualStack', 'RequireDualStack']
export const FAMILIES: readonly FamilyName[] = ['IPv4', 'IPv6']

export type ServiceStatus = 'planned' | 'refused' | 'unchanged' | 'converted' | 'failed' | 'undone' | 'skipped'

/** A Service as the plan and the report show it. */
export interface ServiceRow {
  namespace: string
  name: string
  type: string
  headless: boolean
  policy: {from: string; to: string}
  families: {from: string[]; to: string[]}
  /** The ClusterIP family it gains (a headless Service gains the family, no address). */
  gains?: FamilyName
  status: ServiceStatus
  /** Why it is refused or unchanged, or how its step ended. */
  message?: string
  /** Who manages it (Helm, Argo CD, Flux), when someone does. */
  manager?: string
}

export interface PlanInput {
  /** The Services of the selection (names, namespace, label selector already applied by the read). */
  services: readonly ServiceObject[]
  /** Names asked for that were not found. */
  missing: readonly string[]
  namespace?: string
  policy: DualPolicy
  includeLoadBalancers: boolean
  force: boolean
  /** Names asked for: each is reported, even when it is nothing to convert. */
  named: boolean
}

const other = (family: FamilyName): FamilyName => (family === 'IPv4' ? 'IPv6' : 'IPv4')

/** The primary family of a Service: its first ipFamilies entry, else its ClusterIP's. */
export function primaryFamily(svc: ServiceObject): FamilyName | undefined {
  const first = svc.spec?.ipFamilies?.[0]
  if (first === 'IPv4' || first === 'IPv6') return first
  const family = addressFamily(svc.spec?.clusterIP ?? '')
  return family === 'ipv4' ? 'IPv4' : family === 'ipv6' ? 'IPv6' : undefined
}

function row(svc: ServiceObject, policy: DualPolicy): ServiceRow {
  const primary = primaryFamily(svc)
  return {
    namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', type: svc.spec?.type ?? 'ClusterIP', headless: svc.spec?.clusterIP === 'None',
    policy: {from: svc.spec?.ipFamilyPolicy ?? 'SingleStack', to: policy},
    families: {from: [...(svc.spec?.ipFamilies ?? (primary ? [primary] : []))], to: primary ? [primary, other(primary)] : []},
    ...(primary ? {gains: other(primary)} : {}), status: 'planned',
  }
}

/** Each Service of the selection: planned, refused (and why, and what to do), or unchanged (already dual-stack). */
export function planServicesDual(input: PlanInput): ServiceRow[] {
  const convertible = new Set(singleStackServices(input.services))
  const rows = input.missing.map((name): ServiceRow => ({namespace: input.namespace ?? '', name, type: '', headless: false, policy: {from: '', to: input.policy},
    families: {from: [], to: []}, status: 'refused', message: 'not found'}))
  for (const svc of input.services) {
    const r = row(svc, input.policy)
    const ns = r.namespace
    if (!convertible.has(svc)) {
      // Outside a selection by name these are not listed: they are not what the command is about.
      if (!input.named) continue
      if (svc.spec?.type === 'ExternalName') rows.push({...r, status: 'refused', message: 'an ExternalName Service has no ClusterIP: there is no family to add'})
      else if (ns === 'default' && r.name === 'kubernetes') rows.push({...r, status: 'refused', message: 'default/kubernetes is SingleStack by design (the API server manages it)'})
      else rows.push({...r, policy: {from: r.policy.from, to: r.policy.from}, families: {from: r.families.from, to: r.families.from}, gains: undefined, status: 'unchanged', message: `already ${r.policy.from}`})
      continue
    }
    if (!r.gains) {
      rows.push({...r, status: 'refused', message: 'its primary family cannot be read (no spec.ipFamilies, no ClusterIP): look at it with kubectl get svc -o yaml'})
      continue
    }
    const manager = objectManager(svc, `Service ${ns}/${r.name}`, 'Service')
    if (manager && !input.force) {
      rows.push({...r, status: 'refused', manager: manager.text,
        message: `managed by ${manager.text}: a change made here is put back; in ${manager.source} set spec.ipFamilyPolicy: ${input.policy}, then ${manager.then} (or --force to patch it here anyway)`})
      continue
    }
    if (r.type === 'LoadBalancer' && !input.includeLoadBalancers) {
      rows.push({...r, status: 'refused',
        message: 'a LoadBalancer Service: the cloud\'s load balancer may not serve IPv6 (or may be replaced when the families change); check it does, then pass --include-load-balancers'})
      continue
    }
    rows.push(manager ? {...r, manager: manager.text} : r)
  }
  return rows
}
