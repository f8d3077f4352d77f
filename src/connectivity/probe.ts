// One connectivity test, run where it is sent from: the client pod of its node, the node's hostNetwork client
// (the host network namespace), or the server pod itself (hairpin); a few read the API only (the test pods'
// addresses, the policy Services' ClusterIPs and EndpointSlices). A test that could not run is a failure that
// says so; one the cluster cannot have (a field of a later release) is a skip that says why.
import {mapLimit} from '../cluster/concurrency.js'
import type {ClusterClient} from '../cluster/kube.js'
import type {PodObject} from '../cluster/types.js'
import {ApiError} from '../errors.js'
import {atLeast, type KubeVersion} from '../k8s/version.js'
import {addressFamily, parseAddress, type Family} from '../net/ip.js'
import {rawPodIps} from '../pods/pod-ips.js'
import {curlBatchArgv, curlBodyArgv, httpUrl, pingArgv, pingHostArgv, udpHostnameArgv} from '../probe/argv.js'
import {execProbe, type ProbeRun} from '../probe/exec.js'
import {judgeHttp, judgeHttpBatch, judgePing, judgeUdp, type HttpJudgement} from '../probe/judge.js'
import type {ConnectivityOptions} from './run.js'
import type {PlannedTest} from './plan.js'
import {FAMILY_LABEL, type ConnectivityResult} from './report.js'
import {FAMILY_NAME, policyKey, SERVICE_PORT, SERVICE_UDP_PORT, type PolicyService, type TestServices} from './services.js'
import {SERVER_PORT, type TestPods} from './workload.js'

/** The echo that crosses nodes: 2,000 bytes, more than one packet of the IPv6 minimum MTU (1,280), as the e2e suite's "large requests". */
export const LARGE_PAYLOAD = '42'.repeat(1000)

/** How long a policy Service's EndpointSlices may take to list every server (the e2e suite polls 10 s). */
const SLICE_WAIT_MS = 10_000

/** The hint for host tests that cannot run: how to leave them out. */
export const WITHOUT_HOST_TESTS = "--test '!^node-to|nodeport/from-node' leaves the host tests out"

export interface TestContext {
  client: ClusterClient
  namespace: string
  pods: TestPods
  services: TestServices
  /** The tested nodes' InternalIPs, as their Node objects give them. */
  nodeAddresses: ReadonlyMap<string, readonly string[]>
  version?: KubeVersion
  /** Why there is no hostNetwork client on any node (admission refused it): the host tests are skips saying so. */
  noHost?: string
  options: ConnectivityOptions & {restricted: boolean}
}

const podName = (pod: PodObject) => pod.metadata?.name ?? ''

export function ipOf(pod: PodObject, family: Family): string | undefined {
  return rawPodIps(pod).find((ip) => addressFamily(ip) === family)
}

function nodeIp(context: TestContext, node: string, family: Family): string | undefined {
  return context.nodeAddresses.get(node)?.find((a) => addressFamily(a) === family)
}

/** An HTTP request a test makes from a pod: the tests of one pod go in one curl (Transfers). */
interface Transfer {
  source: PodObject
  container: string
  url: string
}

/** At most this many requests in one curl: a few timeouts in a row must not hold a pod's tests for long. */
const BATCH = 10

/** The tests that are one HTTP request from their source pod, with nothing to await before it: batched per pod. */
const BATCHED: ReadonlySet<string> = new Set(['pod-to-pod/same-node', 'pod-to-pod/cross-node', 'node-to-pod', 'pod-to-pod/large-payload',
  'pod-to-service', 'node-to-service', 'nodeport/from-pod', 'nodeport/from-node'])

/**
 * The HTTP requests of a run, gathered per source pod while the tests are set up, then sent as one curl per
 * pod (BATCH at most); a request made once the gathering is over (after an API read) goes alone.
 */
class Transfers {
  private readonly queued = new Map<string, Array<{transfer: Transfer; resolve: (o: HttpJudgement) => void; reject: (e: unknown) => void}>>()
  private gathering = true

