// calico-node's environment, as the container would see it: literal values and configMapKeyRef resolved.

export interface EnvVar {
  name: string
  value?: string
  valueFrom?: {configMapKeyRef?: {name: string; key: string; optional?: boolean}; fieldRef?: {fieldPath: string}; secretKeyRef?: unknown}
}

export interface ResolvedEnvValue {
  value?: string
  /** Where it came from, for messages: "value", "configmap calico-config/key", or why it is missing. */
  source: string
}

export function resolveEnv(env: readonly EnvVar[], configMaps: ReadonlyMap<string, Record<string, string>>): Map<string, ResolvedEnvValue> {
  const out = new Map<string, ResolvedEnvValue>()
  for (const entry of env) {
    const ref = entry.valueFrom?.configMapKeyRef
    if (ref) {
      const value = configMaps.get(ref.name)?.[ref.key]
      out.set(entry.name, value === undefined
        ? {source: `configmap ${ref.name} key ${ref.key}, which does not exist`}
        : {value, source: `configmap ${ref.name} key ${ref.key}`})
    } else if (entry.valueFrom) {
      out.set(entry.name, {source: 'a fieldRef or secret (not read)'})
    } else {
      out.set(entry.name, {value: entry.value ?? '', source: 'value'})
    }
  }
  return out
}

/** The image tag of a container image, e.g. docker.io/calico/node:v3.26.1 -> v3.26.1. */
export function imageTag(image: string | undefined): string | undefined {
  if (!image) return undefined
  const name = image.split('@')[0]!
  const colon = name.lastIndexOf(':')
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined
}
