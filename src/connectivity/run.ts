// connectivity: a server and a client pod on every chosen node (two DaemonSets) and a Service, in a namespace
// of its own; then per family and node: pod to pod on the node, to the next node of a ring, to the Service,
// DNS and optionally outside. Everything it made is deleted, always (also on error and Ctrl-C).
import {randomBytes} from 'node:crypto'

import {mapLimit} from '../cluster/concurrency.js'
import type {ClusterClient} from '../cluster/kube.js'
import {isAdmissionRefusal, isPodSecurityRefusal, refusalText} from '../cluster/admission.js'
import {createObject} from '../cluster/resources.js'
import type {KubeObject, PodObject} from '../cluster/types.js'
import {ApiError, DualstackError, ExitCode, UsageError} from '../errors.js'
import {onInterrupt} from '../interrupt.js'
import {atLeast, parseKubeVersion, usesLegacyIpFamily} from '../k8s/version.js'
import {addressFamily, parseAddress, type Family} from '../net/ip.js'
import {rawPodIps} from '../pods/pod-ips.js'
import {ForwardingReader} from '../svc/diagnose.js'
import type {ProbeSettings} from '../svc/options.js'
import {CURL_EXIT, curlArgv, execTimedOut, httpUrl, parseCurl, parsePing, pingArgv, pingNotPermitted} from '../svc/probes.js'
import {removeWorkload, type Made, type NamespaceObject} from './cleanup.js'
import {addressSuspicions, chooseNodes, DEFAULT_SAMPLE, pickSample, type ConnectivityNodeObject} from './nodes.js'
import {planTests, type PlannedTest} from './plan.js'
import {ALL_TESTS, type TestSelection} from './select.js'
import {brokenNodes, FAMILY_LABEL, summarizeNodes, type ConnectivityResult, type FailingEverywhere, type NodeSummary} from './report.js'
import {daemonSetManifest, ROLES, selectorOf, SERVER_PORT, templatePod, waitForTestPods, workloadFor, type Role, type Workload} from './workload.js'

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
  /** --test: the tests to run (default: all). */
  tests?: TestSelection
  /** Probes (execs) in flight at once. */
  concurrency: number
  /** How long to wait for what it made to be gone once deleted (default 30 s). */
  deleteTimeoutMs?: number
  onProgress?: (message: string) => void
}

export interface ConnectivityReport {
  namespace: string
  /** What the run made and what becomes of it: its namespace (or not), its DaemonSets and Services, deleted unless kept. */
  workload: {namespaceCreated: boolean; kept: boolean; run: string; podSecurity: 'baseline' | 'restricted'; daemonSets: string[]; services: string[]
    /** The images the test pods ran (after --image-registry). */
    images: {client: string; server: string}}
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
  /** Present when --test chose the tests: its expressions and the tests they keep. */
  chosen?: {expressions: string[]; tests: string[]}
}