  constructor(private readonly context: TestContext) {}

  request(transfer: Transfer): Promise<HttpJudgement> {
    if (!this.gathering) return this.send([transfer]).then((outcomes) => outcomes[0]!)
    return new Promise((resolve, reject) => {
      const key = `${podName(transfer.source)}/${transfer.container}`
      const list = this.queued.get(key) ?? []
      list.push({transfer, resolve, reject})
      this.queued.set(key, list)
    })
  }

  /** Ends the gathering: one job per curl to send. */
  batches(): Array<() => Promise<void>> {
    this.gathering = false
    const jobs: Array<() => Promise<void>> = []
    for (const list of this.queued.values()) {
      for (let i = 0; i < list.length; i += BATCH) {
        const chunk = list.slice(i, i + BATCH)
        jobs.push(() => this.send(chunk.map((c) => c.transfer)).then((outcomes) => chunk.forEach((c, j) => c.resolve(outcomes[j]!)),
          (error: unknown) => chunk.forEach((c) => c.reject(error))))
      }
    }
    this.queued.clear()
    return jobs
  }

  private async send(transfers: Transfer[]): Promise<HttpJudgement[]> {
    const {source, container} = transfers[0]!
    const timeout = this.context.options.probeTimeoutSeconds
    const r = await execIn(this.context, source, container, curlBatchArgv(transfers.map((t) => t.url), timeout), (timeout * (transfers.length + 2) + 10) * 1000)
    return judgeHttpBatch(r, transfers.length)
  }
}

function execIn(context: TestContext, source: PodObject, container: string, argv: string[], timeoutMs: number): Promise<ProbeRun> {
  return execProbe(context.client, {namespace: context.namespace, pod: podName(source), container}, argv, timeoutMs)
}

/**
 * Runs the tests, at most `concurrency` execs at once: the HTTP requests of each source pod in one curl, the
 * rest one exec each. Results in the order of `tests`; `onDone` after each.
 */
export async function runTests(context: TestContext, tests: readonly PlannedTest[], concurrency: number, onDone: (result: ConnectivityResult) => void): Promise<ConnectivityResult[]> {
  const transfers = new Transfers(context)
  const results: Array<Promise<ConnectivityResult>> = new Array<Promise<ConnectivityResult>>(tests.length)
  const track = (i: number) => {
    results[i] = runTest(context, tests[i]!, transfers)
    // Seen here; a rejection is the run's error, thrown below by Promise.all (or by the job that failed).
    results[i].then(onDone, () => undefined)
    return results[i]
  }
  const singles: number[] = []
  // A batched test reaches its request synchronously: by the end of this loop every request is gathered.
  tests.forEach((test, i) => (BATCHED.has(test.test) ? track(i) : singles.push(i)))
  const jobs = [...transfers.batches(), ...singles.map((i) => () => track(i).then(() => undefined))]
  await mapLimit(jobs, concurrency, (job) => job())
  return Promise.all(results)
}

