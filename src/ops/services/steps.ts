// services dual, the step kind convert-service: one Service's ipFamilyPolicy patched from SingleStack to
// PreferDualStack or RequireDualStack (the API server then allocates a ClusterIP of the other family), then
// verified: two ClusterIPs (a headless Service: two families) and, for a Service with a selector, the
// EndpointSlice controller's slices of both address types. Undone by patching it back to SingleStack with
// its original family only (the API server drops the second ClusterIP), only when this run changed it.
import type {AccessNeed} from '../../cluster/access.js'
import type {ServiceObject} from '../../cluster/types.js'
import {ApiError} from '../../errors.js'
import {addressFamily} from '../../net/ip.js'
import {objectKey, StepFailure, type StepContext, type WritingKind} from '../engine/steps.js'
import {FAMILIES, POLICIES, type DualPolicy, type FamilyName} from './plan.js'

/** On a Service this run converted: its id, so an undo puts back only what this run changed (the same mark as the pool steps'; settle clears it). */
export const CHANGED_ANNOTATION = 'dualstack.kubectl.io/changed-by-run'

export interface ConvertServiceStep {
  kind: 'convert-service'
  namespace: string
  name: string
  /** The Service the plan read: a Service deleted and created again since is not this one. */
  uid: string
  policy: DualPolicy
  /** Its family now (the primary): what it keeps, and what the undo puts back. */
  family: FamilyName
  headless: boolean
  /** It selects pods: the EndpointSlice controller makes a slice per family, which the step waits for. */
  selector: boolean
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const servicePath = (s: ConvertServiceStep) => `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/services/${encodeURIComponent(s.name)}`
const other = (family: FamilyName): FamilyName => (family === 'IPv4' ? 'IPv6' : 'IPv4')
const isDual = (policy: string | undefined) => policy === 'PreferDualStack' || policy === 'RequireDualStack'
const MERGE = 'application/merge-patch+json'

async function read(ctx: StepContext, step: ConvertServiceStep): Promise<ServiceObject> {
  const svc = await ctx.client.getIfExists<ServiceObject>(servicePath(step))
  if (!svc) throw new StepFailure(`Service ${step.namespace}/${step.name} no longer exists`)
  if (svc.metadata?.uid !== step.uid) throw new StepFailure(`Service ${step.namespace}/${step.name} was deleted and created again since the plan was made: it is left alone`)
  return svc
}

const markOf = (svc: ServiceObject) => svc.metadata?.annotations?.[CHANGED_ANNOTATION]

/** The families its ClusterIPs are of (a headless Service: its ipFamilies). */
function familiesHeld(svc: ServiceObject, headless: boolean): Set<string> {
  if (headless) return new Set(svc.spec?.ipFamilies ?? [])
  return new Set((svc.spec?.clusterIPs ?? []).map((ip) => addressFamily(ip)).filter(Boolean).map((f) => (f === 'ipv4' ? 'IPv4' : 'IPv6')))
}

/**
 * A merge patch at the resourceVersion it was read at: a 409 is read again and patched again while only
 * metadata moved (another writer's label); a spec someone else changed in between fails the step.
 */
async function patchAt(ctx: StepContext, step: ConvertServiceStep, first: ServiceObject, body: (svc: ServiceObject) => Record<string, unknown>): Promise<ServiceObject> {
  let current = first
  for (let attempt = 1; ; attempt++) {
    const patch = body(current)
    try {
      return await ctx.client.request<ServiceObject>('PATCH', servicePath(step), {contentType: MERGE,
        body: {...patch, metadata: {...(patch.metadata as object | undefined), resourceVersion: current.metadata?.resourceVersion}}})
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 409) || attempt >= 5) throw error
    }
    const now = await read(ctx, step)
    if (JSON.stringify(now.spec) !== JSON.stringify(current.spec)) {
      throw new StepFailure(`Service ${step.namespace}/${step.name} was changed by someone else while it was being converted (now ${now.spec?.ipFamilyPolicy ?? 'SingleStack'}, ${(now.spec?.ipFamilies ?? []).join(',')}): it is left as they made it`)
    }
    current = now
  }
}

