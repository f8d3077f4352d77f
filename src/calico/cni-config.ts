// calico-config's cni_network_config: a CNI config list with install-time placeholders (__CNI_MTU__ bare,
// "__KUBERNETES_NODE_NAME__" quoted), so it is not strict JSON until they are filled in.

export interface CalicoIpam {
  type?: string
  assignIpv4: boolean
  assignIpv6: boolean
}

export interface CniConfigReading {
  ipam?: CalicoIpam
  /** Set when the text could not be read as a CNI config at all. */
  error?: string
}

function truthy(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback
  return String(value).toLowerCase() === 'true'
}

export function readCniConfig(text: string): CniConfigReading {
  // Bare placeholders stand for numbers or objects; make them JSON values. Quoted ones are already strings.
  const filled = text.replace(/(^|[^"\w])__[A-Z0-9_]+__(?=[^"\w]|$)/g, '$10')
  let doc: unknown
  try {
    doc = JSON.parse(filled)
  } catch (error) {
    return {error: `not valid JSON even with its placeholders filled in: ${(error as Error).message}`}
  }
  const root = doc as {plugins?: Array<Record<string, unknown>>; type?: string; ipam?: Record<string, unknown>}
  const plugins = root.plugins ?? [root as Record<string, unknown>]
  const calico = plugins.find((p) => p.type === 'calico')
  const ipam = calico?.ipam as Record<string, unknown> | undefined
  if (!calico) return {error: 'no plugin of type "calico" in the CNI config'}
  if (!ipam) return {ipam: undefined}
  // Calico's CNI plugin assigns IPv4 unless told not to, and IPv6 only when asked.
  return {ipam: {type: ipam.type as string | undefined, assignIpv4: truthy(ipam.assign_ipv4, true), assignIpv6: truthy(ipam.assign_ipv6, false)}}
}