export async function runTest(context: TestContext, test: PlannedTest, transfers: Transfers = new Transfers(context)): Promise<ConnectivityResult> {
  const {namespace, pods, services, options} = context
  const {family} = test
  const label = FAMILY_LABEL[family]
  const here = pods.ready.get(test.fromNode)!
  const host = pods.hosts.get(test.fromNode)
  // Who sends: the node itself for the host tests, the server for hairpin, else the node's client pod.
  const fromHost = test.test === 'node-to-pod' || test.test === 'node-to-service' || test.test === 'nodeport/from-node'
  const source = fromHost ? host : test.test === 'hairpin' ? here.server : here.client
  const container = fromHost ? 'host' : test.test === 'hairpin' ? 'server' : 'client'
  const from = `${source ? podName(source) : `the hostNetwork client`} (${test.fromNode})`
  const timeout = options.probeTimeoutSeconds
  const result = (to: string, status: ConnectivityResult['status'], message: string, latencyMs?: number): ConnectivityResult =>
    ({...test, from, to, status, ...(latencyMs !== undefined ? {latencyMs} : {}), message})
  const exec = (argv: string[]) => execIn(context, source!, container, argv, (timeout * 3 + 10) * 1000)
  const curl = async (to: string, ip: string, port: number) => {
    const judged = await transfers.request({source: source!, container, url: httpUrl(family, ip, port)})
    return result(to, judged.status, judged.message, judged.latencyMs)
  }
  if (fromHost && !host) {
    const why = context.noHost ?? pods.hostsNotReady.get(test.fromNode) ?? 'no hostNetwork client pod'
    return context.noHost ? result('-', 'skip', `${why}; ${WITHOUT_HOST_TESTS}`) : result('-', 'fail', `the hostNetwork client is not Ready: ${why}`)
  }

  switch (test.test) {
    case 'dns': {
      const service = services.byFamily[family]
      const fqdn = `${service?.name ?? 'the Service'}.${namespace}.svc.cluster.local`
      const record = family === 'ipv6' ? 'AAAA' : 'A'
      if (!service) return result(fqdn, 'fail', `the Service got no ${label} ClusterIP, so there is no ${record} record`)
      const r = await exec(['dig', '+short', record, fqdn])
      if (r.failure !== undefined) return result(fqdn, 'fail', r.failure)
      const answers = r.stdout.split('\n').map((l) => parseAddress(l)?.text).filter((a): a is string => a !== undefined)
      return answers.includes(parseAddress(service.ip)?.text ?? service.ip)
        ? result(fqdn, 'pass', `${record} ${answers.join(', ')}`)
        : result(fqdn, 'fail', `${record} lookup gave ${answers.join(', ') || 'nothing'}, expected ${service.ip}`)
    }

    case 'external': {
      const target = options.externalTarget!
      const literal = parseAddress(target)
      const argv = literal ? pingArgv(family, literal.text, 3, timeout) : pingHostArgv(family, target, 3, timeout)
      const judged = judgePing(await exec(argv), {pod: podName(here.client), restricted: options.restricted})
      // Lost on the way out over IPv6: what a pool without NAT outgoing does (not a name that does not resolve, nor a timed-out exec).
      const advice = judged.lost && family === 'ipv6' ? '; pods reach outside over IPv6 only with natOutgoing on their pool, or a routed range (kubectl dualstack doctor --only calico.ippool.nat-outgoing)' : ''
      return result(target, judged.status, `${judged.message}${advice}`, judged.latencyMs)
    }

    case 'pod-ips': {
      const named = [here.server, here.client]
      const lacking = named.filter((pod) => !ipOf(pod, family))
      if (lacking.length > 0) {
        return result('-', 'fail', lacking.map((pod) => `pod ${podName(pod)} has no ${label} address (podIPs: ${rawPodIps(pod).join(', ') || 'none'})`).join('; '))
      }
      return result('-', 'pass', named.map((pod) => `${podName(pod)} ${ipOf(pod, family)}`).join(', '))
    }

    case 'host-ips':
      return hostIps(context, test, [here.server, here.client, ...(host ? [host] : [])], result)

    case 'pod-to-pod/same-node':
    case 'pod-to-pod/cross-node':
    case 'node-to-pod': {
      const server = pods.ready.get(test.toNode!)!.server
      const to = `${podName(server)} (${test.toNode})`
      const ip = ipOf(server, family)
      if (!ip) return result(to, 'fail', `${to} has no ${label} address`)
      if (!fromHost && !ipOf(source!, family)) return result(`${to} ${ip}`, 'fail', `${podName(source!)} has no ${label} address`)
      return curl(`${to} ${ip}`, ip, SERVER_PORT)
    }

    case 'pod-to-pod/large-payload': {
      const server = pods.ready.get(test.toNode!)!.server
      const ip = ipOf(server, family)
      const to = `${podName(server)} (${test.toNode})${ip ? ` ${ip}` : ''}`
      if (!ip) return result(to, 'fail', `${podName(server)} (${test.toNode}) has no ${label} address`)
      if (!ipOf(source!, family)) return result(to, 'fail', `${podName(source!)} has no ${label} address`)
      const o = await transfers.request({source: source!, container, url: httpUrl(family, ip, SERVER_PORT, `/echo?msg=${LARGE_PAYLOAD}`)})
      if (o.status === 'pass' && o.bytes === LARGE_PAYLOAD.length) return result(to, 'pass', `2,000-byte echo, HTTP ${o.httpCode}`, o.latencyMs)
      return result(to, 'fail', o.status === 'pass' ? `the 2,000-byte echo came back as ${o.bytes} bytes (HTTP ${o.httpCode})` : `the 2,000-byte echo failed: ${o.message}`)
    }

    case 'pod-to-service':
    case 'node-to-service': {
      const service = services.byFamily[family]
      const to = `service/${service?.name ?? '(none)'}`
      if (!service) return result(to, 'fail', `${to} has no ${label} address`)
      if (!fromHost && !ipOf(source!, family)) return result(`${to} ${service.ip}`, 'fail', `${podName(source!)} has no ${label} address`)
      return curl(`${to} ${service.ip}`, service.ip, SERVICE_PORT)
    }

    case 'nodeport/from-pod':
    case 'nodeport/from-node': {
      const nodePort = services.nodePort[family]
      const address = nodeIp(context, test.toNode!, family)
      const to = `node ${test.toNode}${address ? ` ${address}` : ''} NodePort ${nodePort ?? '(none)'}`
      if (!nodePort) return result(to, 'fail', `service/${services.byFamily[family]?.name ?? workloadService(services)} has no ${label} NodePort`)
      if (!address) return result(to, 'fail', `node ${test.toNode} has no ${label} InternalIP to reach a NodePort on (the kubelet's --node-ip names one family; give it both)`)
      if (!fromHost && !ipOf(source!, family)) return result(to, 'fail', `${podName(source!)} has no ${label} address`)
      return curl(to, address, nodePort)
    }

    case 'hairpin': {
      const service = services.byFamily[family]
      const to = `service/${service?.name ?? '(none)'}`
      if (!service) return result(to, 'fail', `${to} has no ${label} address`)
      if (!ipOf(here.server, family)) return result(`${to} ${service.ip}`, 'fail', `${podName(here.server)} has no ${label} address`)
      const judged = judgeHttp(await exec(curlBodyArgv(httpUrl(family, service.ip, SERVICE_PORT, '/hostname'), timeout)))
      const self = podName(here.server)
      const by = judged.body.trim()
      if (judged.status === 'pass' && by === self) return result(`${to} ${service.ip}`, 'pass', `answered by itself (${self})`)
      if (judged.status === 'pass') {
        return services.nodeLocal
          ? result(`${to} ${service.ip}`, 'fail', `answered by ${by || 'nothing'}, not by itself, although internalTrafficPolicy Local keeps the Service on its node`)
          : result(`${to} ${service.ip}`, 'skip', `answered by ${by || 'nothing'}: without internalTrafficPolicy Local (Kubernetes 1.22) the ClusterIP may send to another node's server, so a hairpin is not sure to be tested`)
      }
      return result(`${to} ${service.ip}`, 'fail', `a server cannot reach itself through its Service: ${judged.message}`)
    }

    case 'udp-to-service': {
      const service = services.byFamily[family]
      const to = `service/${service?.name ?? '(none)'}${service ? ` ${service.ip}` : ''} udp/${SERVICE_UDP_PORT}`
      if (!service) return result(to, 'fail', `the Service has no ${label} address`)
      if (!ipOf(source!, family)) return result(to, 'fail', `${podName(source!)} has no ${label} address`)
      const servers = new Set([...pods.ready.values()].map((p) => podName(p.server)))
      const judged = judgeUdp(await exec(udpHostnameArgv(family, service.ip, SERVICE_UDP_PORT, timeout)), servers, timeout)
      return result(to, judged.status, judged.message)
    }

    case 'service/single-stack':
    case 'service/prefer-dual-stack':
    case 'service/require-dual-stack/ipv4-first':
    case 'service/require-dual-stack/ipv6-first':
      return policyTest(context, test, services.policies.get(policyKey(test.test, family)), curl, result)
  }
}

