// The resource types the simulated API server serves, with what discovery says about them.

export interface ResourceType {
  group: string
  version: string
  kind: string
  plural: string
  singular: string
  namespaced: boolean
  shortNames?: string[]
  categories?: string[]
  verbs: string[]
  /** Field selectors the real apiserver accepts for this type (besides metadata.name/namespace). */
  fields?: string[]
  subresources?: string[]
  /** Served from another type's storage (an aggregated API over CRDs): that type's group and version. */
  storedAs?: {group: string; version: string}
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

export const CORE: ResourceType[] = [
  {group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], categories: ['all'], verbs: RW,
    fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
    subresources: ['exec', 'status', 'log', 'eviction']},
  {group: '', version: 'v1', kind: 'Node', plural: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'], verbs: RW, fields: ['spec.unschedulable'], subresources: ['proxy', 'status']},
  {group: '', version: 'v1', kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], categories: ['all'], verbs: RW, subresources: ['status']},
  {group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'], verbs: RW},
  {group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'], verbs: RW},
  {group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], fields: ['status.phase']},
  {group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'], verbs: RW,
    fields: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type']},
]

export const APPS: ResourceType[] = [
  {group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', singular: 'daemonset', namespaced: true, shortNames: ['ds'], categories: ['all'], verbs: RW, subresources: ['status']},
  {group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', singular: 'deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], verbs: RW, subresources: ['status', 'scale']},
  {group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', singular: 'statefulset', namespaced: true, shortNames: ['sts'], categories: ['all'], verbs: RW, subresources: ['status', 'scale']},
  {group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', singular: 'replicaset', namespaced: true, shortNames: ['rs'], categories: ['all'], verbs: RW, subresources: ['status']},
  {group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions', singular: 'controllerrevision', namespaced: true, verbs: RW},
]

export const OTHER: ResourceType[] = [
  {group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', singular: 'endpointslice', namespaced: true, verbs: RW, fields: ['addressType']},
  {group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true, verbs: RW},
  {group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', singular: 'poddisruptionbudget', namespaced: true, shortNames: ['pdb'], verbs: RW, subresources: ['status']},
]

export const CALICO: ResourceType[] = [
  {group: 'crd.projectcalico.org', version: 'v1', kind: 'IPPool', plural: 'ippools', singular: 'ippool', namespaced: false, verbs: RW},
  {group: 'crd.projectcalico.org', version: 'v1', kind: 'IPAMBlock', plural: 'ipamblocks', singular: 'ipamblock', namespaced: false, verbs: RW},
  {group: 'crd.projectcalico.org', version: 'v1', kind: 'BlockAffinity', plural: 'blockaffinities', singular: 'blockaffinity', namespaced: false, verbs: RW},
]

/** Calico's API server: projectcalico.org/v3 over the same objects as the CRDs, with Calico's validation. */
export const CALICO_API_SERVER: ResourceType[] = [
  {group: 'projectcalico.org', version: 'v3', kind: 'IPPool', plural: 'ippools', singular: 'ippool', namespaced: false, verbs: RW,
    storedAs: {group: 'crd.projectcalico.org', version: 'v1'}},
]

export const AUTHORIZATION: ResourceType[] = [
  {group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', singular: '', namespaced: false, verbs: ['create']},
]

export const TIGERA_OPERATOR: ResourceType[] = [
  {group: 'operator.tigera.io', version: 'v1', kind: 'Installation', plural: 'installations', singular: 'installation', namespaced: false, verbs: RW, subresources: ['status']},
]

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version
}

/** Identifies a type in maps: "pods", "apps/daemonsets", "crd.projectcalico.org/ippools". */
export function typeKey(type: ResourceType): string {
  const group = type.storedAs?.group ?? type.group
  return group ? `${group}/${type.plural}` : type.plural
}

export class ResourceRegistry {
  readonly types: ResourceType[]

  /** discovery.k8s.io/v1 (EndpointSlices) is served from Kubernetes 1.21; older clusters have Endpoints only. */
  constructor(withCalico: boolean, withOperator = false, withEndpointSlices = true, withCalicoApiServer = false) {
    const other = OTHER.filter((t) => withEndpointSlices || t.group !== 'discovery.k8s.io')
    this.types = [...CORE, ...APPS, ...other, ...AUTHORIZATION, ...(withCalico ? CALICO : []), ...(withCalico && withCalicoApiServer ? CALICO_API_SERVER : []),
      ...(withOperator ? TIGERA_OPERATOR : [])]
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural)
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind)
  }

  groups(): Array<{group: string; version: string}> {
    const seen = new Map<string, {group: string; version: string}>()
    for (const t of this.types) if (t.group && !seen.has(t.group)) seen.set(t.group, {group: t.group, version: t.version})
    return [...seen.values()]
  }
}
