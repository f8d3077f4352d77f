// svc-check: the runbook's validation for one Service, per family: ClusterIP, endpoints, ping to the
// backends and HTTP to the ClusterIP, from a pod inside the cluster.
import {randomBytes} from 'node:crypto'

import {isAdmissionRefusal, isPodSecurityRefusal, refusalText} from '../cluster/admission.js'
import type {ClusterClient} from '../cluster/kube.js'
import {ForwardingReader} from '../cluster/node-sysctl.js'
import {createPod, deletePod, getPod, isPodReady, PodNotReadyError, waitForPodGone, waitForPodReady, type PodRef} from '../cluster/resources.js'
import type {PodObject} from '../cluster/types.js'
import {ApiError, DualstackError, ExitCode, UsageError} from '../errors.js'
import {onInterrupt} from '../interrupt.js'
import {parseKubeVersion, type KubeVersion} from '../k8s/version.js'
import {addressFamily, type Family} from '../net/ip.js'
import {rawPodIps} from '../pods/pod-ips.js'
import {restrictedPodSpec} from '../pods/security.js'
import {leftBehind, stillTerminating} from '../pods/terminating.js'
import {curlArgv, httpUrl, pingArgv} from '../probe/argv.js'
import {execProbe} from '../probe/exec.js'
import {judgeHttp, judgePing, type Judgement} from '../probe/judge.js'
import type {ProbeSettings} from '../probe/options.js'
import {choosePort, dualStackAdvice, familyLabel, forwardingCause, noEndpointsCause, noHttpReason, selectorText, type SelectedPod} from './advice.js'
import {readService, type ServicePort, type ServiceView} from './service.js'

export type TestKind = 'service-ip' | 'endpoints' | 'ping' | 'http'

export interface TestResult {
  kind: TestKind
  family: Family
  target: string
  status: 'pass' | 'fail' | 'skip'
  latencyMs?: number
  message: string
}

export interface SvcCheckReport {
  service: {name: string; namespace: string; clusterIPs: string[]; ipFamilies: string[]; ipFamilyPolicy: string | null}
  source: {pod: string; created: boolean}
  results: TestResult[]
}

export interface SvcCheckOptions extends ProbeSettings {
  namespace: string
  service: string
  /** POD (in the Service's namespace) or NS/POD, as given: errors quote it verbatim. */
  from?: string
  image: string
  /** Where the test pod is created (default: the Service's namespace). */
  podNamespace?: string
  /** A Service port, by number or name. */
  port?: string
  /** How long to wait for the test pod to be gone once deleted (default 30 s). */
  deleteTimeoutMs?: number
  onProgress?: (message: string) => void
}

export const PLUGIN_LABELS = {'app.kubernetes.io/managed-by': 'kubectl-dualstack', 'app.kubernetes.io/component': 'svc-check'}
const MAX_PING_TARGETS = 3

/** --from POD or NS/POD. */
export function parseFrom(value: string, namespace: string): PodRef {
  const parts = value.split('/')
  if (parts.length === 1 && parts[0]) return {namespace, name: parts[0]}
  if (parts.length === 2 && parts[0] && parts[1]) return {namespace: parts[0], name: parts[1]}
  throw new UsageError(`--from ${value}: not a pod name or NS/POD`, 'pass --from POD or --from NS/POD')
}

async function serverVersion(client: ClusterClient): Promise<KubeVersion | undefined> {
  const info = await client.request<{gitVersion?: string}>('GET', '/version').catch(() => undefined)
  return info?.gitVersion ? parseKubeVersion(info.gitVersion) : undefined
}

/** The test pod; `restricted` meets Pod Security's restricted level (src/pods/security.ts). */
export function probePod(image: string, restricted = false): Record<string, unknown> {
  const spec = {restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [{name: 'probe', image, command: ['sleep', '3600']}]}
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {name: `dualstack-svc-check-${randomBytes(3).toString('hex')}`, labels: PLUGIN_LABELS},
    spec: restricted ? restrictedPodSpec(spec) : spec,
  }
}