function workloadService(services: TestServices): string {
  return Object.values(services.byFamily)[0]?.name ?? 'the Service'
}

type Result = (to: string, status: ConnectivityResult['status'], message: string, latencyMs?: number) => ConnectivityResult

/**
 * status.hostIPs of the node's test pods hold the node's InternalIP of the family (the kubelet sets it from
 * Kubernetes 1.29, the PodHostIPs feature; alpha and off in 1.28). Before, a pod has status.hostIP only.
 */
function hostIps(context: TestContext, test: PlannedTest, pods: PodObject[], result: Result): ConnectivityResult {
  const label = FAMILY_LABEL[test.family]
  const address = nodeIp(context, test.fromNode, test.family)
  const read = pods.map((pod) => ({pod, ips: ((pod.status as {hostIPs?: Array<{ip?: string}>} | undefined)?.hostIPs ?? []).map((h) => h.ip ?? '')}))
  const version = context.version
  if (read.every((r) => r.ips.length === 0)) {
    const hostIP = (pods[0]?.status as {hostIP?: string} | undefined)?.hostIP
    if (version && !atLeast(version, 1, 29)) {
      return result('-', 'skip', `status.hostIPs comes with Kubernetes 1.29 (the PodHostIPs feature; alpha in 1.28); this cluster is ${version.gitVersion}: status.hostIP ${hostIP ?? 'unset'} only`)
    }
    return result('-', 'fail', `the test pods on ${test.fromNode} have no status.hostIPs (status.hostIP ${hostIP ?? 'unset'})`)
  }
  if (!address) {
    return result('-', 'fail', `node ${test.fromNode} has no ${label} InternalIP, so its pods' status.hostIPs have none (${read[0]!.ips.join(', ')}): the kubelet's --node-ip names one family; give it both (--node-ip=IPV4,IPV6)`)
  }
  const wrong = read.filter((r) => !r.ips.some((ip) => parseAddress(ip)?.text === parseAddress(address)?.text))
  if (wrong.length > 0) {
    return result(address, 'fail', wrong.map((r) => `status.hostIPs of pod ${podName(r.pod)} is ${r.ips.join(', ') || 'empty'}: not ${address}, the node's ${label} InternalIP`).join('; '))
  }
  return result(address, 'pass', `status.hostIPs of ${pods.length} pods hold ${address}`)
}

