// connectivity: a server and a client pod on every chosen node (two DaemonSets; a third, a hostNetwork client,
// for the tests from the node itself) and Services, in a namespace of its own; then per family and node: pod
// to pod on the node, to the next two nodes of a ring, to the Service, DNS, optionally outside, and the e2e suite's
// other paths (plan.ts). Everything it made is deleted, always (also on error and Ctrl-C).
import {randomBytes} from 'node:crypto'

import {mapLimit} from '../cluster/concurrency.js'
import type {ClusterClient} from '../cluster/kube.js'
import {isAdmissionRefusal, isPodSecurityRefusal, refusalText} from '../cluster/admission.js'
import {createObject} from '../cluster/resources.js'
import {ApiError, DualstackError, ExitCode, UsageError} from '../errors.js'
import {onInterrupt} from '../interrupt.js'
import {parseKubeVersion} from '../k8s/version.js'
import {ForwardingReader} from '../cluster/node-sysctl.js'
import type {ProbeSettings} from '../probe/options.js'
import {removeWorkload, type Made, type NamespaceObject} from './cleanup.js'
import {addressSuspicions, chooseNodes, DEFAULT_SAMPLE, pickSample, type ConnectivityNodeObject} from './nodes.js'
import {HOST_TESTS, planPaths, planTests, VERDICT_BASE} from './plan.js'
import {ipOf, noteComparisons, runTests, type TestContext} from './probe.js'
import {ALL_TESTS, type TestSelection} from './select.js'
import {FAMILY_LABEL, summarizeNodes, type ConnectivityResult, type FailingEverywhere, type NodeSummary} from './report.js'
import {createServices, type TestServices} from './services.js'
import {suspectNodes, type Verdict} from './verdict.js'
import {daemonSetManifest, ROLES, selectorOf, templatePod, waitForTestPods, workloadFor, type Role, type TestPods, type Workload} from './workload.js'

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
    images: {client: string; server: string}
    /** The Pod Security level the run's own namespace was labelled with (privileged for the hostNetwork client); unset in --namespace-for-tests. */
    namespacePodSecurity?: 'baseline' | 'privileged'
    /** Whether the hostNetwork client DaemonSet ran (the host tests), and why not. */
    hostNetwork: {run: boolean; reason?: string}}
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
  /** The faults that explain the failed tests: culprit nodes, paths, and what the tests cannot tell apart. */
  verdict: Verdict
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
    const selection = options.tests ?? ALL_TESTS
    const withHost = selection.tests.some((t) => HOST_TESTS.has(t))
    if (!existing) {
      // Pod Security "baseline" is what the server and client pods need (ping wants NET_RAW, which "restricted"
      // drops); the hostNetwork client needs "privileged", the only level admitting hostNetwork (as the e2e
      // suite labels its namespaces): said on the namespace, the run's own, so that a cluster whose default is
      // stricter still runs them. Without host tests chosen it stays baseline.
      await createObject(client, '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace',
        metadata: {name: namespace, labels: {...workload.labels, 'pod-security.kubernetes.io/enforce': withHost ? 'privileged' : 'baseline'}}})
      made.push({kind: 'namespace', path: `/api/v1/namespaces/${ns}`, name: namespace})
      created = true
    }
    const version = parseKubeVersion((await client.request<{gitVersion: string}>('GET', '/version')).gitVersion)
    const restricted = await podSecurityLevel(client, workload, namespace, created ? (withHost ? 'privileged' : 'baseline') : undefined, existing, nodes, options)
    const noHost = withHost ? await hostRefusal(client, workload, namespace, created, nodes, options) : undefined
    const roles: Role[] = [...ROLES, ...(withHost && !noHost ? ['host' as const] : [])]
    let services: TestServices
    try {
      services = await createServices(client, workload, namespace, options.families, version, made, selection)
      for (const role of roles) {
        await createObject(client, `/apis/apps/v1/namespaces/${ns}/daemonsets`, daemonSetManifest(workload, role, nodes, options, options.includeTainted, restricted))
        made.push({kind: 'daemonset', path: `/apis/apps/v1/namespaces/${ns}/daemonsets/${workload.daemonSet[role]}`, name: workload.daemonSet[role], namespace})
      }
    } catch (error) {
      // The names are the run's own, so one that is taken was not made by it: left alone, and said so.
      if (!(error instanceof ApiError && error.code === 409)) throw error
      throw new DualstackError(`namespace ${namespace} already holds an object of the name this run picked (${error.message.split(' (HTTP')[0]}); it was not made by this run and is left alone`,
        ExitCode.ProblemsFound, 'run it again: each run picks new names')
    }
    const pods = await waitForTestPods(client, workload, namespace, nodes, Date.now() + options.readyTimeoutMs, options.onProgress, roles.includes('host'))

    const plan = {externalTarget: options.externalTarget, serviceIsNodeLocal: services.nodeLocal}
    const tests = [...planTests([...pods.ready.keys()], options.families, plan), ...planPaths([...pods.ready.keys()], options.families, plan)]
      .filter((t) => selection.has(t.test))
    const nodeAddresses = new Map(listed.map((n) => [n.metadata?.name ?? '', (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address)]))
    const context: TestContext = {client, namespace, pods, services, nodeAddresses, version, noHost, options: {...options, restricted}}
    let done = 0
    let failed = 0
    const results = await runTests(context, tests, options.concurrency, (result) => {
      done++
      if (result.status === 'fail') failed++
      options.onProgress?.(`testing: ${done} of ${tests.length} done${failed > 0 ? `, ${failed} failed` : ''}`)
    })
    noteComparisons(results)

    const tested = [...pods.ready.keys()]
    const causes = await readCauses(tested, results, pods.ready, forwarding, options)
    const {nodes: nodeSummary, everywhere, verdict} = summarizeNodes(tested, results, options.families, pods.notReady, causes)
    const summary = {pass: 0, fail: 0, skip: 0, notReady: pods.notReady.length}
    for (const r of results) summary[r.status]++
    const picked = options.nodeNames ? 'nodes' : options.nodeSelector ? 'node-selector' : 'all'
    const cleanupReport = {
      namespaceCreated: created, kept: options.keep === true, run, podSecurity: restricted ? 'restricted' as const : 'baseline' as const,
      daemonSets: made.filter((m) => m.kind === 'daemonset').map((m) => m.name), services: made.filter((m) => m.kind === 'service').map((m) => m.name),
      images: {client: options.image, server: options.serverImage},
      namespacePodSecurity: created ? (withHost ? 'privileged' as const : 'baseline' as const) : undefined,
      hostNetwork: withHost ? (noHost ? {run: false, reason: noHost} : {run: true}) : {run: false, reason: 'no host test chosen'},
    }
    return {namespace, workload: cleanupReport, nodes, candidates: choice.targets.length, picked, ...(sample ? {sample} : {}), skipped: choice.skipped, notReady: pods.notReady,
      everywhere, results, verdict, nodeSummary, summary, ...(selection.expressions.length > 0 ? {chosen: {expressions: selection.expressions, tests: selection.tests}} : {})}
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
async function podSecurityLevel(client: ClusterClient, workload: Workload, namespace: string, created: 'baseline' | 'privileged' | undefined, existing: NamespaceObject | undefined,
  nodes: readonly string[], options: ConnectivityOptions): Promise<boolean> {
  const dryRun = async (restricted: boolean) => {
    for (const role of ROLES) {
      await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
        {query: {dryRun: 'All'}, body: templatePod(daemonSetManifest(workload, role, nodes, options, options.includeTainted, restricted))})
    }
  }
  const refused = (error: unknown, restricted: boolean): unknown => {
    if (!isAdmissionRefusal(error)) return error
    const where = created ? `the namespace it made for the test (labelled Pod Security ${created})` : `namespace ${namespace}`
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
 * Whether admission refuses the hostNetwork client (a dry-run, nothing stored): Pod Security below privileged
 * in a namespace of --namespace-for-tests, or a policy of the cluster. Refused, the host tests are skips that
 * say why and what to do; the other tests still run. A user who may not dry-run pods tries for real.
 */
async function hostRefusal(client: ClusterClient, workload: Workload, namespace: string, created: boolean, nodes: readonly string[],
  options: ConnectivityOptions): Promise<string | undefined> {
  try {
    await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      {query: {dryRun: 'All'}, body: templatePod(daemonSetManifest(workload, 'host', nodes, options, options.includeTainted))})
    return undefined
  } catch (error) {
    if (isRbacRefusal(error)) return undefined
    if (!isAdmissionRefusal(error)) throw error
    return `admission refused the hostNetwork client in ${created ? 'the namespace it made for the test (labelled Pod Security privileged)' : `namespace ${namespace}`}: ${refusalText(error)}`
      + (created ? '' : '; leave --namespace-for-tests out (the namespace a run makes admits it), or label the namespace pod-security.kubernetes.io/enforce=privileged')
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

/**
 * Why a node fails a family, when it can be read: its test pods have no address of the family, or (IPv6)
 * forwarding is 0 on it. Read only for the nodes the verdict suspects, through calico-node as doctor does.
 */
async function readCauses(nodes: string[], results: ConnectivityResult[], pods: TestPods['ready'], forwarding: ForwardingReader,
  options: ConnectivityOptions): Promise<Map<string, string>> {
  const causes = new Map<string, string>()
  for (const family of options.families) {
    // A read finds what fails every test of the node (forwarding, addresses): the base kinds' suspects.
    const broken = suspectNodes(nodes, results.filter((r) => VERDICT_BASE.has(r.test)), family)
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
