// connectivity: a small test workload (a server and a client pod on each of two nodes, a dual-stack
// Service) in its own namespace, then the matrix pod-to-pod (same node, across nodes), pod-to-ClusterIP,
// DNS names (A and AAAA) and optionally outside, per family. Everything it made is deleted, always.
import {randomBytes} from 'node:crypto'

import type {ClusterClient} from '../cluster/kube.js'
import {createObject, createPod, deleteObject, deletePod, getPod, waitForPodReady, PodNotReadyError, type PodRef} from '../cluster/resources.js'
import type {KubeObject, PodObject} from '../cluster/types.js'
import {DualstackError, ExitCode} from '../errors.js'
import {onInterrupt} from '../interrupt.js'
import {parseKubeVersion, usesLegacyIpFamily} from '../k8s/version.js'
import {addressFamily, parseAddress, type Family} from '../net/ip.js'
import {rawPodIps} from '../pods/pod-ips.js'
import {ForwardingReader, forwardingCause} from './diagnose.js'
import {leftBehind, type ProbeSettings} from './options.js'
import {CURL_EXIT, curlArgv, httpUrl, parseCurl, parsePing, pingArgv} from './probes.js'

export type ConnectivityTest = 'pod-to-pod/same-node' | 'pod-to-pod/cross-node' | 'pod-to-service' | 'dns' | 'external'

export interface ConnectivityResult {
  test: ConnectivityTest
  family: Family
  from: string
  to: string
  status: 'pass' | 'fail' | 'skip'
  latencyMs?: number
  message: string
}

export interface ConnectivityReport {
  namespace: string
  nodes: string[]
  results: ConnectivityResult[]
  summary: {pass: number; fail: number; skip: number}
}

export interface ConnectivityOptions extends ProbeSettings {
  namespace?: string
  image: string
  serverImage: string
  externalTarget?: string
  onProgress?: (message: string) => void
}

const LABELS = {'app.kubernetes.io/managed-by': 'kubectl-dualstack', 'app.kubernetes.io/component': 'connectivity'}
const SERVER_PORT = 8080

interface NodeObject extends KubeObject {
  spec?: {unschedulable?: boolean; taints?: Array<{effect?: string}>}
  status?: {conditions?: Array<{type: string; status: string}>}
}