interface EndpointSliceObject {
  addressType?: string
  endpoints?: Array<{addresses?: string[]; conditions?: {ready?: boolean}}>
}

/**
 * A Service of an ipFamilyPolicy, for one family, as the e2e suite judges it: its ipFamilyPolicy and
 * ipFamilies are what was asked (in order), a ClusterIP of each family at its place, EndpointSlices of the
 * family (discovery.k8s.io/v1, addressType) listing every Ready server's address of it, none of a family it
 * does not have; then a request to its ClusterIP of the family.
 */
async function policyTest(context: TestContext, test: PlannedTest, service: PolicyService | undefined,
  curl: (to: string, ip: string, port: number) => Promise<ConnectivityResult>, result: Result): Promise<ConnectivityResult> {
  const {family} = test
  const label = FAMILY_LABEL[family]
  if (!service) return result('-', 'fail', 'the Service was not made')
  const to = `service/${service.name}`
  const wanted = service.asked.join(',')
  const asked = service.asked.length > 0 ? `${service.policy} ipFamilies ${wanted}` : service.policy
  if (service.unsupported) return result(to, 'skip', service.unsupported)
  if (service.refused) {
    // On a cluster with Services of one family, RequireDualStack is refused: what that cluster should do when one family is tested.
    const oneFamily = context.options.families.length === 1
    return service.policy === 'RequireDualStack' && oneFamily
      ? result(to, 'skip', `the API server refuses ${service.policy} (${service.refused}): Services have one family here; --family all fails on it`)
      : result(to, 'fail', `the API server refused ${asked}: ${service.refused}`)
  }
  const spec = service.spec ?? {}
  const families = spec.ipFamilies ?? []
  const ips = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])
  const problems: string[] = []
  if (spec.ipFamilyPolicy !== service.policy) problems.push(`ipFamilyPolicy ${spec.ipFamilyPolicy ?? 'unset'}, not ${service.policy}`)
  if (service.asked.length > 0 && families.join(',') !== service.asked.join(',')) problems.push(`ipFamilies ${families.join(',') || 'none'}, not ${wanted}`)
  if (service.policy !== 'SingleStack' && context.options.families.length === 2 && families.length !== 2) {
    problems.push(`${families.length === 1 ? 'one family' : 'no family'} (${families.join(',') || 'none'}): the API server has one Service range (--service-cluster-ip-range)`)
  }
  if (ips.length !== families.length || ips.some((ip, i) => FAMILY_NAME[addressFamily(ip) ?? 'ipv4'] !== families[i] || !addressFamily(ip))) {
    problems.push(`clusterIPs ${ips.join(',') || 'none'} do not follow ipFamilies ${families.join(',') || 'none'}`)
  }
  const ip = ips.find((a) => addressFamily(a) === family)
  if (!ip) problems.push(`no ${label} ClusterIP`)
  if (problems.length > 0) return result(to, 'fail', `${asked}: ${problems.join('; ')}`)

  const {ok, message: slices} = await endpointSlicesOf(context, service, family)
  if (!ok) return result(`${to} ${ip}`, 'fail', `${service.policy} ipFamilies ${families.join(',')}: ${slices}`)
  const sender = context.pods.ready.get(test.fromNode)!.client
  if (!ipOf(sender, family)) return result(`${to} ${ip}`, 'fail', `${slices}; ${podName(sender)} has no ${label} address to send from`)
  const answer = await curl(`${to} ${ip}`, ip!, SERVICE_PORT)
  return {...answer, message: `ipFamilies ${families.join(',')}, ClusterIP ${ip}; ${slices}; ${answer.message}`}
}

