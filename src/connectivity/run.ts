// connectivity: a server and a client pod on every chosen node (two DaemonSets) and a Service, in a namespace
// of its own; then per family and node: pod to pod on the node, to the next node of a ring, to the Service,
// DNS and optionally outside. Everything it made is deleted, always (also on error and Ctrl-C).
import {randomBytes} from 'node:crypto'

import {mapLimit} from '../cluster/concurrency.js'
import type {ClusterClient} from '../cluster/kube.js'
import {createObject, deleteObject} from '../cluster/resources.js'
import type {KubeObject, PodObject} from '../cluster/types.js'
import {ApiError, DualstackError, ExitCode, UsageError} from '../errors.js'
import {onInterrupt} from '../interrupt.js'
import {atLeast, parseKubeVersion, usesLegacyIpFamily} from '../k8s/version.js'
import {addressFamily, parseAddress, type Family} from '../net/ip.js'
import {rawPodIps} from '../pods/pod-ips.js'
import {ForwardingReader} from '../svc/diagnose.js'
import {leftBehind, type ProbeSettings} from '../svc/options.js'
import {CURL_EXIT, curlArgv, httpUrl, parseCurl, parsePing, pingArgv} from '../svc/probes.js'
import {addressSuspicions, chooseNodes, DEFAULT_SAMPLE, pickSample, type ConnectivityNodeObject} from './nodes.js'
import {planTests, type PlannedTest} from './plan.js'
import {brokenNodes, FAMILY_LABEL, summarizeNodes, type ConnectivityResult, type FailingEverywhere, type NodeSummary} from './report.js'
import {daemonSetManifest, LABELS, ROLES, SERVER_PORT, waitForTestPods, type Role} from './workload.js'

export interface ConnectivityOptions extends ProbeSettings {
  namespace?: string
  image: string
  serverImage: string
  externalTarget?: string
  /** --nodes: exactly these. */
  nodeNames?: string[]
  /** --node-selector: a label selector, applied by the API server. */
  nodeSelector?: string
  includeTainted: boolean
  /** --sample: how many nodes; 0 every one; undefined: every one up to DEFAULT_SAMPLE, a sample beyond. */
  sample?: number
  /** Probes (execs) in flight at once. */
  concurrency: number
  onProgress?: (message: string) => void
}

export interface ConnectivityReport {
  namespace: string
  /** The nodes tested (the sample, when there is one), sorted. */
  nodes: string[]
  /** How many nodes could have been tested. */
  candidates: number
  /** How the nodes were picked: every node, --nodes, or --node-selector. */
  picked: 'all' | 'nodes' | 'node-selector'
  /** Present when only a sample was tested: its size and the suspicious nodes it had to include. */
  sample?: {size: number; suspicious: Array<{node: string; reasons: string[]}>}
  skipped: Array<{node: string; reason: string}>
  notReady: Array<{node: string; reason: string}>
  /** Tests of a kind and family that failed from every node: a cluster-wide cause. */
  everywhere: FailingEverywhere[]
  results: ConnectivityResult[]
  nodeSummary: NodeSummary[]
  summary: {pass: number; fail: number; skip: number; notReady: number}
}

type Made = {kind: 'namespace' | 'service' | 'daemonset'; path: string; name: string; namespace?: string}

