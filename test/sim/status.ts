// kube-apiserver's Status errors, with its reasons and message formats.
import type {ResourceType} from './resources.js'

export interface StatusCause {
  reason: string
  message: string
  field: string
}

export interface StatusBody {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, never>
  status: 'Failure'
  message: string
  reason: string
  details?: {name?: string; group?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number}
  code: number
}

export class SimError extends Error {
  constructor(
    readonly body: StatusBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message)
  }

  get code(): number {
    return this.body.code
  }
}

function make(code: number, reason: string, message: string, details?: StatusBody['details']): StatusBody {
  return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? {details} : {}), code}
}

function qualified(type: ResourceType): string {
  return type.group ? `${type.plural}.${type.group}` : type.plural
}

export const errors = {
  notFound: (type: ResourceType, name: string) =>
    new SimError(make(404, 'NotFound', `${qualified(type)} "${name}" not found`, {name, ...(type.group ? {group: type.group} : {}), kind: type.plural})),
  namespaceNotFound: (name: string) => new SimError(make(404, 'NotFound', `namespaces "${name}" not found`, {name, kind: 'namespaces'})),
  /** Creating in a namespace being deleted (the NamespaceLifecycle admission plugin). */
  namespaceTerminating: (type: ResourceType, name: string, namespace: string) =>
    new SimError(make(403, 'Forbidden', `${qualified(type)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      {name, ...(type.group ? {group: type.group} : {}), kind: type.plural, causes: [{reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace'}]})),
  pathNotFound: () => new SimError(make(404, 'NotFound', 'the server could not find the requested resource', {})),
  alreadyExists: (type: ResourceType, name: string) =>
    new SimError(make(409, 'AlreadyExists', `${qualified(type)} "${name}" already exists`, {name, ...(type.group ? {group: type.group} : {}), kind: type.plural})),
  conflict: (type: ResourceType, name: string) =>
    new SimError(make(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      {name, ...(type.group ? {group: type.group} : {}), kind: type.plural})),
  /** A DeleteOptions precondition that does not hold (the apiserver's storage error: 409 Conflict). */
  preconditionFailed: (message: string) => new SimError(make(409, 'Conflict', message, {})),
  /** 422 as the apiserver words it: the group-qualified kind (`DaemonSet.apps`), and each cause as Invalid or Required value. */
  invalid: (type: ResourceType, name: string, causes: Array<{field: string; value?: unknown; detail: string; required?: boolean}>) => {
    const text = (c: {value?: unknown; detail: string; required?: boolean}) => (c.required ? `Required value${c.detail ? `: ${c.detail}` : ''}` : `Invalid value: ${JSON.stringify(c.value)}: ${c.detail}`)
    const list = causes.map((c) => `${c.field}: ${text(c)}`)
    const joined = list.length === 1 ? list[0] : `[${list.join(', ')}]`
    return new SimError(make(422, 'Invalid', `${type.kind}${type.group ? `.${type.group}` : ''} "${name}" is invalid: ${joined}`, {
      name, ...(type.group ? {group: type.group} : {}), kind: type.kind,
      causes: causes.map((c) => ({reason: c.required ? 'FieldValueRequired' : 'FieldValueInvalid', message: text(c), field: c.field})),
    }))
  },
  badRequest: (message: string) => new SimError(make(400, 'BadRequest', message)),
  unauthorized: () => new SimError(make(401, 'Unauthorized', 'Unauthorized')),
  forbidden: (user: string, verb: string, type: ResourceType | {plural: string; group: string}, namespace: string | undefined, name?: string) => {
    const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'
    const what = name ? `${qualifiedPlain(type)} "${name}"` : qualifiedPlain(type)
    return new SimError(make(403, 'Forbidden', `${what} is forbidden: User "${user}" cannot ${verb} resource "${type.plural}" in API group "${type.group}" ${scope}`,
      {...(name ? {name} : {}), ...(type.group ? {group: type.group} : {}), kind: type.plural}))
  },
  gone: (message: string) => new SimError(make(410, 'Expired', message)),
  /** An admission plugin's refusal (Pod Security): 403 Forbidden with its message. */
  admission: (message: string) => new SimError(make(403, 'Forbidden', message)),
  methodNotAllowed: () => new SimError(make(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')),
  internal: (message: string) => new SimError(make(500, 'InternalError', `Internal error occurred: ${message}`, {causes: [{reason: '', message, field: ''}]})),
  tooManyRequests: (retryAfterSeconds: number) =>
    new SimError(make(429, 'TooManyRequests', 'Too many requests, please try again later.', {retryAfterSeconds}), {'Retry-After': String(retryAfterSeconds)}),
  /** The eviction API's answer when a PodDisruptionBudget allows no disruption now (pkg/registry/core/pod/storage/eviction.go). */
  disruptionBudget: (pdb: string, needs: number, has: number) =>
    new SimError(make(429, 'TooManyRequests', 'Cannot evict pod as it would violate the pod\'s disruption budget.',
      {causes: [{reason: 'DisruptionBudget', message: `The disruption budget ${pdb} needs ${needs} healthy pods and has ${has} currently`, field: ''}]})),
  unsupportedMediaType: (contentType: string) => new SimError(make(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${contentType})`)),
}

function qualifiedPlain(type: {plural: string; group: string}): string {
  return type.group ? `${type.plural}.${type.group}` : type.plural
}