/** How long to wait for what the run made to be gone once deleted (default 30 s). */
const DELETE_TIMEOUT_MS = 30_000

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

  // Every name is the run's own: nothing of the user's is ever in its way, or touched.
  const run = randomBytes(3).toString('hex')
  const workload = workloadFor(run)
  const namespace = options.namespace ?? `dualstack-connectivity-${run}`
  const ns = encodeURIComponent(namespace)
  const made: Made[] = []
  let created = false
  const deleteTimeoutMs = options.deleteTimeoutMs ?? DELETE_TIMEOUT_MS
  let removed: Promise<void> | undefined
  const cleanup = () => {
    if (options.keep) return Promise.resolve()
    removed ??= removeWorkload(client, made, {namespace, created, selector: selectorOf(workload.labels), timeoutMs: deleteTimeoutMs, onLeftBehind: options.onLeftBehind})
    return removed
  }
  const unregister = onInterrupt(cleanup, deleteTimeoutMs + 15_000)
  try {
    const existing = await client.getIfExists<NamespaceObject>(`/api/v1/namespaces/${ns}`)
    if (existing?.metadata?.deletionTimestamp) {
      throw new UsageError(`namespace ${namespace} is being deleted (Terminating): nothing can be created in it`, 'pick another with --namespace-for-tests, or leave it out to have one made')
    }
    if (!existing) {
      // Pod Security "baseline" is what the test pods need (ping wants NET_RAW, which "restricted" drops):
      // said on the namespace so that a cluster whose default is "restricted" still runs them.
      await createObject(client, '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace',
        metadata: {name: namespace, labels: {...workload.labels, 'pod-security.kubernetes.io/enforce': 'baseline'}}})
      made.push({kind: 'namespace', path: `/api/v1/namespaces/${ns}`, name: namespace})
      created = true
    }
    const version = parseKubeVersion((await client.request<{gitVersion: string}>('GET', '/version')).gitVersion)
    const restricted = await podSecurityLevel(client, workload, namespace, created, existing, nodes, options)
    let services: TestServices
    try {
      services = await createServices(client, workload, namespace, options.families, version, made)
      for (const role of ROLES) {
        await createObject(client, `/apis/apps/v1/namespaces/${ns}/daemonsets`, daemonSetManifest(workload, role, nodes, options, options.includeTainted, restricted))
        made.push({kind: 'daemonset', path: `/apis/apps/v1/namespaces/${ns}/daemonsets/${workload.daemonSet[role]}`, name: workload.daemonSet[role], namespace})
      }
    } catch (error) {
      // The names are the run's own, so one that is taken was not made by it: left alone, and said so.
      if (!(error instanceof ApiError && error.code === 409)) throw error
      throw new DualstackError(`namespace ${namespace} already holds an object of the name this run picked (${error.message.split(' (HTTP')[0]}); it was not made by this run and is left alone`,
        ExitCode.ProblemsFound, 'run it again: each run picks new names')
    }
    const pods = await waitForTestPods(client, workload, namespace, nodes, Date.now() + options.readyTimeoutMs, options.onProgress)

    const selection = options.tests ?? ALL_TESTS
    const tests = planTests([...pods.ready.keys()], options.families, {externalTarget: options.externalTarget, serviceIsNodeLocal: services.nodeLocal})
      .filter((t) => selection.has(t.test))
    let done = 0
    let failed = 0
    const results = await mapLimit(tests, options.concurrency, async (test) => {
      const result = await runTest(client, namespace, test, pods.ready, services.byFamily, {...options, restricted})
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
    const cleanupReport = {
      namespaceCreated: created, kept: options.keep === true, run, podSecurity: restricted ? 'restricted' as const : 'baseline' as const,
      daemonSets: made.filter((m) => m.kind === 'daemonset').map((m) => m.name), services: made.filter((m) => m.kind === 'service').map((m) => m.name),
      images: {client: options.image, server: options.serverImage},
    }
    return {namespace, workload: cleanupReport, nodes, candidates: choice.targets.length, picked, ...(sample ? {sample} : {}), skipped: choice.skipped, notReady: pods.notReady,
      everywhere, results, nodeSummary, summary, ...(selection.expressions.length > 0 ? {chosen: {expressions: selection.expressions, tests: selection.tests}} : {})}
  } finally {
    unregister()
    await cleanup()
  }
}

/**
 * Whether the test pods must meet Pod Security restricted in the namespace: a dry-run of each pod (nothing is
 * stored) shows what admission makes of them, whatever decides it (the namespace's labels, the cluster's
 * defaults). Refused as they are, they are tried as restricted wants; refused still, it is admission's
 * refusal, said as such with what to do. A user who may not create pods even in dry-run is judged by the
 * namespace's enforce label.
 */
