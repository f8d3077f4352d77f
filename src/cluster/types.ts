// The small slice of Kubernetes object shapes the plugin reads. Client-node's generated models are not
// used for reads: lists are parsed as plain JSON so big clusters stream fast.

export interface ObjectMeta {
  name?: string
  namespace?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  creationTimestamp?: string
  /** Set once deletion has begun (graceful deletion, finalizers). */
  deletionTimestamp?: string
  /** What must be done before an object being deleted is gone. */
  finalizers?: string[]
  resourceVersion?: string
  uid?: string
}

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
}

export interface PodObject extends KubeObject {
  spec?: {nodeName?: string; hostNetwork?: boolean}
  status?: {phase?: string; podIP?: string; podIPs?: Array<{ip?: string}>; hostIP?: string; hostIPs?: Array<{ip?: string}>}
}

export interface KubeList<T> {
  metadata?: {continue?: string; resourceVersion?: string; remainingItemCount?: number}
  items?: T[]
}

/** kubectl's connection flags, as every cluster command accepts them. */
export interface ConnectionFlags {
  kubeconfig?: string
  context?: string
  namespace?: string
  requestTimeout?: string
  /** kubectl's overrides of the kubeconfig, with kubectl's meaning. */
  cluster?: string
  user?: string
  server?: string
  token?: string
  certificateAuthority?: string
  clientCertificate?: string
  clientKey?: string
  insecureSkipTlsVerify?: boolean
  tlsServerName?: string
  /** Impersonation: the Impersonate-User, -Group and -Uid headers. */
  as?: string
  asGroup?: string[]
  asUid?: string
}

/** Where a command is pointed: shown in errors and reports. */
export interface Target {
  context: string
  server: string
  namespace: string
  user: string
}

export interface ContainerSpec {
  name: string
  image?: string
  command?: string[]
  args?: string[]
  env?: Array<{name: string; value?: string; valueFrom?: {configMapKeyRef?: {name: string; key: string}}}>
}

export interface PodDetail extends PodObject {
  metadata?: PodObject['metadata'] & {ownerReferences?: Array<{kind: string; name: string}>}
  spec?: PodObject['spec'] & {containers?: ContainerSpec[]}
  status?: PodObject['status'] & {
    conditions?: Array<{type: string; status: string}>
    containerStatuses?: Array<{name: string; ready?: boolean; restartCount?: number; state?: {running?: {startedAt?: string}}}>
    startTime?: string
  }
}

export interface NodeObject extends KubeObject {
  spec?: {podCIDRs?: string[]; podCIDR?: string}
  status?: {addresses?: Array<{type: string; address: string}>; nodeInfo?: {kubeletVersion?: string; kubeProxyVersion?: string}}
}

export interface DaemonSetObject extends KubeObject {
  spec?: {template?: {spec?: {containers?: ContainerSpec[]; hostNetwork?: boolean}}}
  status?: {desiredNumberScheduled?: number; numberReady?: number; updatedNumberScheduled?: number}
}

/** Calico's IPPool spec, as crd.projectcalico.org/v1 and projectcalico.org/v3 both carry it. */
export interface IPPoolSpec {
  cidr?: string
  blockSize?: number
  ipipMode?: string
  vxlanMode?: string
  natOutgoing?: boolean
  disabled?: boolean
  nodeSelector?: string
  disableBGPExport?: boolean
  allowedUses?: string[]
}

export interface IPPoolObject extends KubeObject {
  spec?: IPPoolSpec
}

export interface ServiceObject extends KubeObject {
  spec?: {clusterIP?: string; clusterIPs?: string[]; ipFamilies?: string[]; ipFamilyPolicy?: string; ipFamily?: string; type?: string; selector?: Record<string, string>}
}