/** Waits (bounded by --ready-timeout and --timeout) for the EndpointSlices of both address types. */
async function waitForSlices(ctx: StepContext, step: ConvertServiceStep): Promise<void> {
  const until = Math.min(ctx.deadline, Date.now() + ctx.readyTimeoutMs)
  const path = `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(step.namespace)}/endpointslices`
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    const slices = await ctx.client.listAll<{addressType?: string} & ServiceObject>(path, {labelSelector: `kubernetes.io/service-name=${step.name}`})
    const types = new Set(slices.map((s) => s.addressType))
    const lacking = FAMILIES.filter((f) => !types.has(f))
    if (lacking.length === 0) return
    const stop = ctx.stopped()
    if (stop || Date.now() + delay > until) {
      throw new StepFailure(`Service ${step.namespace}/${step.name} has two ClusterIPs but no ${lacking.join(' or ')} EndpointSlice ${stop ? `yet (${stop})` : `after ${Math.round(ctx.readyTimeoutMs / 1000)}s`}: is the EndpointSlice controller (kube-controller-manager) running?`)
    }
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

export const convertService: WritingKind<ConvertServiceStep> = {
  kind: 'convert-service', writes: true,
  describe: (s) => `patch Service ${s.namespace}/${s.name} to ${s.policy} (keeps ${s.family}, gains ${other(s.family)}${s.headless ? '' : ' ClusterIP'})${s.selector ? ', waiting for its EndpointSlices of both families' : ''}`,
  needs: (s): AccessNeed[] => [
    {verb: 'get', group: '', resource: 'services', namespace: s.namespace},
    {verb: 'patch', group: '', resource: 'services', namespace: s.namespace},
    ...(s.selector ? [{verb: 'list', group: 'discovery.k8s.io', resource: 'endpointslices', namespace: s.namespace}] : []),
  ],
  touches: (s) => [objectKey('services', s.name, s.namespace)],
  validate(s) {
    if (typeof s.namespace !== 'string' || !DNS_LABEL.test(s.namespace)) return 'its namespace is not a namespace name'
    if (typeof s.name !== 'string' || !DNS_LABEL.test(s.name)) return 'its name is not a Service name'
    if (typeof s.uid !== 'string' || !/^[0-9a-zA-Z-]{1,64}$/.test(s.uid)) return 'its uid is not a uid'
    if (!POLICIES.includes(s.policy as DualPolicy)) return `its policy ${JSON.stringify(s.policy)} is not PreferDualStack or RequireDualStack`
    if (!FAMILIES.includes(s.family as FamilyName)) return `its family ${JSON.stringify(s.family)} is not IPv4 or IPv6`
    if (typeof s.headless !== 'boolean' || typeof s.selector !== 'boolean') return 'it does not say whether the Service is headless and selects pods'
    return undefined
  },
  async expects(step, ctx) {
    const svc = await read(ctx, step)
    if (markOf(svc) === ctx.runId) return undefined // converted by this run already (a resumed run repeats the step it was in)
    if (isDual(svc.spec?.ipFamilyPolicy)) return undefined // someone else converted it: apply says so and leaves it
    const families = svc.spec?.ipFamilies ?? []
    if (families.length > 0 && (families.length !== 1 || families[0] !== step.family)) {
      return `Service ${step.namespace}/${step.name} is now ${families.join(',')}, not ${step.family} as planned: it was changed since the plan was made`
    }
    return undefined
  },
  async apply(step, ctx) {
    let svc = await read(ctx, step)
    let message: string | undefined
    if (markOf(svc) !== ctx.runId && isDual(svc.spec?.ipFamilyPolicy)) {
      // Not this run's change: verified, never undone by it.
      message = `already ${svc.spec?.ipFamilyPolicy} (not by this run)`
    } else if (!isDual(svc.spec?.ipFamilyPolicy)) {
      svc = await patchAt(ctx, step, svc, () => ({metadata: {annotations: {[CHANGED_ANNOTATION]: ctx.runId}}, spec: {ipFamilyPolicy: step.policy}}))
    }
    const held = familiesHeld(svc, step.headless)
    if (held.size < 2) {
      throw new StepFailure(`Service ${step.namespace}/${step.name} is ${svc.spec?.ipFamilyPolicy} but has ${step.headless ? 'families' : 'ClusterIPs'} of ${[...held].join(', ') || 'no family'} only: the API server did not give it ${other(step.family)} (are both Service CIDRs configured?)`)
    }
    if (step.selector) await waitForSlices(ctx, step)
    const ips = step.headless ? 'headless' : (svc.spec?.clusterIPs ?? []).join(', ')
    return {message: message ?? `${svc.spec?.ipFamilyPolicy}: ${ips}`}
  },
  async undo(step, ctx) {
    const svc = await ctx.client.getIfExists<ServiceObject>(servicePath(step))
    if (!svc || svc.metadata?.uid !== step.uid) return {message: 'gone since: nothing to put back'}
    // Not marked: this run never changed it (its step failed before the patch), or someone else made it dual-stack.
    if (markOf(svc) !== ctx.runId) return isDual(svc.spec?.ipFamilyPolicy) ? {message: 'not changed by this run: left as it is'} : undefined
    if (svc.spec?.ipFamilyPolicy !== step.policy && isDual(svc.spec?.ipFamilyPolicy)) {
      ctx.left.push(`Service ${step.namespace}/${step.name} was made ${svc.spec?.ipFamilyPolicy} by someone else during the run: left as they made it`)
      await patchAt(ctx, step, svc, () => ({metadata: {annotations: {[CHANGED_ANNOTATION]: null}}}))
      return {message: 'changed by someone else since: left as it is'}
    }
    // ipFamilies given as the original family alone: the API server drops the second ClusterIP with it.
    await patchAt(ctx, step, svc, (current) => ({metadata: {annotations: {[CHANGED_ANNOTATION]: null}},
      spec: isDual(current.spec?.ipFamilyPolicy) ? {ipFamilyPolicy: 'SingleStack', ipFamilies: [step.family]} : {}}))
    return {message: `put back to SingleStack (${step.family})`, putBack: true}
  },
  // The run is over: the Service is nobody's to undo any more.
  async settle(step, ctx) {
    const svc = await ctx.client.getIfExists<ServiceObject>(servicePath(step))
    if (!svc || markOf(svc) !== ctx.runId) return
    await ctx.client.request('PATCH', servicePath(step), {contentType: MERGE, body: {metadata: {annotations: {[CHANGED_ANNOTATION]: null}}}})
  },
}