async function podSecurityLevel(client: ClusterClient, workload: Workload, namespace: string, created: boolean, existing: NamespaceObject | undefined,
  nodes: readonly string[], options: ConnectivityOptions): Promise<boolean> {
  const dryRun = async (restricted: boolean) => {
    for (const role of ROLES) {
      await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
        {query: {dryRun: 'All'}, body: templatePod(daemonSetManifest(workload, role, nodes, options, options.includeTainted, restricted))})
    }
  }
  const refused = (error: unknown, restricted: boolean): unknown => {
    if (!isAdmissionRefusal(error)) return error
    const where = created ? 'the namespace it made for the test (labelled Pod Security baseline)' : `namespace ${namespace}`
    return new DualstackError(`admission refused the test pods in ${where}${restricted ? ', also made as Pod Security restricted wants' : ''}: ${refusalText(error)}`,
      ExitCode.ClusterUnavailable, created
        ? 'a policy of the cluster refuses them: ask a cluster admin to admit them, or pass --namespace-for-tests NS naming a namespace that admits them'
        : 'pass --namespace-for-tests NS naming a namespace that admits them, or leave it out to have one made (labelled Pod Security baseline)')
  }
  const enforced = existing?.metadata?.labels?.['pod-security.kubernetes.io/enforce'] === 'restricted'
  try {
    await dryRun(false)
    return false
  } catch (error) {
    if (isRbacRefusal(error)) return enforced
    if (!isPodSecurityRefusal(error)) throw refused(error, false)
  }
  try {
    await dryRun(true)
    return true
  } catch (error) {
    if (isRbacRefusal(error)) return true
    throw refused(error, true)
  }
}

function isRbacRefusal(error: unknown): boolean {
  return error instanceof ApiError && error.code === 403 && !isAdmissionRefusal(error)
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

async function createServices(client: ClusterClient, workload: Workload, namespace: string, families: readonly Family[], version: ReturnType<typeof parseKubeVersion>,
  made: Made[]): Promise<TestServices> {
  const ns = encodeURIComponent(namespace)
  const nodeLocal = version !== undefined && atLeast(version, 1, 22)
  // Before 1.20 a Service has one family (alpha `ipFamily`): one per family.
  const specs = version && usesLegacyIpFamily(version)
    ? families.map((family) => ({name: `${workload.service}-${family}`, spec: {ipFamily: family === 'ipv4' ? 'IPv4' : 'IPv6'}}))
    : [{name: workload.service, spec: {ipFamilyPolicy: 'PreferDualStack', ...(nodeLocal ? {internalTrafficPolicy: 'Local'} : {})}}]
  const byFamily: TestServices['byFamily'] = {}
  for (const {name, spec} of specs) {
    const svc = await createObject<KubeObject & {spec?: {clusterIPs?: string[]; clusterIP?: string}}>(client, `/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1', kind: 'Service', metadata: {name, labels: workload.labels},
      spec: {...spec, selector: {...workload.labels, 'dualstack.role': 'server'}, ports: [{port: 80, targetPort: SERVER_PORT, protocol: 'TCP'}]},
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
  services: TestServices['byFamily'], options: ConnectivityOptions & {restricted: boolean}): Promise<ConnectivityResult> {
  const {family} = test
  const label = FAMILY_LABEL[family]
  const source = pods.get(test.fromNode)!.client
  const from = `${podName(source)} (${test.fromNode})`
  const timeout = options.probeTimeoutSeconds
  const result = (to: string, status: ConnectivityResult['status'], message: string, latencyMs?: number): ConnectivityResult =>
    ({...test, from, to, status, ...(latencyMs !== undefined ? {latencyMs} : {}), message})
  const execTimeoutMs = (timeout * 3 + 10) * 1000
  const exec = async (argv: string[]) => {
    try {
      const r = await client.exec(namespace, podName(source), 'client', argv, execTimeoutMs)
      return r.timedOut ? {...r, stderr: execTimedOut(podName(source), execTimeoutMs)} : r
    } catch (error) {
      // No permission is the run's error, not ten thousand failed tests.
      if (error instanceof ApiError && (error.code === 401 || error.code === 403)) throw error
      return {exitCode: -1, stdout: '', stderr: `could not run the test in ${podName(source)}: ${(error as Error).message}`, timedOut: false}
    }
  }

  if (test.test === 'dns') {
    const service = services[family]
    const fqdn = `${service?.name ?? 'the Service'}.${namespace}.svc.cluster.local`
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
    if (r.exitCode !== 0 && pingNotPermitted(r.stderr)) {
      // Not a network failure: the client pod may not open an ICMP socket.
      const why = `no NET_RAW${options.restricted ? ', as Pod Security restricted requires' : ''}, and its node does not allow unprivileged ICMP: net.ipv4.ping_group_range`
      return result(target, 'skip', `ping is not permitted in pod ${podName(source)} (${why}): ${r.stderr.trim().split('\n')[0]}`)
    }
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
    to = `service/${service?.name ?? '(none)'}`
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
