// Pod Security's restricted level, as the plugin's own pods meet it: a numeric non-root user (runAsNonRoot
// alone makes the kubelet refuse an image that runs as root), no privilege escalation, every capability
// dropped, the runtime's seccomp profile. curl, dig and sleep work so; ping then needs the node's
// unprivileged ICMP (net.ipv4.ping_group_range), since NET_RAW is dropped.

/** The user and group the plugin's pods run as under restricted: nobody. */
export const RESTRICTED_USER = 65534

/** The pod spec with the security contexts restricted wants, on the pod and on every container. */
export function restrictedPodSpec<T extends {containers: Array<Record<string, unknown>>}>(spec: T): T {
  return {
    ...spec,
    securityContext: {runAsNonRoot: true, runAsUser: RESTRICTED_USER, runAsGroup: RESTRICTED_USER, seccompProfile: {type: 'RuntimeDefault'}},
    containers: spec.containers.map((c) => ({...c, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}}})),
  }
}
