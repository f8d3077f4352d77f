// The simulated cluster's HTTPS API server: discovery, CRUD with selectors and pagination, watch, patch,
// dry-run, Status errors, RBAC, fault injection and exec over WebSocket. Listens on 127.0.0.1, random port.
import {once} from 'node:events'
import {createServer, type Server} from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

import {cidrsOverlap, parseCidr} from '../../src/net/ip.js'
import {makeCertificates, type Certificates} from './certs.js'
import {SimCluster} from './cluster.js'
import {handleExecUpgrade} from './exec.js'
import {applyDefaults} from './defaults.js'
import {jsonPatch, mergePatch, strategicMergePatch} from './patch.js'
import {apiVersionOf, type ResourceType} from './resources.js'
import type {Scenario, UserSpec} from './scenario.js'
import {isReady} from './controllers.js'
import {SelectorError, matchesFields, matchesLabelSelectorObject, matchesLabels, parseFieldSelector, parseLabelSelector} from './selectors.js'
import {podSecurityRefusal} from './pod-security.js'
import {SimError, errors} from './status.js'
import type {Obj, StoreEvent} from './store.js'
import {toTable} from './tables.js'
import {fieldManagerOf, nextManagedFields} from './managed-fields.js'

export interface Route {
  type: ResourceType
  namespace?: string
  name?: string
  subresource?: string
}

export interface ParsedRequest {
  method: string
  url: URL
  route?: Route
  verb: string
  user?: UserSpec
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(code, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers})
  res.end(text)
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function encodeContinue(rv: number, key: string): string {
  return Buffer.from(JSON.stringify({v: 'meta.k8s.io/v1', rv, start: key})).toString('base64')
}

function decodeContinue(token: string): {rv: number; start: string} {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {rv: number; start: string}
    if (typeof parsed.start !== 'string') throw new Error('bad')
    return parsed
  } catch {
    throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)')
  }
}

export class SimServer {
  readonly sim: SimCluster
  private server?: Server
  private certs?: Certificates
  private readonly sockets = new Set<Socket>()
  private readonly watchers = new Set<() => void>()
  port = 0