export async function runConnectivity(client: ClusterClient, options: ConnectivityOptions): Promise<ConnectivityReport> {
  const listed = await client.listAll<ConnectivityNodeObject>('/api/v1/nodes', options.nodeSelector ? {labelSelector: options.nodeSelector} : {})
  const choice = chooseNodes(listed, {names: options.nodeNames, includeTainted: options.includeTainted})
  if (choice.missing.length > 0) {
    throw new UsageError(`no node named ${choice.missing.join(', ')}${options.nodeSelector ? ` among the nodes --node-selector ${options.nodeSelector} picks` : ''}`, 'kubectl get nodes lists them')
  }
  if (listed.length === 0 && options.nodeSelector) {
    throw new UsageError(`no node matches --node-selector ${options.nodeSelector}`, `kubectl get nodes -l '${options.nodeSelector}' shows what it picks`)
  }
  if (choice.targets.length === 0) {
    const why = choice.skipped.slice(0, 5).map((s) => `${s.node}: ${s.reason}`).join('; ')
    throw new DualstackError(`no node to test${why ? ` (${why}${choice.skipped.length > 5 ? `; ${choice.skipped.length - 5} more` : ''})` : ''}`, ExitCode.ProblemsFound)
  }

  const forwarding = new ForwardingReader(client)
  const {nodes, sample} = await chooseSample(choice.targets, listed, forwarding, options)

  const namespace = options.namespace ?? `dualstack-connectivity-${randomBytes(3).toString('hex')}`
  const ns = encodeURIComponent(namespace)
  const made: Made[] = []
  const cleanup = async () => {
    if (options.keep) return
    // Each one is tried, whatever happened to the one before; what stays is named. Deleting a DaemonSet
    // takes its pods with it (background propagation), deleting the namespace everything in it.
    for (const item of made.reverse()) {
      try {
        await deleteObject(client, item.path)
      } catch (error) {
        options.onLeftBehind?.(leftBehind(item.kind, item.name, item.namespace, error))
      }
    }
    made.length = 0
  }
  const unregister = onInterrupt(cleanup)
  try {
    if (!(await client.getIfExists(`/api/v1/namespaces/${ns}`))) {
      // Pod Security "baseline" is what the test pods need (ping wants NET_RAW, which "restricted" drops):
      // said on the namespace so that a cluster whose default is "restricted" still runs them.
      await createObject(client, '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace',
        metadata: {name: namespace, labels: {...LABELS, 'pod-security.kubernetes.io/enforce': 'baseline'}}})
      made.push({kind: 'namespace', path: `/api/v1/namespaces/${ns}`, name: namespace})
    }
    const version = parseKubeVersion((await client.request<{gitVersion: string}>('GET', '/version')).gitVersion)
    let services: TestServices
    try {
      services = await createServices(client, namespace, options.families, version, made)
      for (const role of ROLES) {
        await createObject(client, `/apis/apps/v1/namespaces/${ns}/daemonsets`, daemonSetManifest(role, nodes, options, options.includeTainted))
        made.push({kind: 'daemonset', path: `/apis/apps/v1/namespaces/${ns}/daemonsets/dualstack-${role}`, name: `dualstack-${role}`, namespace})
      }
    } catch (error) {
      // What is there was not made by this run, so it is not deleted: said, with the command that does it.
      if (!(error instanceof ApiError && error.code === 409)) throw error
      throw new UsageError(`namespace ${namespace} already holds a connectivity workload (${error.message.split(' (HTTP')[0]}), left by a run with --keep?`,
        `delete it first: kubectl delete daemonsets,services -n ${namespace} -l app.kubernetes.io/managed-by=kubectl-dualstack`)
    }
    const pods = await waitForTestPods(client, namespace, nodes, Date.now() + options.readyTimeoutMs, options.onProgress)

    const tests = planTests([...pods.ready.keys()], options.families, {externalTarget: options.externalTarget, serviceIsNodeLocal: services.nodeLocal})
    let done = 0
    let failed = 0
    const results = await mapLimit(tests, options.concurrency, async (test) => {
      const result = await runTest(client, namespace, test, pods.ready, services.byFamily, options)
      done++
      if (result.status === 'fail') failed++
      options.onProgress?.(`testing: ${done} of ${tests.length} done${failed > 0 ? `, ${failed} failed` : ''}`)
      return result
    })

    const tested = [...pods.ready.keys()]
    const causes = await readCauses(tested, results, pods.ready, forwarding, options)
    const {nodes: nodeSummary, everywhere} = summarizeNodes(tested, results, options.families, pods.notReady, causes)
    const summary = {pass: 0, fail: 0, skip: 0, notReady: pods.notReady.length}
    for (const r of results) summary[r.status]++
    const picked = options.nodeNames ? 'nodes' : options.nodeSelector ? 'node-selector' : 'all'
    return {namespace, nodes, candidates: choice.targets.length, picked, ...(sample ? {sample} : {}), skipped: choice.skipped, notReady: pods.notReady,
      everywhere, results, nodeSummary, summary}
  } finally {
    unregister()
    await cleanup()
  }
}

/**
 * The nodes to test: all of them, or (big clusters, --sample) a sample holding every suspicious node: no
 * InternalIP of a tested family, or IPv6 forwarding read as 0 through calico-node, as doctor reads it.
 */
