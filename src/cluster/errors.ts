// Turns what the transport or the API server said into one actionable line and an exit code.
import {ApiError, ClusterUnavailableError, DualstackError, ExitCode} from '../errors.js'
import type {Target} from './types.js'

interface StatusBody {
  kind?: string
  message?: string
  reason?: string
  code?: number
}

function where(target: Target): string {
  return `context "${target.context}", server ${target.server}`
}

function parseStatus(text: string): StatusBody {
  try {
    const body = JSON.parse(text) as StatusBody
    return typeof body === 'object' && body !== null ? body : {}
  } catch {
    return {}
  }
}

export function apiErrorFromStatus(code: number, text: string, method: string, apiPath: string, target: Target): ApiError {
  const status = parseStatus(text)
  const said = status.message || text.trim().split('\n')[0] || `HTTP ${code}`
  switch (code) {
    case 401:
      return new ApiError(
        `the API server rejected the credentials of user "${target.user}" (401 Unauthorized; ${where(target)})`,
        code, status.reason, ExitCode.ClusterUnavailable,
        'refresh the token, certificate or exec plugin of that kubeconfig user',
      )
    case 403: {
      // No token, certificate or exec plugin: the server took the request as system:anonymous.
      if (/User "system:anonymous"/.test(said)) {
        return new ApiError(`forbidden: the request carried no credentials, so the API server took it as system:anonymous: ${said} (${where(target)})`, code, status.reason, ExitCode.ClusterUnavailable,
          `give the kubeconfig user "${target.user}" a token, client certificate or exec plugin (or pass --token), or use a context that has one`)
      }
      const role = shippedRoleFor(said)
      return new ApiError(`forbidden: ${said} (${where(target)})`, code, status.reason, ExitCode.ClusterUnavailable,
        `${role ? `the ClusterRole ${role.name} (${role.file}) grants it: ask a cluster admin to bind it to that user` : 'ask a cluster admin for that permission'}, or use a context whose user has it (check with: kubectl auth can-i)`)
    }
    case 400:
      return new ApiError(`the API server refused the request: ${said}`, code, status.reason, ExitCode.Usage, 'check the selectors and arguments')
    case 404:
      return new ApiError(`not found: ${said} (${method} ${apiPath})`, code, status.reason, ExitCode.Usage)
    case 429:
      return new ApiError(`the API server is throttling requests: ${said} (${where(target)})`, code, status.reason, ExitCode.ClusterUnavailable, 'try again later')
    default:
      if (code >= 500) {
        return new ApiError(`the API server failed: ${said} (HTTP ${code}; ${where(target)})`, code, status.reason, ExitCode.ClusterUnavailable, 'check the control plane, then retry')
      }
      return new ApiError(`${said} (HTTP ${code}, ${method} ${apiPath})`, code, status.reason, ExitCode.ProblemsFound)
  }
}

/**
 * Which role in rbac/ grants what a 403 says the user cannot do (the authorizer's wording: cannot VERB
 * resource "RESOURCE" in API group "GROUP"), so that the refusal names what to bind.
 */
export function shippedRoleFor(message: string): {name: string; file: string} | undefined {
  const m = /cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]*)")?/.exec(message)
  if (!m) return undefined
  const [, verb, resource, group, namespace] = m as unknown as [string, string, string, string, string | undefined]
  const reads = ['get', 'list', 'watch'].includes(verb)
  const calicoNamespace = namespace === 'kube-system' || namespace === 'calico-system'
  // The roles bound per namespace are bound in calico-system by the operator install's file; the others are cluster-wide.
  const perNamespace = new Set(['kubectl-dualstack-read-config', 'kubectl-dualstack-node-exec', 'kubectl-dualstack-repair-calico'])
  const role = (name: string, file: string) => ({name, file: namespace === 'calico-system' && perNamespace.has(name) ? 'rbac/operator/calico-system.yaml' : `rbac/${file}`})
  // doctor's /configz reads (kubelet feature gates, before 1.23) need nodes/proxy, which no shipped role grants.
  if (resource === 'nodes/proxy') return undefined
  // Reading the repairs' Lease is doctor's (read.yaml); writing it, the repairs'.
  if (resource === 'leases' && reads) return role('kubectl-dualstack-read-config', 'read.yaml')
  if (resource === 'leases' || (resource === 'pods' && verb === 'delete' && calicoNamespace)) return role('kubectl-dualstack-repair-calico', 'repair.yaml')
  if (resource === 'ippools' && !reads) return role('kubectl-dualstack-repair', 'repair.yaml')
  if (resource === 'pods/eviction' || (group === 'apps' && verb === 'patch')) return role('kubectl-dualstack-repair', 'repair.yaml')
  if (resource === 'pods/exec') return calicoNamespace ? role('kubectl-dualstack-node-exec', 'probe.yaml') : role('kubectl-dualstack-probe', 'probe.yaml')
  if (reads) return resource === 'configmaps' ? role('kubectl-dualstack-read-config', 'read.yaml') : role('kubectl-dualstack-read', 'read.yaml')
  if (['pods', 'services', 'namespaces', 'daemonsets'].includes(resource)) return role('kubectl-dualstack-probe', 'probe.yaml')
  return undefined
}

