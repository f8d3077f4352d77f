// The node agent of the real control plane tier: it plays the kubelets and calico-node of a scenario's
// nodes against a real kube-apiserver. It registers the nodes (Ready, both InternalIPs, a Hostname address
// of 127.0.0.1 and the exec server's port, so the API server's exec reaches it on loopback), heartbeats
// their Leases, runs the pods the scheduler binds (Running, Ready, addresses from the enabled Calico pools
// of each family, real IPAMBlock objects), finalises graceful deletions, creates the default pools from
// calico-node's environment when none exist, and answers exec.
//
// The behaviour is the simulator's, written once: a passive SimCluster holds a copy of the real cluster's
// objects, and its Controllers (CNI families, pool creation, IPAM) and its data-plane model (runInPod)
// decide. Only what the agent itself owns (IPPools it creates, IPAMBlocks) is written back.
import http from 'node:http'
import type {AddressInfo} from 'node:net'

import {cidrContains} from '../../src/net/ip.js'
import {SimCluster} from '../sim/cluster.js'
import {runInPod} from '../sim/exec.js'
import type {Scenario} from '../sim/scenario.js'
import {timestamp, type Obj} from '../sim/store.js'
import {Api, ApiError, sleep, type ApiObject, type WatchEvent} from './api.js'

interface Mirrored {
  path: string
  apiVersion: string
  kind: string
}