async function chooseSample(targets: string[], listed: ConnectivityNodeObject[], forwarding: ForwardingReader,
  options: ConnectivityOptions): Promise<{nodes: string[]; sample?: ConnectivityReport['sample']}> {
  const size = options.sample ?? (targets.length > DEFAULT_SAMPLE ? DEFAULT_SAMPLE : 0)
  if (size <= 0 || size >= targets.length) return {nodes: targets}
  const byName = new Map(listed.map((n) => [n.metadata?.name ?? '', n]))
  let read = 0
  const reasons = await mapLimit(targets, options.concurrency, async (node) => {
    const found = addressSuspicions(byName.get(node)!, options.families)
    if (options.families.includes('ipv6') && (await forwarding.ipv6ForwardingOff([node])).length > 0) found.push('IPv6 forwarding is 0')
    options.onProgress?.(`reading nodes for the sample: ${++read} of ${targets.length}`)
    return {node, reasons: found}
  })
  const suspicious = reasons.filter((r) => r.reasons.length > 0)
  return {nodes: pickSample(targets, new Set(suspicious.map((s) => s.node)), size), sample: {size, suspicious}}
}

interface TestServices {
  /** The Service's name and ClusterIP per family. */
  byFamily: Partial<Record<Family, {name: string; ip: string}>>
  /** internalTrafficPolicy Local (1.22+): a client's packet to the ClusterIP stays on its node. */
  nodeLocal: boolean
}

