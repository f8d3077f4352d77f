// The Services of a connectivity run: its own (PreferDualStack, NodePort when a NodePort test is chosen; one per
// family before 1.20) and, per the tests chosen, a Service of each ipFamilyPolicy as Kubernetes' dual-stack e2e
// suite makes them. A policy the API server refuses (RequireDualStack on a single-stack cluster) is a finding,
// not the run's error.
import type {ClusterClient} from '../cluster/kube.js'
import {createObject} from '../cluster/resources.js'
import type {KubeObject} from '../cluster/types.js'
import {ApiError} from '../errors.js'
import {atLeast, usesLegacyIpFamily, type KubeVersion} from '../k8s/version.js'
import {addressFamily, type Family} from '../net/ip.js'
import type {Made} from './cleanup.js'
import type {ConnectivityTest} from './plan.js'
import type {TestSelection} from './select.js'
import {SERVER_PORT, SERVER_UDP_PORT, type Workload} from './workload.js'

/** The Service port for HTTP, and for UDP (agnhost netexec's UDP server, on the same number). */
export const SERVICE_PORT = 80
export const SERVICE_UDP_PORT = SERVER_UDP_PORT

export type IpFamilyName = 'IPv4' | 'IPv6'
export const FAMILY_NAME: Record<Family, IpFamilyName> = {ipv4: 'IPv4', ipv6: 'IPv6'}

export interface ServiceSpecRead {
  type?: string
  ipFamilyPolicy?: string
  ipFamilies?: string[]
  clusterIP?: string
  clusterIPs?: string[]
  ports?: Array<{name?: string; port: number; protocol?: string; nodePort?: number}>
}

/** A Service of an ipFamilyPolicy: what was asked, and what the API server made of it (or why it refused). */
export interface PolicyService {
  name: string
  policy: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack'
  /** The ipFamilies asked for, in order (none: the server chooses). */
  asked: IpFamilyName[]
  spec?: ServiceSpecRead
  /** The API server's refusal (422). */
  refused?: string
  /** Why the cluster has no such Service (before 1.20: no ipFamilyPolicy). */
  unsupported?: string
}

export interface TestServices {
  /** The run's Service per family: its name and ClusterIP. */
  byFamily: Partial<Record<Family, {name: string; ip: string}>>
  /** Its HTTP NodePort per family, when it is a NodePort Service. */
  nodePort: Partial<Record<Family, number>>
  /** internalTrafficPolicy Local (1.22+): a client's packet to the ClusterIP stays on its node. */
  nodeLocal: boolean
  /** The policy Services by policyKey. */
  policies: Map<string, PolicyService>
}

/** Where a policy test finds its Service: the SingleStack one is per family, the others shared by both. */
export function policyKey(test: ConnectivityTest, family: Family): string {
  return test === 'service/single-stack' ? `${test} ${family}` : test
}

const NODEPORT_TESTS: ConnectivityTest[] = ['nodeport/from-pod', 'nodeport/from-node']

export async function createServices(client: ClusterClient, workload: Workload, namespace: string, families: readonly Family[], version: KubeVersion | undefined,
  made: Made[], selection: TestSelection): Promise<TestServices> {
  const ns = encodeURIComponent(namespace)
  const nodeLocal = version !== undefined && atLeast(version, 1, 22)
  const legacy = version !== undefined && usesLegacyIpFamily(version)
  const nodePorts = NODEPORT_TESTS.some((t) => selection.has(t))
  const ports = [{name: 'http', port: SERVICE_PORT, targetPort: SERVER_PORT, protocol: 'TCP'}, {name: 'udp', port: SERVICE_UDP_PORT, targetPort: SERVER_UDP_PORT, protocol: 'UDP'}]
  const create = async (name: string, spec: Record<string, unknown>) => {
    const svc = await createObject<KubeObject & {spec?: ServiceSpecRead}>(client, `/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1', kind: 'Service', metadata: {name, labels: workload.labels},
      spec: {...spec, selector: {...workload.labels, 'dualstack.role': 'server'}},
    })
    made.push({kind: 'service', path: `/api/v1/namespaces/${ns}/services/${name}`, name, namespace})
    return svc.spec ?? {}
  }
  // A NodePort with externalTrafficPolicy Local is answered by the server on the node addressed: a failure names that node.
  const own = {
    ...(nodePorts ? {type: 'NodePort', externalTrafficPolicy: 'Local'} : {}),
    ...(nodeLocal ? {internalTrafficPolicy: 'Local'} : {}),
    ports,
  }
  // Before 1.20 a Service has one family (alpha `ipFamily`): one per family.
  const specs = legacy
    ? families.map((family) => ({name: `${workload.service}-${family}`, spec: {...own, ipFamily: FAMILY_NAME[family]}}))
    : [{name: workload.service, spec: {...own, ipFamilyPolicy: 'PreferDualStack'}}]
  const services: TestServices = {byFamily: {}, nodePort: {}, nodeLocal, policies: new Map()}
  for (const {name, spec} of specs) {
    const read = await create(name, spec)
    for (const ip of read.clusterIPs ?? [read.clusterIP ?? '']) {
      const family = addressFamily(ip)
      if (!family || services.byFamily[family]) continue
      services.byFamily[family] = {name, ip}
      const nodePort = read.ports?.find((p) => p.name === 'http')?.nodePort
      if (nodePort) services.nodePort[family] = nodePort
    }
    if (!legacy) services.policies.set('service/prefer-dual-stack', {name, policy: 'PreferDualStack', asked: [], spec: read})
  }

  const wanted: Array<{key: string; test: ConnectivityTest; name: string; policy: PolicyService['policy']; asked: IpFamilyName[]}> = [
    ...families.map((family) => ({key: policyKey('service/single-stack', family), test: 'service/single-stack' as const, name: `${workload.service}-single-${family}`,
      policy: 'SingleStack' as const, asked: [FAMILY_NAME[family]]})),
    {key: 'service/require-dual-stack/ipv4-first', test: 'service/require-dual-stack/ipv4-first', name: `${workload.service}-require-ipv4-ipv6`, policy: 'RequireDualStack', asked: ['IPv4', 'IPv6']},
    {key: 'service/require-dual-stack/ipv6-first', test: 'service/require-dual-stack/ipv6-first', name: `${workload.service}-require-ipv6-ipv4`, policy: 'RequireDualStack', asked: ['IPv6', 'IPv4']},
  ]
  if (legacy) {
    const unsupported = `ipFamilyPolicy is from Kubernetes 1.20; this cluster is ${version.gitVersion} (a Service has one family, its alpha ipFamily field)`
    for (const w of wanted) services.policies.set(w.key, {name: w.name, policy: w.policy, asked: w.asked, unsupported})
    services.policies.set('service/prefer-dual-stack', {name: workload.service, policy: 'PreferDualStack', asked: [], unsupported})
    return services
  }
  for (const w of wanted.filter((x) => selection.has(x.test))) {
    try {
      const read = await create(w.name, {ipFamilyPolicy: w.policy, ipFamilies: w.asked, ports: [ports[0]], ...(nodeLocal ? {internalTrafficPolicy: 'Local'} : {})})
      services.policies.set(w.key, {name: w.name, policy: w.policy, asked: w.asked, spec: read})
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 422)) throw error
      services.policies.set(w.key, {name: w.name, policy: w.policy, asked: w.asked, refused: error.message.split(' (HTTP')[0]!})
    }
  }
  return services
}