/** The code of the transport's error when the server says nothing for too long (before its headers, or between chunks). */
export const ANSWER_TIMEOUT = 'ANSWER_TIMEOUT'

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE', 'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO',
])

/**
 * Finds the innermost error code: Node's errors carry the socket's code themselves, an abort carries its
 * reason in `cause`, and a connection tried on several addresses fails with an AggregateError of them.
 */
function rootCause(error: unknown): {code?: string; name?: string; message: string} {
  let current = error as {code?: string; name?: string; message?: string; cause?: unknown; errors?: unknown[]} | undefined
  for (let depth = 0; current && depth < 5; depth++) {
    if (current.code && !current.cause) break
    if (current.name === 'TimeoutError') break
    const next = current.cause ?? current.errors?.[0]
    if (!next) break
    current = next as typeof current
  }
  return {code: current?.code, name: current?.name, message: current?.message ?? String(error)}
}

/** The code of the socket error under what the request threw (ECONNRESET...), for the retry policy. */
export function transportCode(error: unknown): string | undefined {
  const cause = rootCause(error)
  // An HTTP/2 GOAWAY (the API server ends unauthenticated clients' HTTP/2 connections so) is a code of its
  // own, so that a read is tried again on a new connection.
  return /GOAWAY/.test(cause.message) ? 'GOAWAY' : cause.code
}

export function transportError(error: unknown, target: Target, timeoutMs: number): DualstackError {
  if (error instanceof DualstackError) return error
  const cause = rootCause(error)
  const at = where(target)
  // Our own --request-timeout fires as an abort; the transport's connect and answer limits have their own codes.
  if ((cause.name === 'TimeoutError' || cause.name === 'AbortError') && timeoutMs > 0) {
    return new ClusterUnavailableError(`request timed out after ${timeoutMs / 1000}s (${at})`, 'the API server is slow or unreachable; raise --request-timeout or check the network')
  }
  if (cause.code === 'ETIMEDOUT') {
    return new ClusterUnavailableError(`cannot connect to the API server: the connection timed out (${at})`, 'check that the server is reachable from here (VPN, firewall, proxy)')
  }
  if (cause.code === ANSWER_TIMEOUT) {
    return new ClusterUnavailableError(`the API server did not answer in time (${at})`, 'it is overloaded or something in between holds the request; retry, and bound the wait with --request-timeout')
  }
  if (cause.code === 'ECONNREFUSED') {
    return new ClusterUnavailableError(`cannot connect to the API server: connection refused (${at})`, 'check that the cluster is running and that --context points at it')
  }
  if (cause.code === 'ENOTFOUND' || cause.code === 'EAI_AGAIN') {
    return new ClusterUnavailableError(`cannot resolve the API server's host name (${at})`, 'check the server address in the kubeconfig and your DNS')
  }
  if (cause.code && TLS_CODES.has(cause.code)) {
    return new ClusterUnavailableError(`TLS handshake with the API server failed: ${cause.message} (${at})`, "check the cluster's certificate-authority in the kubeconfig")
  }
  if (/GOAWAY/.test(cause.message)) {
    return new ClusterUnavailableError(`the API server ended the connection (HTTP/2 GOAWAY) (${at})`, 'retry; the server does this to clients without credentials, and while it restarts or sheds load')
  }
  if (cause.code === 'ECONNRESET' || cause.code === 'EPIPE' || cause.code === 'ECONNABORTED') {
    return new ClusterUnavailableError(`the API server closed the connection (${at})`, 'retry; if it keeps happening check the API server and any proxy in between')
  }
  return new ClusterUnavailableError(`cannot talk to the API server: ${cause.message} (${at})`, 'check the kubeconfig and the network')
}

/**
 * client-node reports a refused exec upgrade as an error whose text carries the HTTP status and, often, the
 * apiserver's Status body; turn it into the same typed errors as other requests.
 */
export function execError(error: unknown, target: Target, namespace: string, pod: string): DualstackError {
  const text = String((error as Error)?.message ?? error)
  const code = Number(/\b(40[0-9]|429|50[0-9])\b/.exec(text)?.[1] ?? NaN)
  if (!Number.isNaN(code)) {
    const body = /\{.*\}/s.exec(text)?.[0] ?? ''
    if (code === 403 && !body) {
      // The WebSocket upgrade refusal carries no Status body: say what was denied ourselves.
      return apiErrorFromStatus(403, JSON.stringify({message: `cannot create resource "pods/exec" in API group "" in the namespace "${namespace}"`}), 'exec', '', target)
    }
    return apiErrorFromStatus(code, body, 'exec', `/api/v1/namespaces/${namespace}/pods/${pod}/exec`, target)
  }
  return transportError(error, target, 0)
}