async function createServices(client: ClusterClient, namespace: string, families: readonly Family[], version: ReturnType<typeof parseKubeVersion>, made: Made[]): Promise<TestServices> {
  const ns = encodeURIComponent(namespace)
  const nodeLocal = version !== undefined && atLeast(version, 1, 22)
  // Before 1.20 a Service has one family (alpha `ipFamily`): one per family.
  const specs = version && usesLegacyIpFamily(version)
    ? families.map((family) => ({name: `server-${family}`, spec: {ipFamily: family === 'ipv4' ? 'IPv4' : 'IPv6'}}))
    : [{name: 'server', spec: {ipFamilyPolicy: 'PreferDualStack', ...(nodeLocal ? {internalTrafficPolicy: 'Local'} : {})}}]
  const byFamily: TestServices['byFamily'] = {}
  for (const {name, spec} of specs) {
    const svc = await createObject<KubeObject & {spec?: {clusterIPs?: string[]; clusterIP?: string}}>(client, `/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1', kind: 'Service', metadata: {name, labels: LABELS},
      spec: {...spec, selector: {...LABELS, 'dualstack.role': 'server'}, ports: [{port: 80, targetPort: SERVER_PORT, protocol: 'TCP'}]},
    })
    made.push({kind: 'service', path: `/api/v1/namespaces/${ns}/services/${name}`, name, namespace})
    for (const ip of svc.spec?.clusterIPs ?? [svc.spec?.clusterIP ?? '']) {
      const family = addressFamily(ip)
      if (family) byFamily[family] ??= {name, ip}
    }
  }
  return {byFamily, nodeLocal}
}

function ipOf(pod: PodObject, family: Family): string | undefined {
  return rawPodIps(pod).find((ip) => addressFamily(ip) === family)
}

const podName = (pod: PodObject) => pod.metadata?.name ?? ''

/** One test, run in the client pod of its source node; a test that could not run is a failure that says so. */
async function runTest(client: ClusterClient, namespace: string, test: PlannedTest, pods: Map<string, Record<Role, PodObject>>,
  services: TestServices['byFamily'], options: ConnectivityOptions): Promise<ConnectivityResult> {
  const {family} = test
  const label = FAMILY_LABEL[family]
  const source = pods.get(test.fromNode)!.client
  const from = `${podName(source)} (${test.fromNode})`
  const timeout = options.probeTimeoutSeconds
  const result = (to: string, status: ConnectivityResult['status'], message: string, latencyMs?: number): ConnectivityResult =>
    ({...test, from, to, status, ...(latencyMs !== undefined ? {latencyMs} : {}), message})
  const exec = async (argv: string[]) => {
    try {
      return await client.exec(namespace, podName(source), 'client', argv, (timeout * 3 + 10) * 1000)
    } catch (error) {
      // No permission is the run's error, not ten thousand failed tests.
      if (error instanceof ApiError && (error.code === 401 || error.code === 403)) throw error
      return {exitCode: -1, stdout: '', stderr: `could not run the test in ${podName(source)}: ${(error as Error).message}`, timedOut: false}
    }
  }

  if (test.test === 'dns') {
    const service = services[family]
    const fqdn = `${service?.name ?? 'server'}.${namespace}.svc.cluster.local`
    const record = family === 'ipv6' ? 'AAAA' : 'A'
    if (!service) return result(fqdn, 'fail', `the Service got no ${label} ClusterIP, so there is no ${record} record`)
    const r = await exec(['dig', '+short', record, fqdn])
    if (r.exitCode === -1) return result(fqdn, 'fail', r.stderr)
    const answers = r.stdout.split('\n').map((l) => parseAddress(l)?.text).filter((a): a is string => a !== undefined)
    return answers.includes(parseAddress(service.ip)?.text ?? service.ip)
      ? result(fqdn, 'pass', `${record} ${answers.join(', ')}`)
      : result(fqdn, 'fail', `${record} lookup gave ${answers.join(', ') || 'nothing'}, expected ${service.ip}`)
  }

  if (test.test === 'external') {
    const target = options.externalTarget!
    const literal = parseAddress(target)
    const argv = literal ? pingArgv(family, literal.text, 3, timeout) : [family === 'ipv6' ? 'ping6' : 'ping', '-c', '3', '-W', String(timeout), target]
    const r = await exec(argv)
    const parsed = parsePing(r.stdout)
    return r.exitCode === 0
      ? result(target, 'pass', `${parsed.received} replies`, parsed.avgMs)
      : result(target, 'fail', r.exitCode === -1 ? r.stderr : `no reply${family === 'ipv6'
        ? ': pods reach outside over IPv6 only with natOutgoing on their pool, or a routed range (kubectl dualstack doctor --only calico.ippool.nat-outgoing)' : ''}`)
  }

  let to: string
  let ip: string | undefined
  let port = SERVER_PORT
  if (test.test === 'pod-to-service') {
    const service = services[family]
    to = `service/${service?.name ?? 'server'}`
    ip = service?.ip
    port = 80
  } else {
    const server = pods.get(test.toNode!)!.server
    to = `${podName(server)} (${test.toNode})`
    ip = ipOf(server, family)
  }
  if (!ip) return result(to, 'fail', `${to} has no ${label} address`)
  if (!ipOf(source, family)) return result(`${to} ${ip}`, 'fail', `${podName(source)} has no ${label} address`)
  const r = await exec(curlArgv(httpUrl(family, ip, port), timeout))
  const parsed = parseCurl(r.stdout)
  if (r.exitCode === 0 && parsed.httpCode > 0) {
    return result(`${to} ${ip}`, 'pass', `HTTP ${parsed.httpCode}`, parsed.seconds !== undefined ? Math.round(parsed.seconds * 100_000) / 100 : undefined)
  }
  return result(`${to} ${ip}`, 'fail', r.exitCode === -1 ? r.stderr : `curl exit ${r.exitCode}: ${CURL_EXIT[r.exitCode] ?? (r.stderr.trim() || 'no answer')}`)
}

/**
 * Why a node fails a family in and out, when it can be read: its test pods have no address of the family,
 * or (IPv6) forwarding is 0 on it. Read only for those nodes, through calico-node as doctor does.
 */
async function readCauses(nodes: string[], results: ConnectivityResult[], pods: Map<string, Record<Role, PodObject>>, forwarding: ForwardingReader,
  options: ConnectivityOptions): Promise<Map<string, string>> {
  const causes = new Map<string, string>()
  for (const family of options.families) {
    const broken = brokenNodes(nodes, results, family)
    await mapLimit(broken, options.concurrency, async (node) => {
      const pair = pods.get(node)!
      if (!ipOf(pair.client, family) || !ipOf(pair.server, family)) {
        causes.set(`${node} ${family}`, `its test pods got no ${FAMILY_LABEL[family]} address (kubectl dualstack doctor --only calico.ippool.cidr-match,calico.node-env)`)
      } else if (family === 'ipv6' && (await forwarding.ipv6ForwardingOff([node])).length > 0) {
        causes.set(`${node} ${family}`, 'IPv6 forwarding is 0 there (net.ipv6.conf.all.forwarding; kubectl dualstack doctor --only node.ipv6-forwarding)')
      }
    })
  }
  return causes
}
