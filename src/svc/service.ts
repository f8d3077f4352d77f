// What a Service is made of, by family: its ClusterIPs and its endpoints (EndpointSlices, or Endpoints on
// clusters older than discovery.k8s.io/v1).
import type {ClusterClient} from '../cluster/kube.js'
import type {KubeObject} from '../cluster/types.js'
import {addressFamily, type Family} from '../net/ip.js'

export interface ServiceSpecView {
  clusterIP?: string
  clusterIPs?: string[]
  ipFamilies?: string[]
  ipFamilyPolicy?: string
  ipFamily?: string
  type?: string
  ports?: ServicePort[]
  selector?: Record<string, string>
}

export interface ServicePort {
  port: number
  name?: string
  protocol?: string
  targetPort?: number | string
}

export interface Backend {
  ip: string
  pod?: string
  node?: string
}

export interface ServiceView {
  name: string
  namespace: string
  metadata: {labels?: Record<string, string>; annotations?: Record<string, string>}
  spec: ServiceSpecView
  /** clusterIP None: no ClusterIP, DNS answers with the endpoints. */
  headless: boolean
  clusterIPs: string[]
  endpoints: Record<Family, Backend[]>
  /** The ports the endpoints listen on (the targetPorts resolved), by Service port name ('' for an unnamed one). */
  endpointPorts: Map<string, number>
}

interface SliceObject extends KubeObject {
  addressType?: string
  endpoints?: Array<{addresses?: string[]; nodeName?: string; targetRef?: {kind?: string; name?: string}; conditions?: {ready?: boolean}}>
  ports?: Array<{name?: string; port?: number}>
}

interface EndpointsObject extends KubeObject {
  subsets?: Array<{addresses?: Array<{ip: string; nodeName?: string; targetRef?: {name?: string}}>; ports?: Array<{name?: string; port?: number}>}>
}

export async function readService(client: ClusterClient, namespace: string, name: string): Promise<ServiceView> {
  const ns = encodeURIComponent(namespace)
  const svc = await client.request<KubeObject & {spec?: ServiceSpecView}>('GET', `/api/v1/namespaces/${ns}/services/${encodeURIComponent(name)}`)
  const spec = svc.spec ?? {}
  const clusterIPs = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip !== 'None' && ip !== '')
  const endpoints: Record<Family, Backend[]> = {ipv4: [], ipv6: []}
  const endpointPorts = new Map<string, number>()
  const notePorts = (ports: Array<{name?: string; port?: number}> | undefined) => {
    for (const p of ports ?? []) if (p.port !== undefined && !endpointPorts.has(p.name ?? '')) endpointPorts.set(p.name ?? '', p.port)
  }
  const sliceGroup = await client.getIfExists('/apis/discovery.k8s.io/v1')
  if (sliceGroup) {
    const slices = await client.listAll<SliceObject>(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {labelSelector: `kubernetes.io/service-name=${name}`})
    for (const slice of slices) {
      if ((slice.endpoints ?? []).length > 0) notePorts(slice.ports)
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue
        for (const ip of ep.addresses ?? []) {
          const family = addressFamily(ip)
          if (family) endpoints[family].push({ip, pod: ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined, node: ep.nodeName})
        }
      }
    }
  } else {
    const eps = await client.getIfExists<EndpointsObject>(`/api/v1/namespaces/${ns}/endpoints/${encodeURIComponent(name)}`)
    for (const subset of eps?.subsets ?? []) {
      notePorts(subset.ports)
      for (const a of subset.addresses ?? []) {
        const family = addressFamily(a.ip)
        if (family) endpoints[family].push({ip: a.ip, pod: a.targetRef?.name, node: a.nodeName})
      }
    }
  }
  const metadata = {labels: svc.metadata?.labels, annotations: svc.metadata?.annotations}
  return {name, namespace, metadata, spec, headless: spec.clusterIP === 'None', clusterIPs, endpoints, endpointPorts}
}