/**
 * Waits (bounded) until the Service's EndpointSlices of the family list every tested server's address of it,
 * and it has none of a family it does not have; what was found, for the report.
 */
async function endpointSlicesOf(context: TestContext, service: PolicyService, family: Family): Promise<{ok: boolean; message: string}> {
  const label = FAMILY_LABEL[family]
  const type = FAMILY_NAME[family]
  const servers = [...context.pods.ready.values()].map((p) => ipOf(p.server, family)).filter((ip): ip is string => ip !== undefined).map((ip) => parseAddress(ip)!.text)
  const families = service.spec?.ipFamilies ?? []
  const deadline = Date.now() + SLICE_WAIT_MS
  for (;;) {
    let slices: EndpointSliceObject[]
    try {
      slices = await context.client.listAll<EndpointSliceObject & {metadata?: {name?: string}}>(
        `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(context.namespace)}/endpointslices`, {labelSelector: `kubernetes.io/service-name=${service.name}`})
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return {ok: true, message: 'no EndpointSlices read (discovery.k8s.io/v1 is served from Kubernetes 1.21)'}
      throw error
    }
    const stray = [...new Set(slices.map((s) => s.addressType ?? '').filter((t) => (t === 'IPv4' || t === 'IPv6') && !families.includes(t)))]
    const listed = new Set(slices.filter((s) => s.addressType === type).flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false)
      .flatMap((e) => e.addresses ?? [])).map((a) => parseAddress(a)?.text ?? a))
    const missing = servers.filter((ip) => !listed.has(ip))
    if (stray.length === 0 && missing.length === 0) return {ok: true, message: `EndpointSlices ${type}: ${listed.size} endpoint${listed.size === 1 ? '' : 's'}`}
    if (Date.now() >= deadline) {
      if (stray.length > 0) return {ok: false, message: `EndpointSlices of addressType ${stray.join(', ')} for a Service of ipFamilies ${families.join(',')}`}
      return {ok: false, message: slices.some((s) => s.addressType === type)
        ? `its ${type} EndpointSlices lack ${missing.length} Ready server${missing.length === 1 ? '' : 's'} (${missing.slice(0, 3).join(', ')}) after ${SLICE_WAIT_MS / 1000}s`
        : `no EndpointSlice of addressType ${type} after ${SLICE_WAIT_MS / 1000}s (${label} endpoints are missing: the EndpointSlice controller, kube-controller-manager)`}
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** What a failed test's message gains when a simpler path between the same pods passed: the cause it points at. */
const COMPARED: ReadonlyArray<{test: string; simpler: string; samePair: boolean; note: (label: string) => string}> = [
  {test: 'pod-to-pod/large-payload', simpler: 'pod-to-pod/cross-node', samePair: true,
    note: () => 'small packets pass on this path (pod-to-pod/cross-node), large fail: an MTU problem (a tunnel or link narrower than the pods\' MTU while ICMP "packet too big" is dropped; compare the CNI\'s MTU, e.g. Calico\'s veth_mtu, with the nodes\')'},
  {test: 'nodeport/from-pod', simpler: 'pod-to-pod/cross-node', samePair: true,
    note: (label) => `the node's pods answer over ${label} (pod-to-pod/cross-node), its NodePort does not: kube-proxy on it serves no NodePort on that address (its --nodeport-addresses must hold the node's ${label} address)`},
  {test: 'nodeport/from-node', simpler: 'node-to-pod', samePair: true,
    note: (label) => `the node's pods answer its neighbour's host over ${label} (node-to-pod), its NodePort does not: kube-proxy on it serves no NodePort on that address (its --nodeport-addresses must hold the node's ${label} address)`},
  {test: 'hairpin', simpler: 'pod-to-service', samePair: false,
    note: () => 'the client pod on the node reaches the Service (pod-to-service), the server not itself through it: hairpin traffic is dropped there (the kubelet\'s --hairpin-mode, or the CNI\'s hairpin setting)'},
  {test: 'udp-to-service', simpler: 'pod-to-service', samePair: false,
    note: () => 'TCP to the same Service passes (pod-to-service), UDP does not: UDP is dropped on the way (a firewall or security group passing TCP only, kube-proxy\'s UDP rules, stale conntrack entries)'},
]

/**
 * After the run: a failure whose simpler path between the same pods passed says what the difference points
 * at (a large echo failing where a small request passed: an MTU problem; UDP failing where TCP passed...).
 */
export function noteComparisons(results: ConnectivityResult[]): void {
  const status = new Map(results.map((r) => [`${r.test} ${r.family} ${r.fromNode} ${r.toNode ?? ''}`, r.status]))
  for (const r of results) {
    if (r.status !== 'fail') continue
    const compared = COMPARED.find((c) => c.test === r.test)
    // Only a probe that ran and failed on the way: not one that could not be sent (no address of the family).
    if (!compared || !/^(curl exit|the 2,000-byte echo failed|a server cannot reach itself|no UDP answer)/.test(r.message)) continue
    const simpler = status.get(`${compared.simpler} ${r.family} ${r.fromNode} ${compared.samePair ? (r.toNode ?? '') : ''}`)
      ?? (compared.samePair ? undefined : results.find((x) => x.test === compared.simpler && x.family === r.family && x.fromNode === r.fromNode)?.status)
    if (simpler === 'pass') r.message += `; ${compared.note(FAMILY_LABEL[r.family])}`
  }
}
