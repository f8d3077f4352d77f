// The controllers that matter for dual-stack: pod lifecycle (schedule, Running, IPs from Calico pools),
// DaemonSet, Deployment, StatefulSet and ReplicaSet (replace deleted pods, roll on template change unless
// paused or OnDelete), Endpoints/EndpointSlices per
// family, and calico-node's start-up pool creation.
import {createHash} from 'node:crypto'

import {parseCidr, type Family} from '../../src/net/ip.js'
import type {SimCluster} from './cluster.js'
import {familyName} from './ipam.js'
import {podSecurityRefusal} from './pod-security.js'
import {versionAtLeast} from './scenario.js'
import {daemonPodFits, daemonPodMayStay, matchesNodeAffinity, untoleratedTaint} from './scheduling.js'
import {matchesLabelSelectorObject} from './selectors.js'
import {timestamp, type Obj} from './store.js'

type Env = Array<{name: string; value?: string; valueFrom?: {configMapKeyRef?: {name: string; key: string}}}>

function templateHash(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10)
}

function ownedBy(pod: Obj, owner: Obj): boolean {
  return (pod.metadata.ownerReferences ?? []).some((ref) => ref.uid === owner.metadata.uid)
}

export class Controllers {
  private running = false
  private scheduled = false
  /** Pods a kubelet is starting (podStartMs), by uid: when they will be Running. */
  private readonly starting = new Map<string, number>()
  private wake?: {due: number; timer: NodeJS.Timeout}
  /** The scenario's own pods are Running from the start; start latency is for pods created later. */
  private booted = false
  /** calico-node pods whose start-up (pool creation) has run. */
  private readonly startedCalicoPods = new Set<string>()

  /** Addresses of deleted pods, given back to IPAM on the next pass (as the CNI's DEL does). */
  private readonly released: string[] = []
  /** Deleted owners (by uid) and namespaces whose dependents the garbage collector has still to delete. */
  private readonly deletedOwners = new Set<string>()
  private readonly deletedNamespaces = new Set<string>()
  /** Namespaces being deleted: the namespace controller empties them, then removes their "kubernetes" finalizer. */
  private readonly terminatingNamespaces = new Set<string>()

  constructor(private readonly sim: SimCluster, private readonly passive = false) {
    sim.store.subscribe((event) => {
      // A passive copy's owner (the real tier's node agent) gives addresses back itself.
      if (passive) return
      if (event.type === 'DELETED' && event.object.kind === 'Pod' && !event.object.spec?.hostNetwork) {
        for (const {ip} of (event.object.status?.podIPs as Array<{ip: string}> | undefined) ?? []) this.released.push(ip)
      }
      if (event.type === 'MODIFIED' && event.object.kind === 'Namespace' && event.object.metadata.deletionTimestamp) this.terminatingNamespaces.add(event.object.metadata.name)
      if (event.type === 'DELETED') {
        if (event.object.kind === 'Namespace') this.deletedNamespaces.add(event.object.metadata.name ?? '')
        else if (OWNER_KINDS.has(event.object.kind ?? '') && event.object.metadata.uid) this.deletedOwners.add(event.object.metadata.uid)
      }
      this.schedule()
    })
  }

  private t(apiVersion: string, kind: string) {
    return this.sim.type(apiVersion, kind)
  }

  /**
   * One timer for the next pod start that falls due: a timer per pod would reconcile once per pod (a
   * thousand-node DaemonSet: two thousand full passes).
   */
  private wakeAt(due: number): void {
    if (this.wake && this.wake.due <= due) return
    if (this.wake) clearTimeout(this.wake.timer)
    const timer = setTimeout(() => {
      this.wake = undefined
      this.schedule()
    }, Math.max(0, due - Date.now()))
    timer.unref()
    this.wake = {due, timer}
  }

