// kube-proxy's cluster CIDR as kube-proxy reads it: --cluster-cidr / clusterCIDR is split on "," and each part
// parsed as it is, without trimming (pkg/proxy/apis/config/validation/validation.go: strings.Split(config.ClusterCIDR,
// ",") then netutils.ParseCIDRSloppy), so "10.244.0.0/16, fd00:10:244::/56" is refused when kube-proxy starts.

export interface ProxyCidrList {
  /** The parts, trimmed, empty ones dropped: what the value was meant to say. */
  cidrs: string[]
  /** Parts with whitespace around them, as kube-proxy sees them (it refuses each). */
  spaced: string[]
  /** The value kube-proxy accepts for what was meant: the parts joined by "," alone. */
  fixed: string
}

export function readProxyCidrList(value: string): ProxyCidrList {
  const parts = value.split(',')
  const cidrs = parts.map((p) => p.trim()).filter((p) => p !== '')
  return {cidrs, spaced: parts.filter((p) => p.trim() !== '' && p !== p.trim()), fixed: cidrs.join(',')}
}

/** Why kube-proxy refuses the value's spacing ("has a space around a comma: ..."), or undefined when it does not. */
export function proxyCidrSpacingProblem(value: string): string | undefined {
  const {spaced} = readProxyCidrList(value)
  if (spaced.length === 0) return undefined
  return `has a space around a comma: kube-proxy splits it on "," without trimming and refuses ${spaced.map((p) => `"${p}"`).join(' and ')} at its next start`
}