  constructor(scenario: Scenario) {
    this.sim = new SimCluster(scenario)
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`
  }

  get caPem(): string {
    return this.certs!.caCert
  }

  async start(): Promise<void> {
    this.certs = await makeCertificates()
    this.server = createServer({key: this.certs.serverKey, cert: this.certs.serverCert}, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, errors.internal(String(error)).body)
      })
    })
    this.server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      void this.upgrade(req, socket, head)
    })
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    this.port = (this.server.address() as AddressInfo).port
  }

  async stop(): Promise<void> {
    for (const stopWatch of this.watchers) stopWatch()
    for (const socket of this.sockets) socket.destroy()
    if (this.server) {
      this.server.close()
      await once(this.server, 'close').catch(() => undefined)
    }
  }

  /** kubeconfig YAML for one of the scenario's users. */
  kubeconfig(options: {user?: string; namespace?: string; caPem?: string; server?: string} = {}): string {
    const user = this.sim.users.find((u) => u.name === (options.user ?? this.sim.users[0]!.name))
    if (!user) throw new Error(`no user ${options.user}`)
    const ca = Buffer.from(options.caPem ?? this.caPem).toString('base64')
    return [
      'apiVersion: v1', 'kind: Config',
      'clusters:', '- name: sim', '  cluster:', `    server: ${options.server ?? this.url}`, `    certificate-authority-data: ${ca}`,
      'users:', `- name: ${user.name}`, '  user:', `    token: ${user.token}`,
      'contexts:', '- name: sim', '  context:', '    cluster: sim', `    user: ${user.name}`, ...(options.namespace ? [`    namespace: ${options.namespace}`] : []),
      'current-context: sim', '',
    ].join('\n')
  }

  parse(req: IncomingMessage): ParsedRequest {
    const url = new URL(req.url ?? '/', 'https://sim')
    const method = req.method ?? 'GET'
    const auth = req.headers.authorization
    const user = this.sim.user(auth?.startsWith('Bearer ') ? auth.slice(7) : undefined)
    const route = this.route(url.pathname)
    const watch = url.searchParams.get('watch')
    let verb = 'get'
    if (route) {
      if (route.subresource === 'exec') verb = 'create'
      else if (method === 'GET') verb = route.name ? 'get' : watch === 'true' || watch === '1' ? 'watch' : 'list'
      else if (method === 'POST') verb = 'create'
      else if (method === 'PUT') verb = 'update'
      else if (method === 'PATCH') verb = 'patch'
      else if (method === 'DELETE') verb = route.name ? 'delete' : 'deletecollection'
    }
    return {method, url, route, verb, user}
  }

  route(pathname: string): Route | undefined {
    let m = /^\/api\/v1\/(.+)$/.exec(pathname)
    let group = ''
    let version = 'v1'
    let rest: string[]
    if (m) rest = m[1]!.split('/')
    else {
      m = /^\/apis\/([^/]+)\/([^/]+)\/(.+)$/.exec(pathname)
      if (!m) return undefined
      group = m[1]!
      version = m[2]!
      rest = m[3]!.split('/')
    }
    rest = rest.filter((p) => p !== '').map(decodeURIComponent)
    if (rest[0] === 'namespaces' && rest.length >= 3 && this.sim.registry.find(group, version, rest[2]!)) {
      const type = this.sim.registry.find(group, version, rest[2]!)!
      if (!type.namespaced) return undefined
      return {type, namespace: rest[1], name: rest[3], subresource: rest[4]}
    }
    const type = this.sim.registry.find(group, version, rest[0]!)
    if (!type) return undefined
    return {type, name: rest[1], subresource: rest[2]}
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = this.parse(req)
    const {url, route, verb} = parsed
    const record = {method: parsed.method, verb, path: url.pathname + url.search, resource: route?.type.plural, subresource: route?.subresource,
      namespace: route?.namespace, name: route?.name, user: parsed.user?.name, dryRun: url.searchParams.get('dryRun') === 'All', code: 200}
    // Recorded as it arrives (a slow or dropped request is still seen); the code is filled in on reply.
    this.sim.record(record)
    const reply = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      record.code = code
      send(res, code, body, headers)
    }
    try {
      const fault = this.sim.fault(verb, route?.type.plural, parsed.user?.name)
      if (fault?.latencyMs) await sleep(fault.latencyMs, undefined, {ref: false}) // a stopped server does not wait for it
      if (fault?.drop) {
        record.code = 0
        req.socket.destroy()
        return
      }
      if (fault?.code) {
        throw fault.code === 429 ? errors.tooManyRequests(fault.retryAfterSeconds ?? 1) : fault.code === 403 && fault.message ? errors.admission(fault.message) : fault.code === 403 ? errors.forbidden(parsed.user?.name ?? 'system:anonymous', verb, route?.type ?? {plural: '', group: ''}, route?.namespace)
          : new SimError({kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `injected fault: HTTP ${fault.code}`, reason: fault.code >= 500 ? 'InternalError' : 'BadRequest', code: fault.code})
      }
      const open = ['/version', '/healthz', '/readyz', '/livez']
      if (!open.includes(url.pathname) && !parsed.user) throw errors.unauthorized()
      const discovery = this.discovery(url.pathname)
      if (discovery !== undefined) return reply(200, discovery)
      if (!route) throw errors.pathNotFound()
      // Every authenticated user may ask what it may do (system:basic-user).
      if (route.type.kind === 'SelfSubjectAccessReview' && verb === 'create') return reply(201, this.accessReview(parsed.user!, await readBody(req)))
      this.sim.authorize(parsed.user!, verb, route.type, route.subresource, route.namespace, route.name)
      const result = await this.resource(req, res, parsed, route)
      if (result === undefined) {
        record.code = res.statusCode
        return
      }
      reply(result.code, result.body)
    } catch (error) {
      if (error instanceof SimError) reply(error.code, error.body, error.headers)
      else if (error instanceof SelectorError) reply(400, errors.badRequest(error.message).body)
      else reply(500, errors.internal((error as Error).message).body)
    }
  }

  private discovery(pathname: string): unknown {
    const sim = this.sim
    const major = /^v?(\d+)\.(\d+)/.exec(sim.version)
    if (pathname === '/version') {
      return {major: major?.[1] ?? '1', minor: major?.[2] ?? '0', gitVersion: sim.version, gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64'}
    }
    if (pathname === '/healthz' || pathname === '/readyz' || pathname === '/livez') return 'ok'
    if (pathname.startsWith('/openapi/v3')) return this.openapi(pathname.slice('/openapi/v3'.length).replace(/^\//, ''))
    if (pathname === '/api') {
      return {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}`}]}
    }
    if (pathname === '/apis') {
      return {kind: 'APIGroupList', apiVersion: 'v1', groups: sim.registry.groups().map(({group, version}) => ({
        name: group, versions: [{groupVersion: `${group}/${version}`, version}], preferredVersion: {groupVersion: `${group}/${version}`, version}}))}
    }
    const gv = pathname === '/api/v1' ? {group: '', version: 'v1'} : /^\/apis\/([^/]+)\/([^/]+)$/.exec(pathname)
    if (!gv) return undefined
    const group = Array.isArray(gv) ? gv[1]! : gv.group
    const version = Array.isArray(gv) ? gv[2]! : gv.version
    const types = sim.registry.types.filter((t) => t.group === group && t.version === version)
    if (types.length === 0) {
      if (Array.isArray(gv) && sim.registry.groups().every((g) => g.group !== group)) throw errors.pathNotFound()
      return undefined
    }
    return {
      kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version,
      resources: types.flatMap((t) => [
        {name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs,
          ...(t.shortNames ? {shortNames: t.shortNames} : {}), ...(t.categories ? {categories: t.categories} : {})},
        ...(t.subresources ?? []).map((sub) => ({name: `${t.plural}/${sub}`, singularName: '', namespaced: t.namespaced,
          kind: sub === 'exec' ? 'PodExecOptions' : sub === 'proxy' ? 'NodeProxyOptions' : sub === 'scale' ? 'Scale' : t.kind,
          verbs: sub === 'exec' ? ['create', 'get'] : sub === 'proxy' ? ['create', 'delete', 'get', 'patch', 'update'] : ['get', 'patch', 'update']})),
      ]),
    }
  }

  /**
   * A minimal OpenAPI v3: enough for kubectl to see that PATCH/POST accept fieldValidation, so that it
   * validates on the server (as against a real kube-apiserver) instead of downloading schemas.
   */
  private openapi(gvPath: string): unknown {
    const gvs = [{group: '', version: 'v1'}, ...this.sim.registry.groups()]
    const pathOf = (g: {group: string; version: string}) => (g.group ? `apis/${g.group}/${g.version}` : `api/${g.version}`)
    if (gvPath === '') {
      return {paths: Object.fromEntries(gvs.map((g) => [pathOf(g), {serverRelativeURL: `/openapi/v3/${pathOf(g)}?hash=${this.sim.version}`}]))}
    }
    const gv = gvs.find((g) => pathOf(g) === gvPath)
    if (!gv) throw errors.pathNotFound()
    const params = ['dryRun', 'fieldManager', 'fieldValidation'].map((name) => ({name, in: 'query', schema: {type: 'string', uniqueItems: true}}))
    const paths: Record<string, unknown> = {}
    for (const t of this.sim.registry.types.filter((x) => x.group === gv.group && x.version === gv.version)) {
      const gvk = {'x-kubernetes-group-version-kind': {group: t.group, version: t.version, kind: t.kind}}
      const base = `/${gvPath}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}`
      paths[base] = {post: {...gvk, 'x-kubernetes-action': 'post', parameters: params, responses: {}}}
      paths[`${base}/{name}`] = {patch: {...gvk, 'x-kubernetes-action': 'patch', parameters: [...params, {name: 'force', in: 'query', schema: {type: 'boolean'}}], responses: {}}}
    }
    return {openapi: '3.0.0', info: {title: 'Kubernetes', version: this.sim.version}, paths, components: {schemas: {}}}
  }

  private accessReview(user: UserSpec, text: string): unknown {
    const review = JSON.parse(text || '{}') as {spec?: {resourceAttributes?: Record<string, string>}}
    const attributes = review.spec?.resourceAttributes ?? {}
    return {apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {creationTimestamp: null}, spec: review.spec ?? {},
      status: this.sim.accessReview(user, attributes)}
  }

  private async resource(req: IncomingMessage, res: ServerResponse, parsed: ParsedRequest, route: Route): Promise<{code: number; body: unknown} | undefined> {
    const result = await this.resourceInStorage(req, res, parsed, route)
    const served = route.type.storedAs
    if (!served || !result) return result
    // An aggregated API over CRDs: objects are stored as the CRD's version and served as this one.
    const asServed = (obj: unknown) => (obj && typeof obj === 'object' && 'metadata' in obj ? {...(obj as Obj), apiVersion: apiVersionOf(route.type)} : obj)
    const body = result.body as {items?: unknown[]}
    return {code: result.code, body: Array.isArray(body?.items) ? {...body, items: body.items.map(asServed)} : asServed(body)}
  }

  private async resourceInStorage(req: IncomingMessage, res: ServerResponse, parsed: ParsedRequest, route: Route): Promise<{code: number; body: unknown} | undefined> {
    const {type} = route
    const store = this.sim.store
    const query = parsed.url.searchParams
    const dryRunParam = query.get('dryRun')
    if (dryRunParam && dryRunParam !== 'All') throw errors.badRequest(`Invalid dry run value: ${dryRunParam}; allowed: All`)
    const dryRun = dryRunParam === 'All'
    if (route.namespace && !['namespaces'].includes(type.plural) && parsed.verb === 'create') {
      const namespace = store.get(this.sim.type('v1', 'Namespace'), undefined, route.namespace)
      if (!namespace) throw errors.namespaceNotFound(route.namespace)
      if (namespace.metadata.deletionTimestamp && !route.subresource) throw errors.namespaceTerminating(type, route.name ?? '', route.namespace)
    }
    if (route.subresource && !['status', 'exec', 'proxy', 'log', 'scale', 'eviction'].includes(route.subresource)) throw errors.pathNotFound()
    if (route.subresource === 'eviction' && parsed.verb === 'create') return this.evict(type, route, dryRun)

    switch (parsed.verb) {
      case 'get': {
        const obj = store.mustGet(type, route.namespace, route.name!)
        if (route.subresource === 'log') return {code: 200, body: ''}
        if (route.subresource === 'proxy') return {code: 200, body: this.nodeProxy(route.name!, parsed.url.pathname)}
        if (wantsTable(req)) return {code: 200, body: toTable(type, [obj], {resourceVersion: obj.metadata.resourceVersion})}
        return {code: 200, body: obj}
      }
      case 'list':
        return {code: 200, body: this.list(req, type, route.namespace, query)}
      case 'watch':
        this.watch(req, res, type, route.namespace, query)
        return undefined
      case 'create': {
        const obj = this.body(await readBody(req), type, route)
        applyDefaults(type.kind, obj, this.sim.version)
        if (type.kind === 'Service') this.sim.serviceIps.allocateForCreate(type, obj, dryRun, this.sim.legacyServiceFamilies)
        validate(type, obj)
        this.validateCalico(type, obj)
        if (type.kind === 'Pod') {
          const refusal = podSecurityRefusal(obj.metadata.name ?? `${obj.metadata.generateName ?? ''}xxxxx`, obj.spec, store.get(this.sim.type('v1', 'Namespace'), undefined, route.namespace ?? ''))
          if (refusal) throw errors.admission(refusal)
        }
        obj.metadata.managedFields = nextManagedFields(undefined, obj, fieldManagerOf(query, req.headers['user-agent']))
        return {code: 201, body: store.create(type, stored(type, obj), dryRun)}
      }
      case 'update': {
        const obj = this.body(await readBody(req), type, route)
        const current = store.mustGet(type, route.namespace, route.name!)
        if (obj.metadata.name !== route.name) throw errors.badRequest('the name of the object does not match the name on the URL')
        keepImmutable(type, current, obj)
        validate(type, obj)
        this.validateCalico(type, obj)
        obj.metadata.managedFields = nextManagedFields(current, obj, fieldManagerOf(query, req.headers['user-agent']), route.subresource)
        const write = () => ({code: 200, body: store.update(type, stored(type, obj), dryRun, {statusOnly: route.subresource === 'status'})})
        return type.kind === 'Service' && !route.subresource ? this.sim.serviceIps.updateFor(type, current, obj, dryRun, write) : write()
      }
      case 'patch': {
        const current = store.mustGet(type, route.namespace, route.name!)
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim()
        const patch = JSON.parse((await readBody(req)) || 'null') as unknown
        let patched: unknown
        if (contentType === 'application/merge-patch+json') patched = mergePatch(current, patch)
        else if (contentType === 'application/strategic-merge-patch+json' && !type.group.includes('.')) patched = strategicMergePatch(current, patch)
        else if (contentType === 'application/json-patch+json') patched = jsonPatch(current, patch as Array<{op: string; path: string}>)
        else throw errors.unsupportedMediaType(contentType)
        const obj = patched as Obj
        obj.metadata = {...obj.metadata, resourceVersion: (patch as {metadata?: {resourceVersion?: string}})?.metadata?.resourceVersion ?? current.metadata.resourceVersion}
        keepImmutable(type, current, obj)
        validate(type, obj)
        this.validateCalico(type, obj)
        obj.metadata.managedFields = nextManagedFields(current, obj, fieldManagerOf(query, req.headers['user-agent']), route.subresource)
        const write = () => ({code: 200, body: store.update(type, stored(type, obj), dryRun, {statusOnly: route.subresource === 'status'})})
        return type.kind === 'Service' && !route.subresource ? this.sim.serviceIps.updateFor(type, current, obj, dryRun, write) : write()
      }
      case 'delete': {
        // DeleteOptions.preconditions, as the apiserver checks them: a uid or resourceVersion that is not the
        // stored one is a 409, so that a client deletes only the object it read.
        const text = await readBody(req)
        const preconditions = (text ? (JSON.parse(text) as {preconditions?: {uid?: string; resourceVersion?: string}}) : {}).preconditions
        if (preconditions) {
          const current = store.mustGet(type, route.namespace, route.name!)
          for (const [field, label] of [['uid', 'UID'], ['resourceVersion', 'ResourceVersion']] as const) {
            const wanted = preconditions[field]
            if (wanted && wanted !== current.metadata[field]) throw errors.preconditionFailed(`Precondition failed: ${label} in precondition: ${wanted}, ${label} in object meta: ${String(current.metadata[field])}`)
          }
        }
        const gone = store.delete(type, route.namespace, route.name!, dryRun)
        if (type.kind === 'Service' && !dryRun) this.sim.serviceIps.release(gone)
        return {code: 200, body: gone}
      }
      case 'deletecollection': {
        const labels = parseLabelSelector(query.get('labelSelector'))
        const victims = store.list(type, route.namespace).filter((o) => matchesLabels(labels, o.metadata.labels))
        for (const v of victims) store.delete(type, v.metadata.namespace, v.metadata.name, dryRun)
        return {code: 200, body: {kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: {}, items: victims}}
      }
      default:
        throw errors.methodNotAllowed()
    }
  }

  /**
   * The eviction API: a pod is deleted unless a PodDisruptionBudget that selects it allows no disruption
   * (healthy pods minus minAvailable, or maxUnavailable minus the unhealthy ones), which is a 429.
   */
  private evict(podType: ResourceType, route: Route, dryRun: boolean): {code: number; body: unknown} {
    const pod = this.sim.store.mustGet(podType, route.namespace, route.name!)
    const pdbType = this.sim.type('policy/v1', 'PodDisruptionBudget')
    const pods = this.sim.store.list(podType, route.namespace)
    for (const pdb of this.sim.store.list(pdbType, route.namespace)) {
      if (!matchesLabelSelectorObject(pdb.spec?.selector ?? {}, pod.metadata.labels)) continue
      const selected = pods.filter((p) => matchesLabelSelectorObject(pdb.spec?.selector ?? {}, p.metadata.labels))
      const healthy = selected.filter(isReady).length
      const needs = typeof pdb.spec?.minAvailable === 'number' ? pdb.spec.minAvailable
        : typeof pdb.spec?.maxUnavailable === 'number' ? selected.length - pdb.spec.maxUnavailable : 0
      if (healthy - needs < 1) throw errors.disruptionBudget(pdb.metadata.name, needs, healthy)
    }
    this.sim.store.delete(podType, route.namespace, route.name!, dryRun)
    return {code: 201, body: {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201}}
  }

  /**
   * Calico's API server validates IPPools (libcalico-go validateIPPoolSpec and the IPPool client's overlap
   * check); the CRDs do not, which is why writes through crd.projectcalico.org/v1 can store a broken pool.
   */
  private validateCalico(type: ResourceType, obj: Obj): void {
    if (type.group !== 'projectcalico.org' || type.kind !== 'IPPool') return
    const invalid = (detail: string) => errors.invalid(type, obj.metadata.name, [{field: 'spec.cidr', value: obj.spec?.cidr, detail}])
    const cidr = parseCidr(obj.spec?.cidr ?? '')
    if (!cidr) throw invalid('IPPool CIDR must be a valid subnet')
    if (cidr.hadHostBits) throw invalid('IP pool CIDR is not strictly masked')
    const blockSize: number = obj.spec.blockSize ?? (cidr.family === 'ipv4' ? 26 : 122)
    const [min, max] = cidr.family === 'ipv4' ? [20, 32] : [116, 128]
    if (blockSize < min || blockSize > max) throw errors.invalid(type, obj.metadata.name, [{field: 'spec.blockSize', value: blockSize, detail: `block size must be between ${min} and ${max}`}])
    if (!obj.spec.disabled && cidr.prefix > blockSize) throw invalid('IP pool size is too small for use with Calico IPAM. It must be equal to or greater than the block size.')
    if (cidr.family === 'ipv6' && obj.spec.ipipMode && obj.spec.ipipMode !== 'Never') throw errors.invalid(type, obj.metadata.name, [{field: 'spec.ipipMode', value: obj.spec.ipipMode, detail: 'IPIPMode other than \'Never\' is not supported on an IPv6 IP pool'}])
    for (const other of this.sim.store.list(type)) {
      if (other.metadata.name === obj.metadata.name) continue
      if (cidrsOverlap(other.spec?.cidr ?? '', cidr.text)) throw invalid(`IPPool(${obj.metadata.name}) CIDR overlaps with IPPool(s) ${other.metadata.name}`)
    }
  }

  /** The kubelet endpoints the plugin reads through the node proxy: /configz. */
  private nodeProxy(node: string, pathname: string): unknown {
    if (!pathname.endsWith('/proxy/configz')) throw errors.pathNotFound()
    const spec = this.sim.nodeSpec(node)
    return {kubeletconfig: {
      kind: 'KubeletConfiguration', apiVersion: 'kubelet.config.k8s.io/v1beta1',
      clusterDNS: [this.sim.scenario.serviceCIDRs[0]?.replace(/0\/\d+$/, '10')], cgroupDriver: 'systemd',
      ...(spec?.kubeletFeatureGates ? {featureGates: spec.kubeletFeatureGates} : {}),
    }}
  }

  private body(text: string, type: ResourceType, route: Route): Obj {
    let obj: Obj
    try {
      obj = JSON.parse(text) as Obj
    } catch {
      throw errors.badRequest(`the body of the request could not be decoded as JSON`)
    }
    if (!obj || typeof obj !== 'object') throw errors.badRequest('the body of the request must be an object')
    obj.metadata ??= {name: ''}
    if (obj.kind && obj.kind !== type.kind) throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(type)})`)
    obj.apiVersion = apiVersionOf(type)
    obj.kind = type.kind
    if (type.namespaced) {
      if (obj.metadata.namespace && route.namespace && obj.metadata.namespace !== route.namespace) {
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request')
      }
      obj.metadata.namespace = route.namespace
    }
    if (!obj.metadata.name && !obj.metadata.generateName) {
      throw errors.invalid(type, '', [{field: 'metadata.name', value: '', detail: 'name or generateName is required'}])
    }
    return obj
  }

  private list(req: IncomingMessage, type: ResourceType, namespace: string | undefined, query: URLSearchParams): unknown {
    const labels = parseLabelSelector(query.get('labelSelector'))
    const fields = parseFieldSelector(query.get('fieldSelector'), type.fields ?? [])
    const limit = Number(query.get('limit') ?? '0')
    const token = query.get('continue')
    const start = token ? decodeContinue(token) : undefined
    if (start && start.rv < this.sim.store.oldestHistoryRv - 10_000) {
      throw errors.gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.')
    }
    const items: Obj[] = []
    let lastKey: string | undefined
    let more = false
    for (const [key, obj] of this.sim.store.scan(type, namespace, start?.start)) {
      if (limit > 0 && items.length >= limit) {
        more = true
        break
      }
      lastKey = key
      if (labels.length > 0 && !matchesLabels(labels, obj.metadata.labels)) continue
      if (fields.length > 0 && !matchesFields(fields, obj)) continue
      items.push(obj)
    }
    const rv = String(this.sim.store.resourceVersion)
    const meta: Record<string, unknown> = {resourceVersion: rv}
    if (more && lastKey !== undefined) {
      meta.continue = encodeContinue(this.sim.store.resourceVersion, lastKey)
      if (labels.length === 0 && fields.length === 0) {
        const total = this.sim.store.count(type, namespace)
        let before = 0
        for (const _ of this.sim.store.scan(type, namespace)) {
          before++
          if (_[0] === lastKey) break
        }
        meta.remainingItemCount = total - before
      }
    }
    if (wantsTable(req)) return toTable(type, items, meta)
    return {kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: meta, items}
  }

  private watch(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string | undefined, query: URLSearchParams): void {
    const labels = parseLabelSelector(query.get('labelSelector'))
    const fields = parseFieldSelector(query.get('fieldSelector'), type.fields ?? [])
    const rvParam = query.get('resourceVersion')
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '0')
    const since = rvParam && rvParam !== '0' ? Number(rvParam) : undefined
    if (since !== undefined && since < this.sim.store.oldestHistoryRv - 1 && since < this.sim.store.resourceVersion) {
      throw errors.gone(`too old resource version: ${since} (${this.sim.store.oldestHistoryRv})`)
    }
    const matches = (obj: Obj) =>
      (!namespace || obj.metadata.namespace === namespace) && matchesLabels(labels, obj.metadata.labels) && matchesFields(fields, obj)
    res.writeHead(200, {'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'})
    // Clients wait for the headers before they consider the watch open.
    res.flushHeaders()
    const write = (eventType: string, object: Obj) => res.write(`${JSON.stringify({type: eventType, object})}\n`)
    if (since === undefined) {
      for (const [, obj] of this.sim.store.scan(type, namespace)) if (matches(obj)) write('ADDED', obj)
    } else {
      for (const e of this.sim.store.eventsSince(since)) if (e.type_ === type && matches(e.object)) write(e.type, e.object)
    }
    const listener = (e: StoreEvent) => {
      if (e.type_ === type && matches(e.object)) write(e.type, e.object)
    }
    const unsubscribe = this.sim.store.subscribe(listener)
    let timer: NodeJS.Timeout | undefined
    const stop = () => {
      unsubscribe()
      if (timer) clearTimeout(timer)
      this.watchers.delete(stop)
      if (!res.writableEnded) res.end()
    }
    this.watchers.add(stop)
    if (timeoutSeconds > 0) timer = setTimeout(stop, timeoutSeconds * 1000)
    req.on('close', stop)
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const parsed = this.parse(req)
    const reject = (error: SimError) => {
      const text = JSON.stringify(error.body)
      socket.end(`HTTP/1.1 ${error.code} ${error.body.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`)
      this.sim.record({method: parsed.method, verb: parsed.verb, path: parsed.url.pathname + parsed.url.search, resource: parsed.route?.type.plural,
        subresource: parsed.route?.subresource, namespace: parsed.route?.namespace, name: parsed.route?.name, user: parsed.user?.name, dryRun: false, code: error.code})
    }
    try {
      const route = parsed.route
      if (!route || route.type.kind !== 'Pod' || route.subresource !== 'exec') throw errors.pathNotFound()
      const fault = this.sim.fault('exec', 'pods', parsed.user?.name)
      if (fault?.code) throw new SimError({kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `injected fault: HTTP ${fault.code}`, reason: 'InternalError', code: fault.code})
      // hang: the upgrade is never answered; the socket stays open until the client gives up (or the server stops).
      if (fault?.hang) return
      if (!parsed.user) throw errors.unauthorized()
      this.sim.authorize(parsed.user, 'create', route.type, 'exec', route.namespace, route.name)
      const pod = this.sim.store.mustGet(route.type, route.namespace, route.name!)
      this.sim.record({method: parsed.method, verb: 'exec', path: parsed.url.pathname + parsed.url.search, resource: 'pods', subresource: 'exec',
        namespace: route.namespace, name: route.name, user: parsed.user.name, dryRun: false, code: 101})
      // drop: the stream opens and breaks before the exit status (a node or proxy cutting it).
      await handleExecUpgrade(this.sim, pod, parsed.url, req, socket, head, fault?.drop === true)
    } catch (error) {
      if (error instanceof SimError) reject(error)
      else reject(errors.internal((error as Error).message))
    }
  }
}

/** What goes into storage: for an aggregated API, the object as the backing CRD's version. */
function stored(type: ResourceType, obj: Obj): Obj {
  if (type.storedAs) obj.apiVersion = `${type.storedAs.group}/${type.storedAs.version}`
  return obj
}

function wantsTable(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? ''
  return /as=Table/.test(accept)
}

function keepImmutable(type: ResourceType, current: Obj, obj: Obj): void {
  if (type.kind === 'Service') {
    obj.spec ??= {}
    obj.spec.clusterIP ??= current.spec?.clusterIP
    obj.spec.clusterIPs ??= current.spec?.clusterIPs
    obj.spec.ipFamilies ??= current.spec?.ipFamilies
    obj.spec.ipFamilyPolicy ??= current.spec?.ipFamilyPolicy
    if (obj.spec.clusterIP !== current.spec?.clusterIP && current.spec?.clusterIP) {
      throw errors.invalid(type, obj.metadata.name, [{field: 'spec.clusterIPs[0]', value: obj.spec.clusterIP, detail: 'may not change once set'}])
    }
  }
  if (type.kind === 'Pod' && current.status && obj.status === undefined) obj.status = current.status
}

function validate(type: ResourceType, obj: Obj): void {
  if (type.kind === 'Pod' && !(obj.spec?.containers?.length > 0)) {
    throw errors.invalid(type, obj.metadata.name, [{field: 'spec.containers', detail: '', required: true}])
  }
  if ((type.kind === 'DaemonSet' || type.kind === 'Deployment') && !obj.spec?.selector) {
    throw errors.invalid(type, obj.metadata.name, [{field: 'spec.selector', detail: '', required: true}])
  }
  const podSpec = type.kind === 'Pod' ? {spec: obj.spec, at: 'spec'} : obj.spec?.template ? {spec: obj.spec.template.spec, at: 'spec.template.spec'} : undefined
  if (podSpec) {
    const causes = nodeFieldSelectorCauses(podSpec.spec, podSpec.at)
    if (causes.length > 0) throw errors.invalid(type, obj.metadata.name, causes)
  }
}

/**
 * The apiserver's ValidateNodeFieldSelectorRequirement: a node field selector (matchFields) with In or NotIn
 * takes exactly one value, so "one of these nodes" is one term per node (terms are ORed).
 */
function nodeFieldSelectorCauses(spec: Obj['spec'], at: string): Array<{field: string; detail: string; required: boolean}> {
  const terms: Array<{matchFields?: Array<{operator?: string; values?: string[]}>}> = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
  return terms.flatMap((term, t) => (term.matchFields ?? []).flatMap((req, r) =>
    (req.operator === 'In' || req.operator === 'NotIn') && (req.values ?? []).length !== 1
      ? [{field: `${at}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[${t}].matchFields[${r}].values`,
        detail: 'must be only one value when `operator` is \'In\' or \'NotIn\' for node field selector', required: true}]
      : []))
}