/**
 * Creates the test pod: as it is first (ping needs NET_RAW), and if Pod Security refuses it, as the
 * restricted level wants. A refusal that remains is admission's, said as such, with what to do instead.
 */
async function createProbePod(client: ClusterClient, namespace: string, image: string): Promise<{ref: PodRef; restricted: boolean}> {
  try {
    return {ref: await createPod(client, namespace, probePod(image)), restricted: false}
  } catch (error) {
    if (!isPodSecurityRefusal(error)) throw admissionError(error, namespace)
  }
  try {
    return {ref: await createPod(client, namespace, probePod(image, true)), restricted: true}
  } catch (error) {
    throw admissionError(error, namespace)
  }
}

function admissionError(error: unknown, namespace: string): unknown {
  if (!isAdmissionRefusal(error)) return error
  return new DualstackError(`admission refused the test pod in namespace ${namespace}: ${refusalText(error)}`, ExitCode.ClusterUnavailable,
    'run from an existing pod (--from POD or --from NS/POD), or create the test pod in a namespace that admits it (--pod-namespace NS)')
}

/** Families the Service is meant to have: ipFamilies, or the alpha ipFamily before 1.20. */
function serviceFamilies(view: ServiceView): string[] {
  return view.spec.ipFamilies ?? (view.spec.ipFamily ? [view.spec.ipFamily] : view.clusterIPs.map((ip) => familyLabel(addressFamily(ip)!)))
}

export async function runSvcCheck(client: ClusterClient, options: SvcCheckOptions): Promise<SvcCheckReport> {
  const view = await readService(client, options.namespace, options.service)
  const port = choosePort(view, options.port)
  const version = await serverVersion(client)

  let source: PodRef
  let created = false
  let restricted = false
  let unregister = () => {}
  if (options.from) {
    source = parseFrom(options.from, options.namespace)
    const hint = 'pick a Ready pod for --from (POD or NS/POD), or leave it out to have one created'
    const pod = await getPod(client, source).catch((error: unknown) => {
      if (error instanceof ApiError && error.code === 404) throw new UsageError(`--from ${options.from}: no pod ${source.name} in namespace ${source.namespace}`, hint)
      throw error
    })
    if (!isPodReady(pod)) throw new UsageError(`--from ${options.from}: pod ${source.name} in namespace ${source.namespace} is not Running and Ready`, hint)
  } else {
    const made = await createProbePod(client, options.podNamespace ?? options.namespace, options.image)
    source = made.ref
    restricted = made.restricted
    created = true
    const pod = source
    unregister = onInterrupt(() => (options.keep ? Promise.resolve() : removeProbePod(client, pod, options)), (options.deleteTimeoutMs ?? DELETE_TIMEOUT_MS) + 5000)
  }
  try {
    let sourcePod: PodObject
    try {
      sourcePod = created ? await waitForPodReady(client, source, options.readyTimeoutMs, (state) => options.onProgress?.(`waiting for pod ${source.name} to be Ready (${state})`)) : await getPod(client, source)
    } catch (error) {
      if (error instanceof PodNotReadyError) {
        throw new DualstackError(error.message, ExitCode.ProblemsFound, `check that the image ${options.image} can be pulled (clusters often need an internal mirror: --image)`)
      }
      throw error
    }
    const {results, onPath} = await runTests(client, view, source, sourcePod, port, version, {...options, restricted})
    await explainFailures(client, onPath, view, sourcePod)
    return {
      service: {name: view.name, namespace: view.namespace, clusterIPs: view.clusterIPs, ipFamilies: serviceFamilies(view), ipFamilyPolicy: view.spec.ipFamilyPolicy ?? null},
      source: {pod: options.from ?? source.name, created},
      results,
    }
  } finally {
    unregister()
    if (created && !options.keep) await removeProbePod(client, source, options)
  }
}

const DELETE_TIMEOUT_MS = 30_000