/** What the agent copies from the real server into its model. */
const MIRRORED: Mirrored[] = [
  {path: '/api/v1/nodes', apiVersion: 'v1', kind: 'Node'},
  {path: '/api/v1/pods', apiVersion: 'v1', kind: 'Pod'},
  {path: '/api/v1/services', apiVersion: 'v1', kind: 'Service'},
  {path: '/api/v1/configmaps', apiVersion: 'v1', kind: 'ConfigMap'},
  {path: '/apis/apps/v1/daemonsets', apiVersion: 'apps/v1', kind: 'DaemonSet'},
  {path: '/apis/crd.projectcalico.org/v1/ippools', apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool'},
]
const INSTALLATIONS: Mirrored = {path: '/apis/operator.tigera.io/v1/installations', apiVersion: 'operator.tigera.io/v1', kind: 'Installation'}

type Env = Array<{name: string; value?: string; valueFrom?: {configMapKeyRef?: {name: string; key: string}}}>

export interface AgentOptions {
  api: Api
  scenario: Scenario
  kubernetesVersion: string
  log?: (line: string) => void
}

function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`
}

export class NodeAgent {
  readonly model: SimCluster
  readonly api: Api
  private readonly abort = new AbortController()
  private readonly nodes: Set<string>
  /** Pods this agent has started, by uid: their addresses. */
  private readonly started = new Map<string, string[]>()
  /** What the scenario says of its pods' status (addresses from before dual-stack, a finished Job's phase), by namespace/name. */
  private readonly presets = new Map<string, {phase?: string; ips: string[]; node?: string}>()
  /** calico-node pods whose start-up (default pool creation) has run. */
  private readonly calicoStarted = new Set<string>()
  private readonly finalising = new Set<string>()
  private readonly markedPresets = new Set<string>()
  private kubeletPort = 0
  private syncing = 0
  private dirty = false
  private running = false
  private answerServer?: http.Server
  private readonly writes: Array<Promise<unknown>> = []
  /** The write in flight per object: one object's writes go in order, each with the model's latest state. */
  private readonly pushing = new Map<string, Promise<void>>()
  private readonly log: (line: string) => void

  constructor(private readonly options: AgentOptions) {
    this.api = options.api
    this.api.onError = (message) => this.log(`agent: ${message}`)
    this.log = options.log ?? (() => undefined)
    // The model has the scenario's nodes (their sysctls, external hosts), none of its objects: those are in the real server.
    this.model = new SimCluster({...options.scenario, calico: true, objects: []}, {passive: true})
    this.nodes = new Set(options.scenario.nodes.map((n) => n.name))
    for (const obj of options.scenario.objects ?? []) {
      if (obj.kind !== 'Pod' || !obj.status) continue
      const ips = ((obj.status.podIPs as Array<{ip: string}> | undefined) ?? []).map((p) => p.ip)
      this.presets.set(key(obj.metadata.namespace ?? 'default', obj.metadata.name), {phase: obj.status.phase, ips, node: obj.spec?.nodeName})
    }
    // What the model's own logic writes (pools calico-node creates, IPAM blocks) goes to the real server.
    this.model.store.subscribe((event) => {
      if (this.syncing > 0) return
      const kind = event.object.kind
      if (kind !== 'IPPool' && kind !== 'IPAMBlock') return
      const name = event.object.metadata.name!
      const previous = this.pushing.get(`${kind}/${name}`) ?? Promise.resolve()
      const next = previous.then(() => this.push(kind, name)).catch((error: unknown) => this.log(`agent: writing ${kind} ${name}: ${(error as Error).message}`))
      this.pushing.set(`${kind}/${name}`, next)
      this.writes.push(next)
    })
  }

  /** Starts the exec answer server; returns its URL (for the Go exec server). */
  async listenForExec(): Promise<string> {
    this.answerServer = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        try {
          const {namespace, pod: name, container, command} = JSON.parse(Buffer.concat(chunks).toString()) as {namespace: string; pod: string; container: string; command: string[]}
          const pod = this.model.store.get(this.model.type('v1', 'Pod'), namespace, name)
          if (!pod) {
            res.writeHead(404).end(`pod ${namespace}/${name} is not running on this agent's nodes`)
            return
          }
          if (!(pod.spec?.containers ?? []).some((c: {name: string}) => c.name === container)) {
            res.writeHead(404).end(`container ${container} is not in pod ${namespace}/${name}`)
            return
          }
          const result = runInPod(this.model, pod, command)
          res.writeHead(200, {'Content-Type': 'application/json'}).end(JSON.stringify({...result, delayMs: this.model.scenario.execLatencyMs ?? 0}))
        } catch (error) {
          res.writeHead(500).end((error as Error).message)
        }
      })
    })
    await new Promise<void>((resolve) => this.answerServer!.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.answerServer.address() as AddressInfo).port}/exec`
  }

  /** Registers the nodes, advertising the exec server's port as their kubelet endpoint, and follows the cluster until stop(). */
  async start(kubeletPort: number): Promise<void> {
    this.kubeletPort = kubeletPort
    await this.registerNodes()
    const watched = [...MIRRORED]
    if (await this.api.exists('/apis/operator.tigera.io/v1')) watched.push(INSTALLATIONS)
    const synced = watched.map((m) => new Promise<void>((resolve) => {
      void this.api.follow(m.path, (items) => {
        this.resync(m, items)
        resolve()
      }, (event) => this.apply(m, event), this.abort.signal)
    }))
    await Promise.all(synced)
    void this.heartbeats()
    this.kick()
  }

  private async registerNodes(): Promise<void> {
    for (const node of this.options.scenario.nodes) {
      const body = {
        apiVersion: 'v1', kind: 'Node',
        metadata: {name: node.name, labels: {'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...node.labels}},
        spec: {...(node.podCIDRs ? {podCIDR: node.podCIDRs[0], podCIDRs: node.podCIDRs} : {}), ...(node.taints ? {taints: node.taints} : {}), ...(node.unschedulable ? {unschedulable: true} : {})},
      }
      try {
        await this.api.request('POST', '/api/v1/nodes', body)
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 409)) throw error
      }
      await this.nodeStatus(node.name)
    }
  }

  private async nodeStatus(name: string): Promise<void> {
    const node = this.options.scenario.nodes.find((n) => n.name === name)!
    const now = timestamp()
    const ready = node.ready !== false
    const status = {
      // InternalIPs are data (never dialled); the Hostname address is how the API server reaches this agent's exec server.
      addresses: [...node.addresses.map((address) => ({type: 'InternalIP', address})), {type: 'Hostname', address: '127.0.0.1'}],
      daemonEndpoints: {kubeletEndpoint: {Port: this.kubeletPort}},
      conditions: [
        {type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'KubeletReady' : 'KubeletNotReady', message: ready ? 'kubelet is posting ready status' : 'container runtime network not ready', lastHeartbeatTime: now, lastTransitionTime: now},
        ...['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({type, status: 'False', reason: `KubeletHas${type === 'PIDPressure' ? 'SufficientPID' : type === 'MemoryPressure' ? 'SufficientMemory' : 'NoDiskPressure'}`, lastHeartbeatTime: now, lastTransitionTime: now})),
      ],
      capacity: {cpu: '8', memory: '32Gi', pods: '250', 'ephemeral-storage': '100Gi'},
      allocatable: {cpu: '8', memory: '32Gi', pods: '250', 'ephemeral-storage': '100Gi'},
      nodeInfo: {kubeletVersion: this.options.kubernetesVersion, kubeProxyVersion: this.options.kubernetesVersion, osImage: 'Linux', kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.7.0',
        operatingSystem: 'linux', architecture: 'amd64', machineID: name, systemUUID: name, bootID: name},
    }
    await this.api.request('PATCH', `/api/v1/nodes/${name}/status`, {status}, 'application/merge-patch+json')
  }

  /** Node Leases every 10 s (the node lifecycle controller's grace is 40 s), and status every minute. */
  private async heartbeats(): Promise<void> {
    let beat = 0
    while (!this.abort.signal.aborted) {
      for (const name of this.nodes) {
        if (this.options.scenario.nodes.find((n) => n.name === name)?.ready === false) continue
        const lease = {apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: {name, namespace: 'kube-node-lease'},
          spec: {holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z').replace(/(\.\d{6})\d*Z$/, '$1Z')}}
        try {
          try {
            const current = await this.api.get(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`)
            await this.api.request('PUT', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`, {...lease, metadata: {...lease.metadata, resourceVersion: current.metadata.resourceVersion}})
          } catch (error) {
            if (error instanceof ApiError && error.code === 404) await this.api.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease)
            else throw error
          }
          if (beat % 6 === 5) await this.nodeStatus(name)
        } catch (error) {
          this.log(`agent: heartbeat of ${name}: ${(error as Error).message}`)
        }
      }
      beat++
      await sleep(10_000, this.abort.signal)
    }
  }

  private type(m: Mirrored) {
    return this.model.type(m.apiVersion, m.kind)
  }

  private resync(m: Mirrored, items: ApiObject[]): void {
    const type = this.type(m)
    this.syncing++
    try {
      const seen = new Set(items.map((o) => key(o.metadata.namespace, o.metadata.name)))
      for (const obj of this.model.store.list(type)) {
        if (!seen.has(key(obj.metadata.namespace, obj.metadata.name))) this.model.store.delete(type, obj.metadata.namespace, obj.metadata.name!)
      }
      if (m.kind === 'Pod') {
        // Pods deleted while the watch was down (a relist after 410, or an API server restart) give their addresses back.
        const uids = new Set(items.map((o) => o.metadata.uid))
        for (const uid of [...this.started.keys()]) if (!uids.has(uid)) this.forget({metadata: {uid}} as Obj)
      }
      for (const item of items) this.model.store.replicate(type, {...item, apiVersion: m.apiVersion, kind: m.kind} as Obj)
    } finally {
      this.syncing--
    }
    this.kick()
  }

  /**
   * Tests' hook: called with every change the agent sees, the moment it sees it (a watch event), so that a test
   * can act as another writer exactly between two steps of a command.
   */
  onChange?: (kind: string, type: WatchEvent['type'], obj: ApiObject) => void

  private apply(m: Mirrored, event: WatchEvent): void {
    this.onChange?.(m.kind, event.type, event.object)
    const type = this.type(m)
    const obj = {...event.object, apiVersion: m.apiVersion, kind: m.kind} as Obj
    this.syncing++
    try {
      if (event.type === 'DELETED') {
        if (this.model.store.get(type, obj.metadata.namespace, obj.metadata.name!)) this.model.store.delete(type, obj.metadata.namespace, obj.metadata.name!)
        if (m.kind === 'Pod') this.forget(obj)
      } else {
        this.model.store.replicate(type, obj)
      }
    } finally {
      this.syncing--
    }
    this.kick()
  }

  /** Reconciles soon, once for a burst of events. */
  private kick(): void {
    this.dirty = true
    if (this.running) return
    this.running = true
    setImmediate(() => void this.reconcile().finally(() => {
      this.running = false
      if (this.dirty && !this.abort.signal.aborted) this.kick()
    }))
  }

  private async reconcile(): Promise<void> {
    while (this.dirty && !this.abort.signal.aborted) {
      this.dirty = false
      // The Tigera operator, on operator installs: the Installation's ipPools become IPPools once.
      this.model.controllers.tigeraOperator()
      this.markPresetAddresses()
      const pods = this.model.store.list(this.model.type('v1', 'Pod')).filter((p) => this.nodes.has(p.spec?.nodeName))
      await Promise.all(pods.map((pod) => this.reconcilePod(pod).catch((error: unknown) => {
        if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) this.log(`agent: pod ${pod.metadata.namespace}/${pod.metadata.name}: ${(error as Error).message}`)
      })))
      await Promise.all(this.writes.splice(0))
    }
  }

  /**
   * The scenario's addresses are Calico IPAM allocations before any new pod is given one (as the simulator
   * seeds them), once a pool holds them: the scenario's pools arrive after the agent starts.
   */
  private markPresetAddresses(): void {
    for (const [podKey, preset] of this.presets) {
      const [namespace, pod] = podKey.split('/')
      for (const ip of preset.ips) {
        if (!preset.node || this.markedPresets.has(ip)) continue
        if (!this.model.store.list(this.model.type('crd.projectcalico.org/v1', 'IPPool')).some((p) => cidrContains(p.spec?.cidr ?? '', ip))) continue
        this.model.calicoIpam.markUsed(ip, {namespace, pod, node: preset.node})
        this.markedPresets.add(ip)
      }
    }
  }

  private inScenarioPool(ip: string): boolean {
    return (this.options.scenario.objects ?? []).some((o) => o.kind === 'IPPool' && cidrContains(o.spec?.cidr ?? '', ip))
  }

  private async reconcilePod(pod: Obj): Promise<void> {
    const uid = pod.metadata.uid!
    const nodeName: string = pod.spec.nodeName
    const spec = this.options.scenario.nodes.find((n) => n.name === nodeName)
    if (pod.metadata.deletionTimestamp) {
      // The kubelet stops the containers, gives the addresses back (the CNI's DEL) and deletes the pod at grace 0.
      if (this.finalising.has(uid)) return
      this.finalising.add(uid)
      this.forget(pod)
      try {
        await this.api.request('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: {uid}})
      } catch (error) {
        // Gone or replaced is done; anything else (the server restarting) is tried again on the next pass.
        if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) this.retryLater(() => this.finalising.delete(uid))
        throw error
      }
      return
    }
    if (this.started.has(uid) || spec?.ready === false) return
    if (['Succeeded', 'Failed'].includes(pod.status?.phase)) return
    const containers: Array<{name: string; image: string}> = pod.spec?.containers ?? []
    const statuses = (state: Record<string, unknown>, ready = false) => containers.map((c) => ({name: c.name, image: c.image, imageID: ready ? `${c.image}@sha256:0` : '',
      ...(ready ? {containerID: `containerd://${uid.replaceAll('-', '')}`, started: true} : {}), ready, restartCount: 0, state}))
    const notReady = [{type: 'PodScheduled', status: 'True'}, {type: 'Ready', status: 'False', reason: 'ContainersNotReady'}]
    const unpullable = new Set(this.options.scenario.unpullableImages ?? [])
    const stuck = containers.find((c) => unpullable.has(c.image))
    const pending = stuck ? {reason: 'ImagePullBackOff', message: `Back-off pulling image "${stuck.image}"`} : spec?.podsPending
    if (pending) {
      await this.runPod(pod, [], {phase: 'Pending', conditions: notReady, containerStatuses: statuses({waiting: pending})})
      return
    }
    const presetKey = key(pod.metadata.namespace, pod.metadata.name)
    const preset = this.presets.get(presetKey)
    if (preset?.phase === 'Succeeded' || preset?.phase === 'Failed') {
      // A Job's pod that finished before the scenario's day: its containers exited, its addresses are gone.
      this.presets.delete(presetKey)
      await this.runPod(pod, [], {phase: preset.phase, conditions: [{type: 'Ready', status: 'False', reason: 'PodCompleted'}],
        containerStatuses: statuses({terminated: {exitCode: preset.phase === 'Succeeded' ? 0 : 1, reason: preset.phase === 'Succeeded' ? 'Completed' : 'Error'}})})
      return
    }
    let ips: string[] | undefined
    if (pod.spec?.hostNetwork) ips = this.model.nodeAddresses(nodeName)
    else if (preset && preset.ips.length > 0) {
      // The scenario's addresses, once IPAM has them (their pool may not be there yet), so that none is handed
      // out twice; an address in none of the scenario's pools is kept as it is, outside every pool.
      if (preset.ips.some((ip) => this.inScenarioPool(ip) && !this.markedPresets.has(ip))) return
      this.presets.delete(presetKey)
      ips = preset.ips
    } else {
      ips = this.model.controllers.allocatePodIps(pod, nodeName)
    }
    // Like Calico's CNI before a pool of each family exists: the pod waits in ContainerCreating.
    if (ips === undefined) {
      if (pod.status?.containerStatuses?.[0]?.state?.waiting?.reason !== 'ContainerCreating') {
        await this.patchStatus(pod, {phase: 'Pending', conditions: notReady, containerStatuses: statuses({waiting: {reason: 'ContainerCreating'}})})
      }
      return
    }
    const now = timestamp()
    const hostIps = this.model.nodeAddresses(nodeName)
    await this.runPod(pod, pod.spec?.hostNetwork ? [] : ips, {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({type, status: 'True', lastTransitionTime: now})),
      hostIP: hostIps[0], hostIPs: hostIps.map((ip) => ({ip})),
      podIP: ips[0], podIPs: ips.map((ip) => ({ip})),
      startTime: now,
      containerStatuses: statuses({running: {startedAt: now}}, true),
    })
    if (pod.metadata.labels?.['k8s-app'] === 'calico-node') this.calicoNodeStarted(pod)
  }

  /**
   * Records the pod as run by this agent with its addresses, and writes its status. A write that fails (the
   * server restarting) gives the addresses back and leaves the pod to the next pass, as a kubelet retries.
   */
  private async runPod(pod: Obj, ips: string[], status: Record<string, unknown>): Promise<void> {
    this.started.set(pod.metadata.uid!, ips)
    try {
      await this.patchStatus(pod, status)
    } catch (error) {
      this.forget(pod)
      if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) this.retryLater()
      throw error
    }
  }

  /** Reconciles again in a second (after a failed write), once `undo` has run. */
  private retryLater(undo?: () => void): void {
    setTimeout(() => {
      undo?.()
      if (!this.abort.signal.aborted) this.kick()
    }, 1000).unref()
  }

  /** calico-node's start-up: the default pools from its environment, when no pool of the family exists. */
  private calicoNodeStarted(pod: Obj): void {
    if (this.calicoStarted.has(pod.metadata.uid!)) return
    this.calicoStarted.add(pod.metadata.uid!)
    const container = (pod.spec?.containers ?? []).find((c: {name: string}) => c.name === 'calico-node')
    const env = this.model.controllers.resolveEnv((container?.env ?? []) as Env, pod.metadata.namespace!)
    this.model.controllers.createDefaultPools(env)
  }

  private forget(pod: Obj): void {
    const ips = this.started.get(pod.metadata.uid!)
    this.started.delete(pod.metadata.uid!)
    for (const ip of ips ?? []) this.model.calicoIpam.release(ip)
  }

  private async patchStatus(pod: Obj, status: Record<string, unknown>): Promise<void> {
    await this.api.request('PATCH', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
      {metadata: {uid: pod.metadata.uid}, status}, 'application/merge-patch+json')
  }

  /** Writes one of the model's own changes (an IPPool calico-node creates, an IPAMBlock) to the real server. */
  private async push(kind: string, name: string): Promise<void> {
    const base = kind === 'IPPool' ? '/apis/crd.projectcalico.org/v1/ippools' : '/apis/crd.projectcalico.org/v1/ipamblocks'
    const obj = this.model.store.get(this.model.type('crd.projectcalico.org/v1', kind), undefined, name)
    if (!obj) {
      await this.api.request('DELETE', `${base}/${name}`).catch((error: unknown) => {
        if (!(error instanceof ApiError && error.code === 404)) throw error
      })
      return
    }
    const body = {apiVersion: 'crd.projectcalico.org/v1', kind, metadata: {name, ...(obj.metadata.labels ? {labels: obj.metadata.labels} : {})}, spec: obj.spec}
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const current = await this.api.get(`${base}/${name}`).catch((error: unknown) => {
          if (error instanceof ApiError && error.code === 404) return undefined
          throw error
        })
        if (!current) await this.api.request('POST', base, body)
        else if (kind === 'IPAMBlock') await this.api.request('PUT', `${base}/${name}`, {...body, metadata: {...body.metadata, resourceVersion: current.metadata.resourceVersion}})
        return
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 409)) throw error
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await Promise.allSettled(this.writes)
    const closed = new Promise<void>((resolve) => (this.answerServer ? this.answerServer.close(() => resolve()) : resolve()))
    this.answerServer?.closeAllConnections()
    await closed
    this.api.close()
  }
}
