// Pod Security admission, as kube-apiserver enforces it from a namespace's pod-security.kubernetes.io/enforce
// label (k8s.io/pod-security-admission policy checks, the ones the plugin's pods and calico-node meet):
// baseline refuses privileged containers, host namespaces, hostPath and added capabilities beyond the
// default set; restricted also wants no privilege escalation, every capability dropped, a non-root user and a
// seccomp profile. Unlabelled namespaces are privileged (the default of an unconfigured cluster).
import type {Obj} from './store.js'

type Level = 'privileged' | 'baseline' | 'restricted'

interface Container {
  name: string
  securityContext?: {
    privileged?: boolean
    runAsUser?: number
    allowPrivilegeEscalation?: boolean
    runAsNonRoot?: boolean
    capabilities?: {add?: string[]; drop?: string[]}
    seccompProfile?: {type?: string}
  }
}

/** Capabilities baseline lets a container add (the container runtime's defaults). */
const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'])

export function enforcedLevel(namespace: Obj | undefined): Level {
  const label = namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce']
  return label === 'baseline' || label === 'restricted' ? label : 'privileged'
}

/** What the pod breaks at the level, in the apiserver's words; empty when it is admitted. */
export function podSecurityViolations(spec: Obj['spec'], level: Level): string[] {
  if (level === 'privileged') return []
  const containers: Container[] = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]
  const quoted = (list: Container[]) => list.map((c) => `"${c.name}"`).join(', ')
  const plural = (list: Container[]) => (list.length === 1 ? 'container' : 'containers')
  const found: string[] = []
  const hostNamespaces = ['hostNetwork', 'hostPID', 'hostIPC'].filter((field) => spec?.[field] === true)
  if (hostNamespaces.length > 0) found.push(`host namespaces (${hostNamespaces.map((f) => `${f}=true`).join(', ')})`)
  const privileged = containers.filter((c) => c.securityContext?.privileged === true)
  if (privileged.length > 0) found.push(`privileged (${plural(privileged)} ${quoted(privileged)} must not set securityContext.privileged=true)`)
  const added = containers.filter((c) => (c.securityContext?.capabilities?.add ?? []).some((cap) => !BASELINE_CAPABILITIES.has(cap)))
  if (added.length > 0) found.push(`non-default capabilities (${plural(added)} ${quoted(added)} must not include capabilities in securityContext.capabilities.add)`)
  const hostPath = ((spec?.volumes ?? []) as Array<{name: string; hostPath?: unknown}>).filter((v) => v.hostPath)
  if (hostPath.length > 0) found.push(`hostPath volumes (${hostPath.map((v) => `"${v.name}"`).join(', ')})`)
  if (level === 'baseline') return found

  const escalating = containers.filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
  if (escalating.length > 0) found.push(`allowPrivilegeEscalation != false (${plural(escalating)} ${quoted(escalating)} must set securityContext.allowPrivilegeEscalation=false)`)
  const undropped = containers.filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL'))
  if (undropped.length > 0) found.push(`unrestricted capabilities (${plural(undropped)} ${quoted(undropped)} must set securityContext.capabilities.drop=["ALL"])`)
  const podNonRoot = spec?.securityContext?.runAsNonRoot === true
  const root = containers.filter((c) => !(c.securityContext?.runAsNonRoot ?? podNonRoot))
  if (root.length > 0) found.push(`runAsNonRoot != true (pod or ${plural(root)} ${quoted(root)} must set securityContext.runAsNonRoot=true)`)
  const podRoot = spec?.securityContext?.runAsUser === 0
  const rootUser = containers.filter((c) => c.securityContext?.runAsUser === 0)
  if (podRoot || rootUser.length > 0) {
    const who = [...(podRoot ? ['pod'] : []), ...(rootUser.length > 0 ? [`${plural(rootUser)} ${quoted(rootUser)}`] : [])].join(' and ')
    found.push(`runAsUser=0 (${who} must not set runAsUser=0)`)
  }
  const podSeccomp = spec?.securityContext?.seccompProfile?.type
  const noSeccomp = containers.filter((c) => !['RuntimeDefault', 'Localhost'].includes(c.securityContext?.seccompProfile?.type ?? podSeccomp ?? ''))
  if (noSeccomp.length > 0) found.push(`seccompProfile (pod or ${plural(noSeccomp)} ${quoted(noSeccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`)
  return found
}

/** The apiserver's refusal text, or undefined when the pod may be created in the namespace. */
export function podSecurityRefusal(podName: string, spec: Obj['spec'], namespace: Obj | undefined): string | undefined {
  const level = enforcedLevel(namespace)
  const violations = podSecurityViolations(spec, level)
  return violations.length > 0 ? `pods "${podName}" is forbidden: violates PodSecurity "${level}:latest": ${violations.join(', ')}` : undefined
}
