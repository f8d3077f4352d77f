import * as Flags from '@oclif/core/flags'

import {KubeCommand, kubeFlags} from '../base-command.js'
import {parseDuration} from '../cluster/duration.js'
import {runConnectivity, type ConnectivityReport} from '../connectivity/run.js'
import {CONNECTIVITY_TESTS} from '../connectivity/plan.js'
import {parseTestSelection} from '../connectivity/select.js'
import {checkRegistry, CLIENT_IMAGE, SERVER_IMAGE, withRegistry} from '../connectivity/workload.js'
import {ExitCode, UsageError} from '../errors.js'
import {connectivityJunitCases, renderConnectivity} from '../render/connectivity.js'
import {emit, outputOf} from '../render/emit.js'
import {renderJunit} from '../render/junit.js'
import {probeFlags, probeSettings, progressLine} from '../probe/options.js'

export default class Connectivity extends KubeCommand {
  static override summary = 'Prove traffic flows over both families on every node: pod to pod, from the host, to a ClusterIP and a NodePort, UDP, large packets, DNS, outside'
  static override description = `Runs a server, a client and a hostNetwork client pod on every schedulable Linux node (three DaemonSets; tainted nodes only with --include-tainted) and Services in a namespace of its own. Per family and node it tests pod to pod on the node, to the next two nodes of a ring (every node sends to two and hears from two), to the Service, DNS and optionally a host outside; then the paths of Kubernetes' dual-stack e2e suite: the pods' IPs and status.hostIPs, node to pod and node to Service from the host network namespace, a NodePort on the next node's address from a pod and from the host, a server reaching itself through its Service (hairpin), UDP to the Service, a 2,000-byte echo across nodes (an MTU problem: small packets pass, large fail), and a Service of each ipFamilyPolicy (its ClusterIPs and EndpointSlices per family). --test chooses tests by name. It sums up per node what was sent and received, and gives the verdict: the fewest faults that explain every failed test (a node dropping a family in, out or both, one test pod, the path between two nodes; a fault only one path shows, such as large packets or NodePorts, is named with that path), naming the cause when it can be read (IPv6 forwarding off, no address of the family), and saying so when the tests cannot tell two explanations apart.
Up to 100 nodes are all tested; beyond, a sample of 100 that holds every suspicious node (--sample N, --sample 0 for all). Everything it made is deleted, also on error or Ctrl-C, unless --keep: its namespace, or in a namespace of --namespace-for-tests (which stays) its DaemonSets and Services; it waits (--delete-timeout) until they are gone and names what a finalizer keeps. Its own namespace is labelled Pod Security privileged for the hostNetwork client (baseline when no host test is chosen); in a namespace enforcing restricted its other pods meet restricted, and where the hostNetwork client is refused the host tests are skips saying why.
Exit 0 when every test passed, 1 when any failed or a node's test pods never got Ready.`

  static override examples = [
    {description: 'Every node, both families', command: '<%= config.bin %> connectivity'},
    {description: 'IPv6 only, on three nodes, and a host outside', command: '<%= config.bin %> connectivity --nodes worker-1,worker-2,worker-3 --family ipv6 --external-target 2606:4700:4700::1111'},
    {description: 'A sample of 200 nodes of a big cluster, tainted ones included, its images from an internal mirror, as JUnit for CI', command: '<%= config.bin %> connectivity --sample 200 --include-tainted --image-registry registry.internal:5000/mirror -o junit > connectivity.xml'},
  ]

  static override enableJsonFlag = true
  static override flags = {
    ...kubeFlags,
    nodes: Flags.string({description: 'Test exactly these nodes (comma-separated names)', exclusive: ['node-selector']}),
    'node-selector': Flags.string({description: 'Test the nodes with these labels (a label selector, e.g. node-role.kubernetes.io/worker=true)'}),
    'include-tainted': Flags.boolean({description: 'Also test nodes with NoSchedule or NoExecute taints (the test pods tolerate every taint)'}),
    sample: Flags.integer({description: 'Test this many nodes, every suspicious one included (0: all; default: all up to 100, 100 beyond)', min: 0}),
    concurrency: Flags.integer({description: 'Execs in flight at once (the HTTP tests of a pod share one)', default: 32, min: 1}),
    'namespace-for-tests': Flags.string({description: 'Namespace for the test workload (default: a new dualstack-connectivity-xxxxxx, deleted afterwards); one that exists stays, only what the run made in it is deleted'}),
    image: Flags.string({description: 'Image of the client pods (also of the hostNetwork client; needs ping, ping6, curl, dig, nc)', default: CLIENT_IMAGE}),
    'server-image': Flags.string({description: 'Image of the server pods (agnhost netexec serves HTTP on 8080 and UDP on 8081; its curl makes the hairpin test)', default: SERVER_IMAGE}),
    'image-registry': Flags.string({description: 'Pull every test image from this registry instead of its own, keeping its repository and tag (docker.io/nicolaka/netshoot:v0.13 becomes REG/nicolaka/netshoot:v0.13): for clusters that pull only from a mirror'}),
    ...probeFlags,
    'delete-timeout': Flags.string({description: 'How long to wait for what it created to be gone after deleting it (its namespace, or its pods in --namespace-for-tests)', default: '30s'}),
    test: Flags.string({description: `Run only the tests whose names match (a regular expression; a leading ! leaves out what it matches; repeat the flag or separate with commas): ${CONNECTIVITY_TESTS.join(', ')}. Default: all`, multiple: true}),
    'external-target': Flags.string({description: 'Also ping this host or address outside the cluster from every node (what NAT outgoing enables)'}),
    output: Flags.string({char: 'o', description: 'Output format (wide adds every test)', options: ['table', 'wide', 'json', 'junit'], default: 'table'}),
  }

  async run(): Promise<ConnectivityReport> {
    const {flags} = await this.parse(Connectivity)
    const settings = probeSettings(flags)
    const nodeNames = flags.nodes?.split(',').map((n) => n.trim()).filter((n) => n !== '')
    if (nodeNames && nodeNames.length === 0) throw new UsageError('--nodes names no node', 'e.g. --nodes worker-1,worker-2')
    const tests = parseTestSelection(flags.test)
    const registry = flags['image-registry']
    const badRegistry = registry === undefined ? undefined : checkRegistry(registry)
    if (badRegistry) throw new UsageError(badRegistry)
    const image = (name: string) => (registry === undefined ? name : withRegistry(name, registry))
    const client = await this.connect(flags)
    const progress = progressLine()
    const report = await runConnectivity(client, {
      ...settings, namespace: flags['namespace-for-tests'], image: image(flags.image), serverImage: image(flags['server-image']),
      externalTarget: flags['external-target'], nodeNames, nodeSelector: flags['node-selector'], includeTainted: flags['include-tainted'],
      sample: flags.sample, concurrency: flags.concurrency, tests, deleteTimeoutMs: parseDuration(flags['delete-timeout'], '--delete-timeout'),
      onProgress: progress.update, onLeftBehind: (what: string) => process.stderr.write(`warning: ${what}\n`),
    })
    progress.done()
    const theme = () => this.theme(flags['no-color'])
    emit(this, outputOf(this, flags.output), report, {
      table: () => renderConnectivity(report, settings.families, theme(), false),
      wide: () => renderConnectivity(report, settings.families, theme(), true),
      junit: () => renderJunit('kubectl-dualstack connectivity', connectivityJunitCases(report)),
    })
    if (report.summary.fail > 0 || report.summary.notReady > 0) process.exitCode = ExitCode.ProblemsFound
    return report
  }
}