/**
 * Deletes the test pod and waits (bounded) until it is gone. A pod that cannot be deleted, or that a
 * finalizer keeps Terminating, must not hide the results, nor go unmentioned: it is named with the command
 * that removes it.
 */
async function removeProbePod(client: ClusterClient, pod: PodRef, options: SvcCheckOptions): Promise<void> {
  try {
    await deletePod(client, pod)
  } catch (error) {
    options.onLeftBehind?.(leftBehind('pod', pod.name, pod.namespace, error))
    return
  }
  const timeoutMs = options.deleteTimeoutMs ?? DELETE_TIMEOUT_MS
  const left = await waitForPodGone(client, pod, timeoutMs).catch(() => undefined)
  if (left) options.onLeftBehind?.(stillTerminating(pod, left.metadata?.finalizers ?? [], timeoutMs))
}

/** The pods the Service's selector matches, read once and only when a family has no endpoints. */
function selectedPods(client: ClusterClient, view: ServiceView): () => Promise<SelectedPod[]> {
  let pods: Promise<SelectedPod[]> | undefined
  return () => {
    const selector = view.spec.selector
    if (!selector || Object.keys(selector).length === 0) return Promise.resolve([])
    pods ??= client.listAll<PodObject>(`/api/v1/namespaces/${encodeURIComponent(view.namespace)}/pods`, {labelSelector: selectorText(selector)})
      .then((items) => items.map((pod) => ({
        name: pod.metadata?.name ?? '', ready: isPodReady(pod),
        families: rawPodIps(pod).map((ip) => addressFamily(ip)).filter((f): f is Family => f !== undefined),
      })))
    return pods
  }
}

/** Where a headless Service's HTTP test goes: the endpoints' port for this Service port. */
function endpointPort(view: ServiceView, port: ServicePort): number {
  return view.endpointPorts.get(port.name ?? '') ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port)
}

/**
 * The tests, and among them the ping and HTTP tests that ran and failed on the path (not those whose exec timed
 * out or could not run, nor those the source pod could not send): the ones a cause on a node may explain.
 */
