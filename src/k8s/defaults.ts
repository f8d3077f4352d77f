// What Kubernetes components do when a setting is not given: lint and doctor judge the defaults, not silence.
// Each default names its source.

export interface Default<T> {
  value: T
  source: string
}

/** kube-controller-manager --node-cidr-mask-size-ipv4/-ipv6: pkg/controller/nodeipam/config/v1alpha1/defaults.go. */
/**
 * kubeadm before 1.21 passed kube-controller-manager an IPv6 node mask computed from the pod subnet
 * (cmd/kubeadm/app/phases/controlplane/manifests.go, calcNodeCidrSize): /120 for a /112, a multiple of 8 leaving
 * 512 to 64K nodes for a larger subnet, the subnet's own prefix for a smaller one. From 1.21 it passes none.
 */
export function kubeadmLegacyIpv6NodeMask(podPrefix: number): number {
  if (podPrefix === 112) return 120
  if (podPrefix < 112) return 128 - (Math.floor((128 - podPrefix - 1) / 8) - 1) * 8
  return podPrefix
}

export const NODE_CIDR_MASK_DEFAULTS: Record<'ipv4' | 'ipv6', Default<number>> = {
  ipv4: {value: 24, source: 'kubernetes pkg/controller/nodeipam/config/v1alpha1/defaults.go (NodeCIDRMaskSizeIPv4)'},
  ipv6: {value: 64, source: 'kubernetes pkg/controller/nodeipam/config/v1alpha1/defaults.go (NodeCIDRMaskSizeIPv6)'},
}

/** kube-proxy's mode when none is given: iptables on Linux, for RKE, RKE2 and kubeadm alike (pkg/proxy/apis/config/v1alpha1/defaults.go). */
export const PROXY_MODE_DEFAULT: Default<string> = {value: 'iptables', source: 'kubernetes pkg/proxy/apis/config/v1alpha1/defaults.go'}

/** The service range a distribution gives kube-apiserver when its file sets none: one IPv4 range, so not dual-stack. */
export const SERVICE_RANGE_DEFAULTS: Record<'rke' | 'rke2' | 'k3s' | 'rke2/k3s' | 'kubeadm' | 'k0s', Default<string>> = {
  k0s: {value: '10.96.0.0/12', source: 'docs.k0sproject.io configuration (spec.network.serviceCIDR)'},
  rke: {value: '10.43.0.0/16', source: 'rancher/rke cluster/defaults.go (DefaultServiceClusterIPRange)'},
  rke2: {value: '10.43.0.0/16', source: 'rancher/rke2 pkg/cli/cmds/server.go (service-cidr)'},
  k3s: {value: '10.43.0.0/16', source: 'k3s-io/k3s pkg/cli/cmds/server.go (service-cidr; cluster-cidr 10.42.0.0/16)'},
  'rke2/k3s': {value: '10.43.0.0/16', source: 'the same default in rancher/rke2 and k3s-io/k3s pkg/cli/cmds/server.go'},
  kubeadm: {value: '10.96.0.0/12', source: 'kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go (DefaultServicesSubnet)'},
}

/**
 * calico-node's env when unset: IP6 configures no IPv6 address (node/pkg/lifecycle/startup/startup.go); IPv6 is
 * supported unless FELIX_IPV6SUPPORT is false (Felix's Ipv6Support and calico-node's ipv6Supported()). The pool defaults (block size, NAT
 * outgoing) are calico-node's createIPPool's, in calico/pools.ts (poolFromEnv), which doctor uses too.
 */
export const CALICO_NODE_ENV_DEFAULTS: Record<'IP6' | 'FELIX_IPV6SUPPORT', Default<string>> = {
  IP6: {value: 'none', source: 'projectcalico/calico node/pkg/lifecycle/startup/startup.go'},
  FELIX_IPV6SUPPORT: {value: 'true', source: 'projectcalico/calico felix/config/config_params.go (Ipv6Support); calico-node ipv6Supported(): only an explicit false turns IPv6 off'},
}
