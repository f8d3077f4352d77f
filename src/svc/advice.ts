// What svc-check says about a Service, as pure functions of what it read: which port to test, why a family
// has no endpoints, and how to give a single-stack Service its second family on this server's version.
import {UsageError} from '../errors.js'
import {atLeast, type KubeVersion} from '../k8s/version.js'
import type {Family} from '../net/ip.js'
import type {ServicePort, ServiceView} from './service.js'

export function familyLabel(family: Family): 'IPv4' | 'IPv6' {
  return family === 'ipv4' ? 'IPv4' : 'IPv6'
}

function describePort(port: ServicePort): string {
  return `${port.port}/${port.protocol ?? 'TCP'}${port.name ? ` (${port.name})` : ''}`
}

function isTcp(port: ServicePort): boolean {
  return (port.protocol ?? 'TCP') === 'TCP'
}

/**
 * The Service port to test: the one --port names (its number or its name), else the first TCP port, else the
 * first port. A --port that is none of the Service's ports is bad usage, answered with the list of them.
 */
export function choosePort(view: ServiceView, wanted: string | undefined): ServicePort {
  const ports = view.spec.ports ?? []
  const where = `Service ${view.namespace}/${view.name}`
  if (ports.length === 0) throw new UsageError(`${where} has no ports`, 'give the Service a port to test')
  if (wanted === undefined) return ports.find(isTcp) ?? ports[0]!
  const byNumber = /^\d+$/.test(wanted) ? ports.filter((p) => p.port === Number(wanted)) : []
  const found = byNumber.find(isTcp) ?? byNumber[0] ?? ports.find((p) => p.name === wanted)
  if (found) return found
  throw new UsageError(`${where} has no port ${wanted}; its ports: ${ports.map(describePort).join(', ')}`, 'pass one of them (number or name) to --port')
}

/** Why the HTTP test does not run on this port (UDP, SCTP), or undefined when it does. */
export function noHttpReason(view: ServiceView, port: ServicePort): string | undefined {
  if (isTcp(port)) return undefined
  const tcp = (view.spec.ports ?? []).find(isTcp)
  return `port ${describePort(port)}: no HTTP test, HTTP needs TCP; ${tcp ? `--port ${tcp.port} tests its TCP port` : 'the Service has no TCP port'}`
}

/** The pods a Service's selector matched, as svc-check needs them to explain missing endpoints. */
export interface SelectedPod {
  name: string
  ready: boolean
  families: Family[]
}

export function selectorText(selector: Record<string, string>): string {
  return Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',')
}

/** Why the Service has no endpoints of a family, from its spec and the pods its selector matches. */
export function noEndpointsCause(view: ServiceView, family: Family, families: readonly string[], pods: readonly SelectedPod[]): string {
  const label = familyLabel(family)
  if (!families.includes(label)) return `the Service is not of this family`
  const selector = view.spec.selector
  if (!selector || Object.keys(selector).length === 0) return 'the Service has no selector: its endpoints are written by hand or by another controller, and none is of this family'
  const text = selectorText(selector)
  if (pods.length === 0) return `the selector ${text} matches no pod in namespace ${view.namespace}`
  const ready = pods.filter((p) => p.ready)
  if (ready.length === 0) return `${pods.length} pod(s) match the selector ${text}, none is Ready`
  const lacking = ready.filter((p) => !p.families.includes(family))
  if (lacking.length === ready.length) {
    return `its ${ready.length} Ready pod(s) (${ready.slice(0, 3).map((p) => p.name).join(', ')}${ready.length > 3 ? ', ...' : ''}) have no ${label} address, likely created before dual-stack: recreate them (kubectl dualstack pods recreate --single-stack -n ${view.namespace} -l ${text})`
  }
  return `none of its Ready pods is listed with an ${label} address yet`
}

/** The Helm release that owns the Service (labels and annotations Helm 3 sets), if any. */
export function helmRelease(view: ServiceView): {name: string; namespace: string} | undefined {
  const annotations = view.metadata.annotations ?? {}
  const labels = view.metadata.labels ?? {}
  const name = annotations['meta.helm.sh/release-name'] ?? (labels['app.kubernetes.io/managed-by'] === 'Helm' ? labels['app.kubernetes.io/instance'] ?? labels.release : undefined)
  if (!name && labels['app.kubernetes.io/managed-by'] !== 'Helm') return undefined
  return {name: name ?? '(unnamed)', namespace: annotations['meta.helm.sh/release-namespace'] ?? view.namespace}
}

/**
 * How the Service gets a ClusterIP of the missing family, for this server: before 1.20 a Service has one
 * family (the alpha spec.ipFamily) and a second Service is the way; from 1.20 changing ipFamilyPolicy adds the
 * second ClusterIP in place, keeping the first. A Helm release's next upgrade would undo a patch.
 */
export function dualStackAdvice(view: ServiceView, family: Family, version: KubeVersion | undefined): string {
  const label = familyLabel(family)
  const helm = helmRelease(view)
  if (version && !atLeast(version, 1, 16)) return `${version.gitVersion} has no dual-stack Services (they come with 1.16, and ipFamilyPolicy with 1.20)`
  if (version && !atLeast(version, 1, 20)) {
    const howTo = `for ${label} create a second Service with spec.ipFamily: ${label} and the same selector and ports${helm ? ` (in the chart of Helm release ${helm.name}, namespace ${helm.namespace})` : ''}, or upgrade to 1.20 or later for dual-stack Services`
    return `on ${version.gitVersion} a Service has one family (the alpha spec.ipFamily, fixed at creation; ipFamilyPolicy comes with 1.20): ${howTo}`
  }
  // PreferDualStack with one family: made while the cluster had one service range; RequireDualStack adds the other.
  const policy = view.spec.ipFamilyPolicy === 'PreferDualStack' ? 'RequireDualStack' : 'PreferDualStack'
  const gate = version && !atLeast(version, 1, 21) ? ' (on 1.20 the IPv6DualStack feature gate must be on for the API server and controller manager)' : ''
  if (helm) {
    return `the Service belongs to Helm release ${helm.name} (namespace ${helm.namespace}): set ipFamilyPolicy: ${policy} (and ipFamilies) in the chart's values for this Service and run helm upgrade; a kubectl patch alone is undone when the next helm upgrade renders SingleStack again${gate}`
  }
  const keeps = view.clusterIPs.length > 0 ? ` (it keeps ClusterIP ${view.clusterIPs[0]})` : ''
  return `add one in place${keeps}: kubectl patch svc ${view.name} -n ${view.namespace} -p '{"spec":{"ipFamilyPolicy":"${policy}"}}'${gate}`
}

/** What a ping or HTTP test that failed on the path gains: IPv6 forwarding off on these nodes, or where to look. */
export function forwardingCause(off: readonly string[]): string {
  return off.length > 0
    ? `; likely cause: IPv6 forwarding is off on node ${off.join(', ')} (kubectl dualstack doctor --only node.ipv6-forwarding)`
    : '; run kubectl dualstack doctor to find the cause'
}