async function runTests(client: ClusterClient, view: ServiceView, source: PodRef, sourcePod: PodObject, port: ServicePort, version: KubeVersion | undefined,
  options: SvcCheckOptions & {restricted: boolean}): Promise<{results: TestResult[]; onPath: TestResult[]}> {
  const results: TestResult[] = []
  const onPath: TestResult[] = []
  const families = serviceFamilies(view)
  const sourceFamilies = new Set(rawPodIps(sourcePod).map((ip) => addressFamily(ip)))
  const execTimeoutMs = (options.probeTimeoutSeconds * 3 + 10) * 1000
  const container = (sourcePod.spec as {containers?: Array<{name: string}>} | undefined)?.containers?.[0]?.name ?? 'probe'
  const exec = (argv: string[]) => execProbe(client, {namespace: source.namespace, pod: source.name, container}, argv, execTimeoutMs)
  const pods = selectedPods(client, view)
  const noHttp = noHttpReason(view, port)
  const sourceName = options.from ?? source.name

  for (const family of options.families) {
    const label = familyLabel(family)
    const clusterIp = view.clusterIPs.find((ip) => addressFamily(ip) === family)
    const policy = `ipFamilyPolicy ${view.spec.ipFamilyPolicy ?? 'unset'}, families ${families.join(', ') || 'none'}`
    if (view.headless) {
      // No ClusterIP to judge by: the families it was given (its EndpointSlices follow them).
      results.push(families.includes(label)
        ? {kind: 'service-ip', family, target: view.name, status: 'pass', message: `headless Service (clusterIP None): ${label} is among its ipFamilies, DNS answers with the endpoints`}
        : {kind: 'service-ip', family, target: view.name, status: 'fail', message: `the headless Service is not of ${label} (${policy}): a single-stack Service; ${dualStackAdvice(view, family, version)}`})
    } else {
      results.push(clusterIp
        ? {kind: 'service-ip', family, target: clusterIp, status: 'pass', message: `ClusterIP ${clusterIp}`}
        : {kind: 'service-ip', family, target: view.name, status: 'fail', message: `the Service has no ${label} ClusterIP (${policy}): a single-stack Service; ${dualStackAdvice(view, family, version)}`})
    }

    const backends = view.endpoints[family]
    results.push(backends.length > 0
      ? {kind: 'endpoints', family, target: view.name, status: 'pass', message: `${backends.length} ${label} endpoint(s): ${backends.slice(0, 5).map((b) => b.ip).join(', ')}`}
      : {kind: 'endpoints', family, target: view.name, status: 'fail', message: `no ${label} endpoints: ${noEndpointsCause(view, family, families, await pods())}`})

    const sourceLacks = !sourceFamilies.has(family)
    const targets = backends.slice(0, MAX_PING_TARGETS)
    if (targets.length === 0) results.push({kind: 'ping', family, target: '-', status: 'skip', message: `no ${label} endpoint to ping`})
    for (const backend of targets) {
      if (sourceLacks) {
        results.push({kind: 'ping', family, target: backend.ip, status: 'fail', message: `the source pod ${sourceName} has no ${label} address`})
        continue
      }
      options.onProgress?.(`ping ${backend.ip}`)
      const who = backend.pod ? ` (pod ${backend.pod}${backend.node ? ` on ${backend.node}` : ''})` : ''
      const judged = judgePing(await exec(pingArgv(family, backend.ip, 3, options.probeTimeoutSeconds)), {pod: sourceName, peer: who, restricted: options.restricted})
      const result = testResult('ping', family, backend.ip, judged)
      if (judged.status === 'skip') {
        // Not a network failure: the pod may not open an ICMP socket. Said once per family, the HTTP test still runs.
        results.push({...result, message: `${judged.message}; the HTTP test covers the path`})
        break
      }
      results.push(result)
      if (judged.status === 'fail' && judged.ran) onPath.push(result)
    }

    // A headless Service has no ClusterIP: HTTP goes to an endpoint, as a client resolving its name would.
    const httpTarget = view.headless ? backends[0]?.ip : clusterIp
    const httpPort = view.headless ? endpointPort(view, port) : port.port
    if (noHttp) {
      results.push({kind: 'http', family, target: '-', status: 'skip', message: noHttp})
    } else if (!httpTarget) {
      results.push({kind: 'http', family, target: '-', status: 'skip', message: view.headless ? `no ${label} endpoint to call` : `no ${label} ClusterIP to call`})
    } else if (sourceLacks) {
      results.push({kind: 'http', family, target: `${httpTarget}:${httpPort}`, status: 'fail', message: `the source pod ${sourceName} has no ${label} address`})
    } else {
      const url = httpUrl(family, httpTarget, httpPort)
      options.onProgress?.(`curl ${url}`)
      const judged = judgeHttp(await exec(curlArgv(url, options.probeTimeoutSeconds)))
      const result = testResult('http', family, url, judged)
      results.push(result)
      if (judged.status === 'fail' && judged.ran) onPath.push(result)
    }
  }
  return {results, onPath}
}

function testResult(kind: TestKind, family: Family, target: string, judged: Judgement): TestResult {
  return {kind, family, target, status: judged.status, ...(judged.latencyMs !== undefined ? {latencyMs: judged.latencyMs} : {}), message: judged.message}
}

/** Adds the likely cause to ping/HTTP tests that failed on the path: IPv6 forwarding off on the source's or a backend's node. */
async function explainFailures(client: ClusterClient, failed: readonly TestResult[], view: ServiceView, sourcePod: PodObject): Promise<void> {
  if (failed.length === 0) return
  const reader = new ForwardingReader(client)
  for (const result of failed) {
    const backends = view.endpoints[result.family].filter((b) => result.kind === 'http' || b.ip === result.target)
    const off = result.family === 'ipv6' ? await reader.ipv6ForwardingOff([sourcePod.spec?.nodeName, ...backends.map((b) => b.node)]) : []
    result.message += forwardingCause(off)
  }
}
