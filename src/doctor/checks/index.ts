// Every doctor check, in report order. Ids are a contract: users pass them to --only/--skip and CI parses them.
import type {Check} from '../check.js'
import * as calico from './calico.js'
import * as calicoIpam from './ipam.js'
import * as kubeProxy from './kube-proxy.js'
import * as kubernetes from './kubernetes.js'
import * as nodes from './nodes.js'
import * as repairs from './repairs.js'
import * as services from './services.js'
import * as workloads from './workloads.js'

export const CHECKS: readonly Check[] = [
  repairs.unfinished,
  kubernetes.version, kubernetes.featureGate, kubernetes.serviceCidr, kubernetes.nodeCidrs,
  nodes.addresses, nodes.hostIps, nodes.ipv6Forwarding,
  calico.installed, calico.cniIpam, calico.nodeEnv, calico.podsReady, calico.ipv4Pool, calico.ipv6Pool,
  calico.cidrMatch, calico.natOutgoing, calico.blockSize, calicoIpam.ipam,
  kubeProxy.mode, kubeProxy.clusterCidr,
  workloads.podIps, services.dualStack, workloads.dnsService,
]
