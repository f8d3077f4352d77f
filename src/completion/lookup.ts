// What completion asks the cluster: names, from one page of one list, within a short time. A shell waits
// for this on every TAB, so a slow or unreachable cluster gives no candidates rather than a hung prompt.
import type {Connection, Lookup, LookupKind} from './complete.js'

/** How long a TAB may wait for the cluster, overall. DUALSTACK_COMPLETION_TIMEOUT (e.g. 500ms, 3s) changes it. */
const DEFAULT_TIMEOUT = '2s'

const PATHS: Record<Exclude<LookupKind, 'contexts'>, (namespace: string) => string> = {
  namespaces: () => '/api/v1/namespaces',
  pods: (ns) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`,
  services: (ns) => `/api/v1/namespaces/${encodeURIComponent(ns)}/services`,
  ippools: () => '/apis/crd.projectcalico.org/v1/ippools',
}

export function clusterLookup(): Lookup {
  return async (kind: LookupKind, connection: Connection): Promise<string[]> => {
    try {
      const {ClusterClient, kubeconfigContextNames} = await import('../cluster/kube.js')
      if (kind === 'contexts') return kubeconfigContextNames(connection.kubeconfig).sort()
      const {parseDuration} = await import('../cluster/duration.js')
      const timeout = process.env.DUALSTACK_COMPLETION_TIMEOUT || DEFAULT_TIMEOUT
      const timeoutMs = parseDuration(timeout, 'DUALSTACK_COMPLETION_TIMEOUT')
      const client = ClusterClient.connect({...connection, requestTimeout: timeout})
      const list = client.request<{items?: {metadata?: {name?: string}}[]}>('GET', PATHS[kind](client.target.namespace), {query: {limit: 500}})
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('completion timed out')), timeoutMs)
      })
      try {
        const answer = await Promise.race([list, deadline])
        return (answer.items ?? []).map((item) => item.metadata?.name ?? '').filter(Boolean).sort()
      } finally {
        clearTimeout(timer)
      }
    } catch {
      return [] // a TAB never prints an error into the command line
    }
  }
}