  /** Reconciles after the current request settles, as controllers react to watch events. */
  private schedule(): void {
    if (this.scheduled || this.running || this.passive) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.reconcile()
    })
  }

  reconcile(): void {
    if (this.running || this.passive) return
    this.running = true
    try {
      // Each pass may create objects other controllers react to; a few passes settle any chain.
      for (let pass = 0; pass < 5; pass++) {
        this.releaseAddresses()
        this.collectGarbage()
        this.finalizeNamespaces()
        const before = this.sim.store.resourceVersion
        this.daemonSets()
        this.deployments()
        this.replicaSets()
        this.statefulSets()
        this.calicoNode()
        this.tigeraOperator()
        this.pendingPods()
        this.endpoints()
        if (this.sim.store.resourceVersion === before) break
      }
    } finally {
      this.running = false
      this.booted = true
    }
  }

  private releaseAddresses(): void {
    for (const ip of this.released.splice(0)) {
      if (this.sim.scenario.calico) this.sim.calicoIpam.release(ip)
      else for (const allocator of this.sim.podAllocators.values()) if (allocator.contains(ip)) allocator.release(ip)
    }
  }

  /**
   * The garbage collector (background propagation, what kubectl and client-go ask by default) and the
   * namespace controller, done at once: dependents of a deleted owner go, and everything in a deleted namespace.
   */
  private collectGarbage(): void {
    if (this.deletedOwners.size === 0 && this.deletedNamespaces.size === 0) return
    const owners = new Set(this.deletedOwners)
    const namespaces = new Set(this.deletedNamespaces)
    this.deletedOwners.clear()
    this.deletedNamespaces.clear()
    for (const type of this.sim.registry.types.filter((t) => t.namespaced)) {
      for (const obj of this.sim.store.list(type)) {
        const orphaned = (obj.metadata.ownerReferences ?? []).some((ref) => owners.has(ref.uid))
        // Two API versions of a kind share one table: what one pass deleted is not there for the next.
        if ((orphaned || namespaces.has(obj.metadata.namespace ?? '')) && this.sim.store.get(type, obj.metadata.namespace, obj.metadata.name)) {
          this.sim.store.delete(type, obj.metadata.namespace, obj.metadata.name)
        }
      }
    }
  }

  /**
   * The namespace controller: everything in a Terminating namespace is deleted, and once nothing is left
   * (objects with finalizers stay until those are removed) its "kubernetes" finalizer goes, and with it the
   * namespace, unless finalizers of its own hold it still.
   */
  private finalizeNamespaces(): void {
    const nsType = this.t('v1', 'Namespace')
    for (const name of [...this.terminatingNamespaces]) {
      const namespace = this.sim.store.get(nsType, undefined, name)
      if (!namespace) {
        this.terminatingNamespaces.delete(name)
        continue
      }
      let left = 0
      for (const type of this.sim.registry.types.filter((t) => t.namespaced)) {
        for (const obj of this.sim.store.list(type, name)) {
          if (!this.sim.store.get(type, name, obj.metadata.name)) continue
          if (!obj.metadata.deletionTimestamp) this.sim.store.delete(type, name, obj.metadata.name)
          if (this.sim.store.get(type, name, obj.metadata.name)) left++
        }
      }
      if (left > 0 || !(namespace.spec?.finalizers ?? []).includes('kubernetes')) continue
      this.sim.store.write(nsType, {...namespace, spec: {...namespace.spec, finalizers: (namespace.spec.finalizers as string[]).filter((f) => f !== 'kubernetes')}})
    }
  }

  private nodes(): Obj[] {
    return this.sim.store.list(this.t('v1', 'Node'))
  }

  /** Nodes the scheduler places new pods on: Ready and not cordoned. */
  private readyNodes(): Obj[] {
    return this.nodes().filter((n) => isNodeReady(n) && !n.spec?.unschedulable)
  }

  private podsOf(owner: Obj): Obj[] {
    return this.sim.store.list(this.t('v1', 'Pod'), owner.metadata.namespace).filter((p) => ownedBy(p, owner))
  }

  private newPod(owner: Obj, ownerKind: string, ownerApiVersion: string, nameBase: string, hash: string, nodeName?: string): Obj {
    // A DaemonSet pod's required node affinity is replaced by its node's (pinnedToNode): not copied first, as a
    // template pinned to a thousand nodes holds a thousand terms.
    const source = owner.spec.template ?? {}
    const nodeAffinity = source.spec?.affinity?.nodeAffinity
    let template: Obj['spec']
    if (nodeName !== undefined && ownerKind === 'DaemonSet' && nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution) {
      const kept = {...nodeAffinity}
      delete kept.requiredDuringSchedulingIgnoredDuringExecution
      template = structuredClone({...source, spec: {...source.spec, affinity: {...source.spec.affinity, nodeAffinity: kept}}})
    } else {
      template = structuredClone(source)
    }
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: '',
        generateName: `${nameBase}-`,
        namespace: owner.metadata.namespace,
        labels: {...template.metadata?.labels, [ownerKind === 'DaemonSet' ? 'controller-revision-hash' : 'pod-template-hash']: hash},
        annotations: template.metadata?.annotations,
        ownerReferences: [{apiVersion: ownerApiVersion, kind: ownerKind, name: owner.metadata.name, uid: owner.metadata.uid!, controller: true}],
      },
      spec: {...(nodeName && ownerKind === 'DaemonSet' ? pinnedToNode(template.spec, nodeName) : template.spec), ...(nodeName ? {nodeName} : {})},
    }
  }

  private daemonSets(): void {
    const dsType = this.t('apps/v1', 'DaemonSet')
    const podType = this.t('v1', 'Pod')
    for (const ds of this.sim.store.list(dsType)) {
      const hash = templateHash(ds.spec?.template)
      const nodes = this.nodes()
      const eligible = nodes.filter((n) => daemonPodFits(ds.spec?.template?.spec, n))
      let refused: string | undefined
      const mayStay = new Set(nodes.filter((n) => daemonPodMayStay(ds.spec?.template?.spec, n)).map((n) => n.metadata.name))
      const pods = this.podsOf(ds)
      // Index by node once: large generated clusters have thousands of nodes.
      const byNode = new Map<string, Obj[]>()
      for (const p of pods) byNode.set(p.spec?.nodeName, [...(byNode.get(p.spec?.nodeName) ?? []), p])
      for (const node of eligible) {
        const onNode = byNode.get(node.metadata.name) ?? []
        // A template change rolls the pod: the old one goes, a new one with the new template comes. OnDelete:
        // the old one stays until someone deletes it.
        const onDelete = ds.spec?.updateStrategy?.type === 'OnDelete'
        for (const stale of onDelete ? [] : onNode.filter((p) => p.metadata.labels?.['controller-revision-hash'] !== hash)) {
          this.sim.store.delete(podType, stale.metadata.namespace, stale.metadata.name)
        }
        if (onDelete ? onNode.length === 0 : !onNode.some((p) => p.metadata.labels?.['controller-revision-hash'] === hash)) {
          const pod = this.newPod(ds, 'DaemonSet', 'apps/v1', ds.metadata.name, hash, node.metadata.name)
          const refusal = podSecurityRefusal(`${ds.metadata.name}-${hash.slice(0, 5)}`, pod.spec, this.sim.store.get(this.t('v1', 'Namespace'), undefined, ds.metadata.namespace ?? ''))
          if (refusal) refused = refusal
          else this.sim.store.create(podType, pod)
        }
      }
      for (const orphan of pods.filter((p) => !mayStay.has(p.spec?.nodeName))) {
        this.sim.store.delete(podType, orphan.metadata.namespace, orphan.metadata.name)
      }
      // The admission refusal the DaemonSet controller met, as its FailedCreate Event (one, counted up).
      if (refused) this.failedCreate(ds, `Error creating: ${refused}`)
      const current = this.podsOf(ds)
      const ready = current.filter((p) => isReady(p))
      const updated = current.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash)
      const status = {
        currentNumberScheduled: current.length, desiredNumberScheduled: eligible.length, numberMisscheduled: 0,
        numberReady: ready.length, numberAvailable: ready.length, numberUnavailable: eligible.length - ready.length,
        updatedNumberScheduled: updated.length, observedGeneration: ds.metadata.generation,
      }
      if (JSON.stringify(status) !== JSON.stringify(ds.status)) this.sim.store.write(dsType, {...ds, status})
    }
  }

  private deployments(): void {
    const deployType = this.t('apps/v1', 'Deployment')
    const rsType = this.t('apps/v1', 'ReplicaSet')
    const podType = this.t('v1', 'Pod')
    for (const deploy of this.sim.store.list(deployType)) {
      const hash = templateHash(deploy.spec?.template)
      const replicas: number = deploy.spec?.replicas ?? 1
      const sets = this.sim.store.list(rsType, deploy.metadata.namespace).filter((rs) => ownedBy(rs, deploy))
      let current = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash)
      // A paused Deployment makes no new ReplicaSet for a changed template: its pods stay as they are.
      if (!current && deploy.spec?.paused) {
        if (sets.length === 0) continue
        current = sets[0]!
      }
      if (!current) {
        current = this.sim.store.create(rsType, {
          apiVersion: 'apps/v1', kind: 'ReplicaSet',
          metadata: {name: `${deploy.metadata.name}-${hash}`, namespace: deploy.metadata.namespace, labels: {...deploy.spec?.template?.metadata?.labels, 'pod-template-hash': hash},
            ownerReferences: [{apiVersion: 'apps/v1', kind: 'Deployment', name: deploy.metadata.name, uid: deploy.metadata.uid!, controller: true}]},
          spec: {replicas, selector: deploy.spec?.selector, template: deploy.spec?.template},
        })
      }
      for (const old of sets.filter((rs) => rs !== current)) {
        for (const pod of this.podsOf(old)) this.sim.store.delete(podType, pod.metadata.namespace, pod.metadata.name)
        this.sim.store.delete(rsType, old.metadata.namespace, old.metadata.name)
      }
      const pods = this.podsOf(current)
      for (let i = pods.length; i < replicas; i++) this.sim.store.create(podType, this.newPod(current, 'ReplicaSet', 'apps/v1', current.metadata.name, hash))
      for (const extra of pods.slice(replicas)) this.sim.store.delete(podType, extra.metadata.namespace, extra.metadata.name)
      const ready = this.podsOf(current).filter((p) => isReady(p)).length
      const status = {
        observedGeneration: deploy.metadata.generation, replicas, updatedReplicas: current.metadata.labels?.['pod-template-hash'] === hash ? replicas : 0, readyReplicas: ready, availableReplicas: ready,
        conditions: [
          {type: 'Available', status: ready >= replicas ? 'True' : 'False', reason: ready >= replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable'},
          {type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${current.metadata.name}" has successfully progressed.`},
        ],
      }
      if (JSON.stringify(status) !== JSON.stringify(deploy.status)) this.sim.store.write(deployType, {...deploy, status})
    }
  }

  /** ReplicaSets of their own (no Deployment): spec.replicas pods from the template, none rolled on a template change. */
  private replicaSets(): void {
    const rsType = this.t('apps/v1', 'ReplicaSet')
    const podType = this.t('v1', 'Pod')
    for (const rs of this.sim.store.list(rsType)) {
      if ((rs.metadata.ownerReferences ?? []).some((ref) => ref.controller)) continue
      const replicas: number = rs.spec?.replicas ?? 1
      const pods = this.podsOf(rs)
      for (let i = pods.length; i < replicas; i++) {
        const pod = this.newPod(rs, 'ReplicaSet', 'apps/v1', rs.metadata.name, '')
        pod.metadata.labels = {...rs.spec?.template?.metadata?.labels}
        this.sim.store.create(podType, pod)
      }
      for (const extra of pods.slice(replicas)) this.sim.store.delete(podType, extra.metadata.namespace, extra.metadata.name)
      const ready = this.podsOf(rs).filter((p) => isReady(p)).length
      const status = {replicas: this.podsOf(rs).length, fullyLabeledReplicas: this.podsOf(rs).length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation}
      if (JSON.stringify(status) !== JSON.stringify(rs.status)) this.sim.store.write(rsType, {...rs, status})
    }
  }

  /**
   * StatefulSets: pods NAME-0..N-1 with stable names; a template change replaces them, highest ordinal first
   * (RollingUpdate), and the status's currentRevision catches up with updateRevision when all are updated.
   */
  private statefulSets(): void {
    const stsType = this.t('apps/v1', 'StatefulSet')
    const podType = this.t('v1', 'Pod')
    for (const sts of this.sim.store.list(stsType)) {
      const hash = templateHash(sts.spec?.template)
      const replicas: number = sts.spec?.replicas ?? 1
      const pods = this.podsOf(sts)
      // OnDelete replaces a pod only once someone deletes it; a partition keeps the ordinals below it.
      const strategy = sts.spec?.updateStrategy
      const partition: number = strategy?.type === 'OnDelete' ? Infinity : strategy?.rollingUpdate?.partition ?? 0
      const ordinal = (p: Obj) => Number(p.metadata.name.slice(sts.metadata.name.length + 1))
      for (const stale of pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] !== hash && ordinal(p) >= partition).sort((a, b) => b.metadata.name.localeCompare(a.metadata.name))) {
        this.sim.store.delete(podType, stale.metadata.namespace, stale.metadata.name)
      }
      for (let i = 0; i < replicas; i++) {
        const name = `${sts.metadata.name}-${i}`
        if (this.sim.store.get(podType, sts.metadata.namespace, name)) continue
        const pod = this.newPod(sts, 'StatefulSet', 'apps/v1', sts.metadata.name, hash)
        pod.metadata = {...pod.metadata, name, generateName: undefined,
          labels: {...pod.metadata.labels, 'controller-revision-hash': hash, 'statefulset.kubernetes.io/pod-name': name}}
        delete pod.metadata.labels!['pod-template-hash']
        this.sim.store.create(podType, pod)
      }
      const current = this.podsOf(sts)
      const ready = current.filter((p) => isReady(p)).length
      const updated = current.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash).length
      const revision = `${sts.metadata.name}-${hash}`
      const status = {observedGeneration: sts.metadata.generation, replicas: current.length, readyReplicas: ready, availableReplicas: ready,
        currentReplicas: updated, updatedReplicas: updated, updateRevision: revision,
        currentRevision: updated === replicas ? revision : sts.status?.currentRevision ?? revision, collisionCount: 0}
      if (JSON.stringify(status) !== JSON.stringify(sts.status)) this.sim.store.write(stsType, {...sts, status})
    }
  }

  /** New pods: scheduled on a Ready node, given addresses of every family the CNI assigns, and Running. */
  private pendingPods(): void {
    const podType = this.t('v1', 'Pod')
    const ready = this.readyNodes()
    // A kubelet runs what is bound to it whether or not its node is cordoned.
    const running = new Set(this.nodes().filter((n) => isNodeReady(n)).map((n) => n.metadata.name))
    let spread = 0
    const unpullable = new Set(this.sim.scenario.unpullableImages ?? [])
    for (const pod of this.sim.store.list(podType)) {
      if (pod.status?.phase && !(pod.status.phase === 'Pending' && this.starting.has(pod.metadata.uid ?? ''))) continue
      const stuck = ((pod.spec?.containers ?? []) as Array<{name: string; image: string}>).find((c) => unpullable.has(c.image))
      if (stuck) {
        this.sim.store.write(podType, {...pod, spec: {...pod.spec, nodeName: pod.spec?.nodeName ?? ready[0]?.metadata.name}, status: {
          phase: 'Pending', conditions: [{type: 'Ready', status: 'False', reason: 'ContainersNotReady'}],
          containerStatuses: [{name: stuck.name, image: stuck.image, ready: false, restartCount: 0, state: {waiting: {reason: 'ImagePullBackOff', message: `Back-off pulling image "${stuck.image}"`}}}],
        }})
        continue
      }
      const fits = pod.spec?.nodeName ? [] : ready.filter((n) => matchesNodeAffinity(pod.spec, n) && !untoleratedTaint(pod.spec, n))
      const nodeName: string | undefined = pod.spec?.nodeName ?? fits[spread++ % Math.max(fits.length, 1)]?.metadata.name
      // A pod bound to a NotReady node never starts (its kubelet is not there to run it).
      if (!nodeName || !running.has(nodeName)) continue
      const pending = this.sim.nodeSpec(nodeName)?.podsPending
      if (pending) {
        this.sim.store.write(podType, {...pod, spec: {...pod.spec, nodeName}, status: {
          phase: 'Pending', conditions: [{type: 'PodScheduled', status: 'True'}, {type: 'Ready', status: 'False', reason: 'ContainersNotReady'}],
          containerStatuses: ((pod.spec?.containers ?? []) as Array<{name: string; image: string}>).map((c) => ({name: c.name, image: c.image, ready: false, restartCount: 0,
            state: {waiting: {reason: pending.reason, message: pending.message}}})),
        }})
        continue
      }
      const failing = this.sim.nodeSpec(nodeName)?.podsFail
      if (failing) {
        this.crashLoop(pod, nodeName, failing)
        continue
      }
      // A kubelet takes a while to start a pod: it is Pending (ContainerCreating) on its node until then.
      const startMs = this.sim.scenario.podStartMs ?? 0
      if (startMs > 0 && this.booted) {
        const uid = pod.metadata.uid ?? pod.metadata.name
        const due = this.starting.get(uid)
        if (due === undefined) {
          this.starting.set(uid, Date.now() + startMs)
          this.wakeAt(Date.now() + startMs + 1)
          this.sim.store.write(podType, {...pod, spec: {...pod.spec, nodeName}, status: {phase: 'Pending', conditions: [{type: 'PodScheduled', status: 'True'}, {type: 'Ready', status: 'False', reason: 'ContainersNotReady'}],
            containerStatuses: ((pod.spec?.containers ?? []) as Array<{name: string; image: string}>).map((c) => ({name: c.name, image: c.image, ready: false, restartCount: 0, state: {waiting: {reason: 'ContainerCreating'}}}))}})
          continue
        }
        if (Date.now() < due) {
          this.wakeAt(due + 1)
          continue
        }
        this.starting.delete(uid)
      }
      const ips = pod.spec?.hostNetwork ? this.sim.nodeAddresses(nodeName) : this.allocatePodIps(pod, nodeName)
      // Like Calico's CNI before any pool exists: the pod stays Pending (ContainerCreating).
      if (ips === undefined) continue
      const now = timestamp()
      const containers: Array<{name: string; image: string}> = pod.spec?.containers ?? []
      this.sim.store.write(podType, {
        ...pod,
        spec: {...pod.spec, nodeName},
        status: {
          phase: 'Running',
          conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({type, status: 'True', lastTransitionTime: now})),
          hostIP: this.sim.nodeAddresses(nodeName)[0],
          // The kubelet sets status.hostIPs from 1.29 (PodHostIPs beta; alpha and off by default in 1.28).
          ...(versionAtLeast(this.sim.version, 1, 29) ? {hostIPs: this.sim.nodeAddresses(nodeName).map((ip) => ({ip}))} : {}),
          podIP: ips[0],
          podIPs: ips.map((ip) => ({ip})),
          startTime: now,
          containerStatuses: containers.map((c) => ({name: c.name, image: c.image, imageID: '', ready: true, started: true, restartCount: 0, state: {running: {startedAt: now}}})),
          qosClass: 'BestEffort',
        },
      })
    }
  }

  /** A pod whose container keeps crashing: Running, never Ready, CrashLoopBackOff, and the kubelet's BackOff Event. */
  private crashLoop(pod: Obj, nodeName: string, failing: {reason: string; message: string}): void {
    const now = timestamp()
    const containers: Array<{name: string; image: string}> = pod.spec?.containers ?? []
    this.sim.store.write(this.t('v1', 'Pod'), {...pod, spec: {...pod.spec, nodeName}, status: {
      phase: 'Running', hostIP: this.sim.nodeAddresses(nodeName)[0], startTime: now,
      conditions: [{type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`}],
      containerStatuses: containers.map((c) => ({name: c.name, image: c.image, imageID: '', ready: false, started: false, restartCount: 3,
        state: {waiting: {reason: 'CrashLoopBackOff', message: `back-off 40s restarting failed container=${c.name} pod=${pod.metadata.name}`}},
        lastState: {terminated: {exitCode: 1, reason: 'Error', message: failing.message}}})),
    }})
    this.sim.store.create(this.t('v1', 'Event'), {apiVersion: 'v1', kind: 'Event',
      metadata: {name: `${pod.metadata.name}.${Date.now().toString(16)}`, namespace: pod.metadata.namespace},
      involvedObject: {kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid},
      reason: failing.reason, message: failing.message, type: 'Warning', count: 3, firstTimestamp: now, lastTimestamp: now, source: {component: 'kubelet', host: nodeName}})
  }

  private failedCreate(owner: Obj, message: string): void {
    const eventType = this.t('v1', 'Event')
    const name = `${owner.metadata.name}.failedcreate`
    const existing = this.sim.store.get(eventType, owner.metadata.namespace, name)
    if (existing?.message === message) return // one reconcile pass is enough; later passes would count forever
    const now = timestamp()
    this.sim.store.write(eventType, {apiVersion: 'v1', kind: 'Event', metadata: {name, namespace: owner.metadata.namespace},
      involvedObject: {apiVersion: 'apps/v1', kind: owner.kind, namespace: owner.metadata.namespace, name: owner.metadata.name, uid: owner.metadata.uid},
      reason: 'FailedCreate', message, type: 'Warning', count: Number(existing?.count ?? 0) + 1, firstTimestamp: existing?.firstTimestamp ?? now, lastTimestamp: now,
      source: {component: 'daemonset-controller'}})
  }

  private installation(): Obj | undefined {
    if (!this.sim.scenario.calicoOperator) return undefined
    return this.sim.store.get(this.t('operator.tigera.io/v1', 'Installation'), undefined, 'default')
  }

  /** The Tigera operator creates the Installation's ipPools as IPPools once; it does not edit them afterwards. */
  tigeraOperator(): void {
    const installation = this.installation()
    if (!installation) return
    const poolType = this.t('crd.projectcalico.org/v1', 'IPPool')
    for (const pool of (installation.spec?.calicoNetwork?.ipPools ?? []) as Array<Record<string, string | number>>) {
      const cidr = parseCidr(String(pool.cidr ?? ''))
      if (!cidr) continue
      const name = String(pool.name ?? `default-${cidr.family}-ippool`)
      if (this.sim.store.get(poolType, undefined, name)) continue
      const encapsulation = String(pool.encapsulation ?? 'IPIP')
      this.sim.store.create(poolType, {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name}, spec: {
        cidr: cidr.text, blockSize: Number(pool.blockSize ?? (cidr.family === 'ipv4' ? 26 : 122)),
        ipipMode: encapsulation.startsWith('IPIP') && cidr.family === 'ipv4' ? 'Always' : 'Never',
        vxlanMode: encapsulation.startsWith('VXLAN') ? 'Always' : 'Never',
        natOutgoing: (pool.natOutgoing ?? 'Enabled') === 'Enabled', nodeSelector: String(pool.nodeSelector ?? 'all()')}})
    }
  }

  /** What Calico's CNI config asks for: assign_ipv4 / assign_ipv6 in calico-config's cni_network_config. */
  cniFamilies(): Family[] {
    const installation = this.installation()
    if (installation) {
      // The operator writes the CNI config with a family for each pool of the Installation.
      return [...new Set(((installation.spec?.calicoNetwork?.ipPools ?? []) as Array<{cidr?: string}>).flatMap((p) => parseCidr(p.cidr ?? '')?.family ?? []))]
    }
    const cm = this.sim.store.get(this.t('v1', 'ConfigMap'), 'kube-system', 'calico-config')
    const cni: string | undefined = (cm as {data?: Record<string, string>} | undefined)?.data?.cni_network_config
    if (!cni) return ['ipv4']
    const flag = (name: string, fallback: boolean) => {
      const m = new RegExp(`"${name}"\\s*:\\s*"?(true|false)"?`).exec(cni)
      return m ? m[1] === 'true' : fallback
    }
    return [...(flag('assign_ipv4', true) ? ['ipv4' as const] : []), ...(flag('assign_ipv6', false) ? ['ipv6' as const] : [])]
  }

  /** Addresses of every family the CNI assigns, from the first enabled pool of each; undefined while one has no pool (the CNI fails the pod). */
  allocatePodIps(pod: Obj, nodeName: string): string[] | undefined {
    const ips: string[] = []
    if (this.sim.scenario.calico) {
      for (const family of this.cniFamilies()) {
        const pool = this.sim.calicoPools(family)[0]
        // Calico's CNI fails the pod when a family it must assign has no (enabled) pool: the pod waits.
        const ip = pool && this.sim.calicoIpam.assign(pool, {namespace: pod.metadata.namespace, pod: pod.metadata.name, node: nodeName})
        if (!ip) {
          for (const given of ips) this.sim.calicoIpam.release(given)
          return undefined
        }
        ips.push(ip)
      }
    } else {
      for (const cidr of (this.sim.node(nodeName)?.spec?.podCIDRs as string[] | undefined) ?? []) ips.push(this.sim.podAllocator(cidr).allocateNext(false))
    }
    return ips
  }

  /**
   * calico-node, when it starts, creates default-ipv4-ippool / default-ipv6-ippool from its env if no pool
   * of that family exists; it never edits an existing pool. So a changed CALICO_IPV6POOL_CIDR only takes
   * effect after the pool is deleted and calico-node restarted, as the runbook does.
   */
  private calicoNode(): void {
    if (!this.sim.scenario.calico) return
    const ds = this.sim.store.get(this.t('apps/v1', 'DaemonSet'), 'kube-system', 'calico-node')
    if (!ds) return
    for (const pod of this.podsOf(ds).filter(isReady)) {
      if (this.startedCalicoPods.has(pod.metadata.uid!)) continue
      this.startedCalicoPods.add(pod.metadata.uid!)
      const container = (pod.spec?.containers ?? []).find((c: {name: string}) => c.name === 'calico-node')
      this.createDefaultPools(this.resolveEnv((container?.env ?? []) as Env, pod.metadata.namespace!))
    }
  }

  createDefaultPools(env: Record<string, string>): void {
    if (env.NO_DEFAULT_POOLS === 'true') return
    const poolType = this.t('crd.projectcalico.org/v1', 'IPPool')
    const anyPool = (family: Family) => this.sim.store.list(poolType).some((p) => parseCidr(p.spec?.cidr ?? '')?.family === family)
    if (!anyPool('ipv4')) {
      this.sim.store.create(poolType, {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv4-ippool'}, spec: {
        cidr: env.CALICO_IPV4POOL_CIDR ?? '192.168.0.0/16', blockSize: Number(env.CALICO_IPV4POOL_BLOCK_SIZE ?? 26),
        ipipMode: env.CALICO_IPV4POOL_IPIP ?? 'Always', vxlanMode: env.CALICO_IPV4POOL_VXLAN ?? 'Never',
        natOutgoing: (env.CALICO_IPV4POOL_NAT_OUTGOING ?? 'true') === 'true', nodeSelector: env.CALICO_IPV4POOL_NODE_SELECTOR ?? 'all()'}})
    }
    // calico-node's ipv6Supported() (node/pkg/lifecycle/startup, Linux): only an explicit false turns IPv6 off.
    const ipv6Enabled = !['false', '0', 'no', 'n', 'f'].includes(String(env.FELIX_IPV6SUPPORT ?? '').toLowerCase()) && (env.IP6 ?? 'none') !== 'none'
    if (ipv6Enabled && env.CALICO_IPV6POOL_CIDR && !anyPool('ipv6')) {
      this.sim.store.create(poolType, {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'default-ipv6-ippool'}, spec: {
        cidr: env.CALICO_IPV6POOL_CIDR, blockSize: Number(env.CALICO_IPV6POOL_BLOCK_SIZE ?? 122),
        ipipMode: 'Never', vxlanMode: env.CALICO_IPV6POOL_VXLAN ?? 'Never',
        natOutgoing: (env.CALICO_IPV6POOL_NAT_OUTGOING ?? 'false') === 'true', nodeSelector: env.CALICO_IPV6POOL_NODE_SELECTOR ?? 'all()'}})
    }
  }

  resolveEnv(env: Env, namespace: string): Record<string, string> {
    const out: Record<string, string> = {}
    for (const entry of env) {
      const ref = entry.valueFrom?.configMapKeyRef
      if (ref) {
        const cm = this.sim.store.get(this.t('v1', 'ConfigMap'), namespace, ref.name) as {data?: Record<string, string>} | undefined
        const value = cm?.data?.[ref.key]
        if (value !== undefined) out[entry.name] = value
      } else if (entry.value !== undefined) out[entry.name] = entry.value
    }
    return out
  }

  /** Endpoints carry the Service's primary family only; EndpointSlices are per address type. */
  private endpoints(): void {
    const svcType = this.t('v1', 'Service')
    const epType = this.t('v1', 'Endpoints')
    const sliceType = this.sim.registry.byKind('discovery.k8s.io/v1', 'EndpointSlice')
    for (const svc of this.sim.store.list(svcType)) {
      const selector: Record<string, string> | undefined = svc.spec?.selector
      if (!selector || svc.metadata.name === 'kubernetes') continue
      const ns = svc.metadata.namespace!
      const pods = this.sim.store.list(this.t('v1', 'Pod'), ns)
        .filter((p) => matchesLabelSelectorObject({matchLabels: selector}, p.metadata.labels) && isReady(p))
      const families: string[] = svc.spec.ipFamilies ?? [svc.spec.ipFamily ?? this.sim.serviceIps.primary]
      const ports = (svc.spec.ports ?? []).map((p: {name?: string; port: number; targetPort?: number | string; protocol?: string}) => ({
        ...(p.name ? {name: p.name} : {}), port: typeof p.targetPort === 'number' ? p.targetPort : p.port, protocol: p.protocol ?? 'TCP'}))
      const addressesOf = (fam: string) => pods.flatMap((p) => {
        // What is not an address (only a broken status could hold one) is no endpoint.
        const ip = (p.status?.podIPs as Array<{ip: string}> ?? []).map((x) => x.ip).find((x) => {
          const parsed = parseCidr(`${x}/${x.includes(':') ? 128 : 32}`)
          return parsed !== undefined && familyName(parsed.family) === fam
        })
        return ip ? [{ip, nodeName: p.spec?.nodeName, targetRef: {kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid}}] : []
      })
      const primary = addressesOf(families[0]!)
      const endpoints: Obj = {apiVersion: 'v1', kind: 'Endpoints', metadata: {name: svc.metadata.name, namespace: ns, labels: svc.metadata.labels},
        subsets: primary.length > 0 ? [{addresses: primary, ports}] : undefined}
      const existing = this.sim.store.get(epType, ns, svc.metadata.name)
      if (!existing) this.sim.store.create(epType, endpoints)
      else if (JSON.stringify(existing.subsets) !== JSON.stringify(endpoints.subsets)) this.sim.store.write(epType, {...endpoints, metadata: existing.metadata})
      for (const fam of sliceType ? families : []) {
        const name = `${svc.metadata.name}-${fam.toLowerCase()}`
        const slice: Obj = {apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: fam,
          metadata: {name, namespace: ns, labels: {'kubernetes.io/service-name': svc.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io'},
            ownerReferences: [{apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid!, controller: true}]},
          endpoints: addressesOf(fam).map((a) => ({addresses: [a.ip], conditions: {ready: true, serving: true, terminating: false}, nodeName: a.nodeName, targetRef: a.targetRef})),
          ports}
        const old = this.sim.store.get(sliceType!, ns, name)
        if (!old) this.sim.store.create(sliceType!, slice)
        else if (JSON.stringify(old.endpoints) !== JSON.stringify(slice.endpoints)) this.sim.store.write(sliceType!, {...slice, metadata: old.metadata})
      }
    }
  }
}

/**
 * A DaemonSet pod's spec as the controller makes it (daemon/util ReplaceDaemonSetPodNodeNameNodeAffinity):
 * the required node affinity becomes one term, metadata.name In [NODE]; the template's terms are dropped.
 */
function pinnedToNode(spec: Obj['spec'], node: string): Obj['spec'] {
  const pinned = [{matchFields: [{key: 'metadata.name', operator: 'In', values: [node]}]}]
  return {...spec, affinity: {...spec?.affinity, nodeAffinity: {...spec?.affinity?.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: pinned}}}}
}

function isNodeReady(node: Obj): boolean {
  return (node.status?.conditions ?? []).some((c: {type: string; status: string}) => c.type === 'Ready' && c.status === 'True')
}

/** Kinds whose deletion takes their dependents with them (the garbage collector follows ownerReferences). */
const OWNER_KINDS = new Set(['DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet', 'Service', 'Job'])

export function isReady(pod: Obj): boolean {
  return pod.status?.phase === 'Running' && (pod.status?.conditions ?? []).some((c: {type: string; status: string}) => c.type === 'Ready' && c.status === 'True')
}
