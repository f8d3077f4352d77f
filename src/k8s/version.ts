// Kubernetes versions and what dual-stack needs on each.

export interface KubeVersion {
  major: number
  minor: number
  gitVersion: string
}

export function parseKubeVersion(gitVersion: string): KubeVersion | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(gitVersion.trim())
  return m ? {major: Number(m[1]), minor: Number(m[2]), gitVersion} : undefined
}

export function atLeast(v: KubeVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor)
}

export type DualStackStage = 'unsupported' | 'alpha' | 'beta' | 'ga' | 'gate-removed'

/**
 * The IPv6DualStack feature gate by release (kubernetes.io/docs/reference/command-line-tools-reference/
 * feature-gates-removed): alpha 1.15-1.20 (off by default, so every component needs it on), beta 1.21-1.22
 * (on by default), GA 1.23-1.24 (locked on), removed in 1.25: a component started with it set refuses to
 * start (kube-controller-manager kept accepting it until 1.27, kubernetes/kubernetes#116255). The runbook's
 * floor is 1.16, the first release with dual-stack pods and Services.
 */
export function dualStackStage(v: KubeVersion): DualStackStage {
  if (!atLeast(v, 1, 16)) return 'unsupported'
  if (!atLeast(v, 1, 21)) return 'alpha'
  if (!atLeast(v, 1, 23)) return 'beta'
  if (!atLeast(v, 1, 25)) return 'ga'
  return 'gate-removed'
}

/** Services carry `ipFamilies`/`ipFamilyPolicy` from 1.20; before that the alpha `ipFamily` field. */
export function usesLegacyIpFamily(v: KubeVersion): boolean {
  return !atLeast(v, 1, 20)
}

/** The value of a gate in a --feature-gates value ("A=true,B=false"); undefined when it is not set. */
export function featureGateValue(flagValue: string, gate = 'IPv6DualStack'): boolean | undefined {
  const setting = flagValue.split(',').map((kv) => kv.split('=')).find(([k]) => k?.trim() === gate)
  return setting ? setting[1]?.trim().toLowerCase() === 'true' : undefined
}
