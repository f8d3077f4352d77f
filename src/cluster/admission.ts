// Refusals by admission (Pod Security, a webhook, a ValidatingAdmissionPolicy): not RBAC's, so advice about
// roles would be wrong. Shared by the commands that create pods (svc-check, connectivity).
import {ApiError} from '../errors.js'

/**
 * What a ValidatingAdmissionPolicy or an admission webhook says when it refuses ("ValidatingAdmissionPolicy 'p'
 * with binding 'b' denied request: ...", 'admission webhook "w" denied the request: ...'). A policy's refusal
 * is 422 Invalid unless it names another reason, a webhook's 403 unless it names another code.
 */
const POLICY_REFUSAL = /ValidatingAdmissionPolicy '[^']*' with binding '[^']*' denied request|admission webhook "[^"]*" denied the request/

/** A refusal by an admission plugin, policy or webhook, not by RBAC's authorizer (whose refusal says "cannot VERB resource"). */
export function isAdmissionRefusal(error: unknown): error is ApiError {
  if (!(error instanceof ApiError)) return false
  if (POLICY_REFUSAL.test(error.message)) return true
  return error.code === 403 && !/ cannot \w+ resource "/.test(error.message)
}

/** Pod Security admission's refusal: 'pods "x" is forbidden: violates PodSecurity "restricted:latest": ...'. */
export function isPodSecurityRefusal(error: unknown): error is ApiError {
  return isAdmissionRefusal(error) && /violates PodSecurity/.test(error.message)
}

/**
 * What the API server said, without what the plugin's ApiError wraps it in ("forbidden: ... (context ..., server
 * ...)", "... (HTTP 422, POST /path)").
 */
export function refusalText(error: ApiError): string {
  return /^forbidden: (.*) \(context "[^"]*", server [^)]*\)$/.exec(error.message)?.[1]
    ?? /^(.*) \(HTTP \d+, [A-Z]+ [^)]*\)$/.exec(error.message)?.[1]
    ?? error.message
}
