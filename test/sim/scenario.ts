// Scenario files: a cluster described in YAML (version, CIDRs, nodes with addresses and sysctls, users,
// faults and plain Kubernetes/Calico objects). test/scenarios/*.yaml.
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'

import type {Obj} from './store.js'

export interface NodeSpec {
  name: string
  /** InternalIP addresses, any family. */
  addresses: string[]
  podCIDRs?: string[]
  sysctls?: Record<string, string>
  labels?: Record<string, string>
  ready?: boolean
  /** New pods on this node start but never get Ready (a crash-looping container), with an Event saying why. */
  podsFail?: {reason: string; message: string}
  /** Taints on the node (DaemonSet pods without a matching toleration stay off it). */
  taints?: Array<{key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'}>
  /** Cordoned (kubectl cordon): the scheduler places no new pod there; DaemonSet pods still run. */
  unschedulable?: boolean
  /** Pods bound to this node stay Pending with this container waiting reason (a registry the node cannot reach). */
  podsPending?: {reason: string; message: string}
  /** featureGates of the kubelet's config, as /configz through the node proxy shows them. */
  kubeletFeatureGates?: Record<string, boolean>
  /**
   * The largest packet the network carries to and from this node, when smaller than the pods' 1500-byte
   * interfaces while ICMP "packet too big" is lost (a PMTU black hole: a tunnel, a VPN): traffic across nodes
   * with a full-size packet (a large payload) is lost, small packets pass. A number for both families, or per family.
   */
  mtu?: number | Partial<Record<'ipv4' | 'ipv6', number>>
  /** kube-proxy's --nodeport-addresses on this node: NodePorts answer only on its addresses within these CIDRs (unset: on every one). */
  nodePortAddresses?: string[]
  /** false: a pod's packets sent back to itself through a Service are dropped on this node (the kubelet's --hairpin-mode none). */
  hairpin?: boolean
  /** UDP of these families to and from this node's pods is lost (a firewall passing TCP only), DNS to CoreDNS aside. */
  udpDropped?: Array<'ipv4' | 'ipv6'>
  /**
   * The node's host firewall: drops packets of a family between this node and other nodes, its pods' and its
   * own alike. `in`: what arrives from another node; `out`: what it sends to another node; `both`. With `peers`
   * only to or from those nodes (e.g. a pair of nodes that cannot reach each other). Traffic that stays on the
   * node, and to hosts outside the cluster, passes.
   */
  firewall?: FirewallRule[]
}

export interface FirewallRule {
  family: 'ipv4' | 'ipv6'
  direction: 'in' | 'out' | 'both'
  peers?: string[]
}

export interface RbacRule {
  verbs: string[]
  apiGroups?: string[]
  resources: string[]
  namespaces?: string[]
}

export interface UserSpec {
  name: string
  token: string
  /** Full access when true; otherwise only what `rules` allow. */
  admin?: boolean
  rules?: RbacRule[]
}

export interface FaultSpec {
  /** API verb: get, list, watch, create, update, patch, delete, exec; omitted = any. */
  verb?: string
  /** Resource plural (pods, ippools...); omitted = any. */
  resource?: string
  /** Only requests made by this user (by name). */
  user?: string
  /** Answer with this HTTP status and a proper Status body. */
  code?: number
  /** With code 403: the refusal of an admission plugin or webhook, with this message (instead of RBAC's). */
  message?: string
  /** Delay every matching request. */
  latencyMs?: number
  /** Close the connection without answering. */
  drop?: boolean
  /** Keep the connection open and never answer (an exec whose kubelet or proxy holds the upgrade). */
  hang?: boolean
  /** Only the first N matching requests are affected. */
  times?: number
  /** The first N matching requests pass untouched (to hit a later step). */
  skip?: number
  retryAfterSeconds?: number
}

export interface Scenario {
  name: string
  description?: string
  kubernetes: {version: string; distribution?: string}
  serviceCIDRs: string[]
  clusterCIDRs: string[]
  calico: boolean
  /** Calico installed by the Tigera operator: serves operator.tigera.io Installations, whose ipPools become IPPools. */
  calicoOperator?: boolean
  /** Calico's API server is installed: projectcalico.org/v3 is served, and validates IPPools as Calico does. */
  calicoApiServer?: boolean
  nodes: NodeSpec[]
  users?: UserSpec[]
  faults?: FaultSpec[]
  /** Milliseconds each exec takes (models a real kubelet round trip). */
  execLatencyMs?: number
  /** How long a scheduled pod takes to run (image pull, container start): Pending (ContainerCreating) until then. 0: at once. */
  podStartMs?: number
  /** Images no node can pull: pods using them stay Pending in ImagePullBackOff. */
  unpullableImages?: string[]
  /** Hosts outside the cluster that pods may try to reach. */
  external?: Array<{address: string; name?: string}>
  objects?: Obj[]
}

const SCENARIO_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'scenarios')

export function scenarioPath(name: string): string {
  return name.includes('/') || name.endsWith('.yaml') ? name : path.join(SCENARIO_DIR, `${name}.yaml`)
}

export function loadScenario(name: string): Scenario {
  const doc = parse(readFileSync(scenarioPath(name), 'utf8')) as Partial<Scenario>
  if (!doc.kubernetes?.version || !doc.serviceCIDRs || !doc.nodes) throw new Error(`scenario ${name}: needs kubernetes.version, serviceCIDRs and nodes`)
  return {calico: false, clusterCIDRs: [], ...doc} as Scenario
}

/** Semver-ish compare of a Kubernetes version against major.minor. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version)
  if (!m) return true
  const [maj, min] = [Number(m[1]), Number(m[2])]
  return maj > major || (maj === major && min >= minor)
}

/** One of a scenario's objects, by kind and name (for tests that change a scenario before it starts). */
export function objectOf(s: Scenario, kind: string, name: string): Obj {
  const obj = s.objects?.find((o) => o.kind === kind && o.metadata.name === name)
  if (!obj) throw new Error(`scenario ${s.name} has no ${kind} ${name}`)
  return obj
}

/**
 * The healthy cluster as the Tigera operator installs it: calico-node in calico-system with the operator's env (no
 * CALICO_IPVxPOOL_* and NO_DEFAULT_POOLS=true: it creates no pool), pools from the Installation.
 */
export function viaOperator(ipPools: Array<Record<string, unknown>>): (s: Scenario) => void {
  return (s) => {
    s.calicoOperator = true
    s.objects = s.objects!.filter((o) => o.metadata.name !== 'calico-config')
    const ds = objectOf(s, 'DaemonSet', 'calico-node')
    ds.metadata.namespace = 'calico-system'
    ds.spec.template.spec.containers[0].env = [{name: 'DATASTORE_TYPE', value: 'kubernetes'}, {name: 'IP', value: 'autodetect'}, {name: 'IP6', value: 'autodetect'}, {name: 'NO_DEFAULT_POOLS', value: 'true'}]
    s.objects.push({apiVersion: 'operator.tigera.io/v1', kind: 'Installation', metadata: {name: 'default'}, spec: {calicoNetwork: {ipPools}}})
  }
}