/** Two Ready, schedulable nodes without NoSchedule taints (one, if that is all there is). */
async function pickNodes(client: ClusterClient): Promise<string[]> {
  const nodes = await client.listAll<NodeObject>('/api/v1/nodes')
  const usable = nodes.filter((n) => !n.spec?.unschedulable
    && (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
    && !(n.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'))
  if (usable.length === 0) throw new DualstackError('no Ready, schedulable node to run the test pods on', ExitCode.ProblemsFound)
  return usable.slice(0, 2).map((n) => n.metadata?.name ?? '')
}

function podManifest(name: string, role: 'server' | 'client', node: string, image: string): Record<string, unknown> {
  const container = role === 'server'
    ? {name: 'server', image, args: ['netexec', `--http-port=${SERVER_PORT}`], ports: [{containerPort: SERVER_PORT}]}
    : {name: 'client', image, command: ['sleep', '3600']}
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {name, labels: {...LABELS, 'dualstack.role': role}},
    spec: {nodeSelector: {'kubernetes.io/hostname': node}, restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [container]},
  }
}

interface Workload {
  nodes: string[]
  clients: Array<{node: string; pod: PodObject}>
  servers: Array<{node: string; pod: PodObject}>
  /** The test Service's name and ClusterIP per family (two single-family Services before 1.20). */
  services: Partial<Record<Family, {name: string; ip: string}>>
}

export async function runConnectivity(client: ClusterClient, options: ConnectivityOptions): Promise<ConnectivityReport> {
  const nodes = await pickNodes(client)
  const namespace = options.namespace ?? `dualstack-connectivity-${randomBytes(3).toString('hex')}`
  const ns = encodeURIComponent(namespace)
  // What this run created, deleted in reverse order: pods, the Service, the namespace if it made it.
  const made: Array<{pod: PodRef} | {path: string; kind: 'service' | 'namespace'; name: string; namespace?: string}> = []
  const cleanup = async () => {
    if (options.keep) return
    // Each one is tried, whatever happened to the one before; what stays is named.
    for (const item of made.reverse()) {
      try {
        if ('pod' in item) await deletePod(client, item.pod)
        else await deleteObject(client, item.path)
      } catch (error) {
        options.onLeftBehind?.('pod' in item ? leftBehind('pod', item.pod.name, item.pod.namespace, error) : leftBehind(item.kind, item.name, item.namespace, error))
      }
    }
    made.length = 0
  }
  const unregister = onInterrupt(cleanup)
  try {
    if (!(await client.getIfExists(`/api/v1/namespaces/${ns}`))) {
      await createObject(client, '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace, labels: LABELS}})
      made.push({path: `/api/v1/namespaces/${ns}`, kind: 'namespace', name: namespace})
    }
    const refs: Array<{ref: PodRef; role: 'server' | 'client'; node: string}> = []
    for (const [i, node] of nodes.entries()) {
      for (const role of ['server', 'client'] as const) {
        const ref = await createPod(client, namespace, podManifest(`${role}-${i}`, role, node, role === 'server' ? options.serverImage : options.image))
        made.push({pod: ref})
        refs.push({ref, role, node})
      }
    }
    const services: Workload['services'] = {}
    const version = parseKubeVersion((await client.request<{gitVersion: string}>('GET', '/version')).gitVersion)
    // Before 1.20 a Service has one family (alpha `ipFamily`): make one per family.
    const specs = version && usesLegacyIpFamily(version)
      ? options.families.map((family) => ({name: `server-${family}`, spec: {ipFamily: family === 'ipv4' ? 'IPv4' : 'IPv6'}}))
      : [{name: 'server', spec: {ipFamilyPolicy: 'PreferDualStack'}}]
    for (const {name, spec} of specs) {
      const svc = await createObject<KubeObject & {spec?: {clusterIPs?: string[]; clusterIP?: string}}>(client, `/api/v1/namespaces/${ns}/services`, {
        apiVersion: 'v1', kind: 'Service', metadata: {name, labels: LABELS},
        spec: {...spec, selector: {'dualstack.role': 'server'}, ports: [{port: 80, targetPort: SERVER_PORT, protocol: 'TCP'}]},
      })
      made.push({path: `/api/v1/namespaces/${ns}/services/${name}`, kind: 'service', name, namespace})
      for (const ip of svc.spec?.clusterIPs ?? [svc.spec?.clusterIP ?? '']) {
        const family = addressFamily(ip)
        if (family) services[family] ??= {name, ip}
      }
    }
    const ready: Workload = {nodes, clients: [], servers: [], services}
    for (const {ref, role, node} of refs) {
      try {
        await waitForPodReady(client, ref, options.readyTimeoutMs, (state) => options.onProgress?.(`waiting for ${ref.name} on ${node} (${state})`))
      } catch (error) {
        if (error instanceof PodNotReadyError) throw new DualstackError(error.message, ExitCode.ProblemsFound, `check that ${role === 'server' ? options.serverImage : options.image} can be pulled (--image / --server-image)`)
        throw error
      }
      const pod = await getPod(client, ref)
      ;(role === 'server' ? ready.servers : ready.clients).push({node, pod})
    }
    const results = await runMatrix(client, namespace, ready, options)
    const summary = {pass: 0, fail: 0, skip: 0}
    for (const r of results) summary[r.status]++
    return {namespace, nodes, results, summary}
  } finally {
    unregister()
    await cleanup()
  }
}

function ipOf(pod: PodObject, family: Family): string | undefined {
  return rawPodIps(pod).find((ip) => addressFamily(ip) === family)
}

async function runMatrix(client: ClusterClient, namespace: string, w: Workload, options: ConnectivityOptions): Promise<ConnectivityResult[]> {
  const results: ConnectivityResult[] = []
  const timeout = options.probeTimeoutSeconds
  const execIn = (pod: PodObject, argv: string[]) =>
    client.exec(namespace, pod.metadata!.name!, 'client', argv, (timeout * 3 + 10) * 1000)
  const label = (family: Family) => (family === 'ipv4' ? 'IPv4' : 'IPv6')

  const forwarding = new ForwardingReader(client)
  const http = async (test: ConnectivityTest, family: Family, from: {node: string; pod: PodObject}, to: string, ip: string | undefined, port: number, toNodes: string[]) => {
    const fromName = `${from.pod.metadata!.name} (${from.node})`
    if (!ip) return results.push({test, family, from: fromName, to, status: 'fail', message: `${to} has no ${label(family)} address`})
    if (!ipOf(from.pod, family)) return results.push({test, family, from: fromName, to, status: 'fail', message: `${from.pod.metadata!.name} has no ${label(family)} address`})
    options.onProgress?.(`${test} ${label(family)}: ${fromName} -> ${to}`)
    const r = await execIn(from.pod, curlArgv(httpUrl(family, ip, port), timeout))
    const parsed = parseCurl(r.stdout)
    return results.push(r.exitCode === 0 && parsed.httpCode > 0
      ? {test, family, from: fromName, to: `${to} ${ip}`, status: 'pass', ...(parsed.seconds !== undefined ? {latencyMs: Math.round(parsed.seconds * 100_000) / 100} : {}), message: `HTTP ${parsed.httpCode}`}
      : {test, family, from: fromName, to: `${to} ${ip}`, status: 'fail', message: `curl exit ${r.exitCode}: ${CURL_EXIT[r.exitCode] ?? (r.stderr.trim() || 'no answer')}${
        forwardingCause(family === 'ipv6' ? await forwarding.ipv6ForwardingOff([from.node, ...toNodes]) : [])}`})
  }

  for (const family of options.families) {
    for (const c of w.clients) {
      const same = w.servers.find((s) => s.node === c.node)
      const other = w.servers.find((s) => s.node !== c.node)
      if (same) await http('pod-to-pod/same-node', family, c, same.pod.metadata!.name!, ipOf(same.pod, family), SERVER_PORT, [same.node])
      if (other) await http('pod-to-pod/cross-node', family, c, other.pod.metadata!.name!, ipOf(other.pod, family), SERVER_PORT, [other.node])
      else results.push({test: 'pod-to-pod/cross-node', family, from: c.pod.metadata!.name!, to: '-', status: 'skip', message: 'only one usable node'})
      await http('pod-to-service', family, c, `service/${w.services[family]?.name ?? 'server'}`, w.services[family]?.ip, 80, w.servers.map((s) => s.node))
    }
    // DNS: the Service's name answers with its ClusterIP of the family (A for IPv4, AAAA for IPv6).
    const c = w.clients[0]!
    const fqdn = `${w.services[family]?.name ?? 'server'}.${namespace}.svc.cluster.local`
    const want = w.services[family]?.ip
    const r = await execIn(c.pod, ['dig', '+short', family === 'ipv6' ? 'AAAA' : 'A', fqdn])
    const answers = r.stdout.split('\n').map((l) => parseAddress(l)?.text).filter((a): a is string => a !== undefined)
    const wantText = want ? parseAddress(want)?.text : undefined
    results.push(wantText && answers.includes(wantText)
      ? {test: 'dns', family, from: c.pod.metadata!.name!, to: fqdn, status: 'pass', message: `${family === 'ipv6' ? 'AAAA' : 'A'} ${answers.join(', ')}`}
      : {test: 'dns', family, from: c.pod.metadata!.name!, to: fqdn, status: 'fail',
        message: want ? `${family === 'ipv6' ? 'AAAA' : 'A'} lookup gave ${answers.join(', ') || 'nothing'}, expected ${want}` : `the Service got no ${label(family)} ClusterIP, so there is no ${family === 'ipv6' ? 'AAAA' : 'A'} record`})
    if (options.externalTarget) {
      const target = options.externalTarget
      const literal = parseAddress(target)
      if (literal && literal.family !== family) continue
      const argv = literal ? pingArgv(family, literal.text, 3, timeout) : [family === 'ipv6' ? 'ping6' : 'ping', '-c', '3', '-W', String(timeout), target]
      const pr = await execIn(c.pod, argv)
      const parsed = parsePing(pr.stdout)
      results.push(pr.exitCode === 0
        ? {test: 'external', family, from: c.pod.metadata!.name!, to: target, status: 'pass', ...(parsed.avgMs !== undefined ? {latencyMs: parsed.avgMs} : {}), message: `${parsed.received} replies`}
        : {test: 'external', family, from: c.pod.metadata!.name!, to: target, status: 'fail',
          message: `no reply${family === 'ipv6' ? ': pods reach outside over IPv6 only with natOutgoing on their pool, or a routed range (kubectl dualstack doctor --only calico.ippool.nat-outgoing)' : ''}`})
    }
  }
  return results
}
