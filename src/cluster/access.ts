// What the user may do, asked of the API server before a repair writes anything (SelfSubjectAccessReview,
// what `kubectl auth can-i` asks): a run that would be refused half-way is refused before it starts.
import {ClusterUnavailableError} from '../errors.js'
import {mapLimit} from './concurrency.js'
import type {ClusterClient} from './kube.js'

export interface AccessNeed {
  verb: string
  /** API group: '' for the core group. */
  group: string
  resource: string
  subresource?: string
  /** Undefined: cluster-scoped, or every namespace. */
  namespace?: string
}

/** As RBAC and kubectl auth can-i name it: "delete ippools.crd.projectcalico.org", "create pods/eviction in default". */
export function describeNeed(need: AccessNeed): string {
  const resource = `${need.resource}${need.group ? `.${need.group}` : ''}${need.subresource ? `/${need.subresource}` : ''}`
  return `${need.verb} ${resource}${need.namespace ? ` in ${need.namespace}` : ''}`
}

interface Review {
  status?: {allowed?: boolean}
}

/**
 * The needs the API server does not allow, in the order given. An API server that cannot answer
 * (SelfSubjectAccessReview refused or not served) gives []: the writes then meet RBAC as they would have.
 */
export async function missingAccess(client: Pick<ClusterClient, 'request'>, needs: AccessNeed[]): Promise<AccessNeed[]> {
  const unique = [...new Map(needs.map((need) => [describeNeed(need), need])).values()]
  try {
    const allowed = await mapLimit(unique, 8, async (need) => {
      const review = await client.request<Review>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
        spec: {resourceAttributes: {verb: need.verb, group: need.group, resource: need.resource, subresource: need.subresource ?? '', namespace: need.namespace ?? ''}},
      }})
      return review.status?.allowed === true
    })
    return unique.filter((_, i) => !allowed[i])
  } catch {
    return []
  }
}

/** Refuses, naming every missing permission at once, so that one request to an admin settles it. */
export function accessDenied(user: string, command: string, missing: AccessNeed[]): ClusterUnavailableError {
  return new ClusterUnavailableError(
    `${command} needs permissions that user "${user}" does not have: ${missing.map(describeNeed).join(', ')} (checked before any change; nothing was written)`,
    `bind the kubectl-dualstack-repair ClusterRole (rbac/repair.yaml) to that user, or use a context whose user has it (check with: kubectl auth can-i)`,
  )
}

/** A Lease lock in namespace: read, taken, renewed with the journal, released. */
export function leaseNeeds(namespace: string): AccessNeed[] {
  return ['get', 'create', 'update', 'delete'].map((verb) => ({verb, group: 'coordination.k8s.io', resource: 'leases', namespace}))
}

const OWNER_RESOURCES: Record<string, string> = {Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets'}

/** Recreating pods through their owners (a rollout restart is a patch) or by eviction. */
export function recreateNeeds(groups: Array<{namespace: string; owner?: {kind: string}; action: string}>): AccessNeed[] {
  return groups.flatMap((group): AccessNeed[] => {
    if (group.action === 'rollout-restart' && group.owner && OWNER_RESOURCES[group.owner.kind]) {
      return [{verb: 'patch', group: 'apps', resource: OWNER_RESOURCES[group.owner.kind]!, namespace: group.namespace}]
    }
    if (group.action === 'evict') return [{verb: 'create', group: '', resource: 'pods', subresource: 'eviction', namespace: group.namespace}]
    return []
  })
}
