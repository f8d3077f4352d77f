// Starts a real Kubernetes control plane for a scenario, on loopback only: etcd, kube-apiserver (token users,
// Node,RBAC authorization, dual-stack Service ranges, an audit log), kube-controller-manager (node CIDRs,
// service-account credentials, every controller), kube-scheduler, the kubelet exec endpoint and the node
// agent that plays the scenario's nodes. Then Calico's real CRDs and the scenario's objects are applied
// with the real kubectl, and it waits until the scenario's pods run.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {generateKeyPairSync} from 'node:crypto'
import {createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {stringify} from 'yaml'

import type {Scenario} from '../sim/scenario.js'
import {NodeAgent} from './agent.js'
import {Api, ApiError, sleep} from './api.js'
import {calicoManifests, defaultVersion, ensureControlPlane} from './build.js'

export type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'exec-server'

/** One entry of the API server's audit log (audit.k8s.io/v1 Event, the fields the tests read). */
export interface AuditEvent {
  verb: string
  requestURI: string
  user: {username: string; groups?: string[]}
  impersonatedUser?: {username: string; uid?: string; groups?: string[]}
  objectRef?: {resource?: string; namespace?: string; name?: string; apiGroup?: string; subresource?: string}
  responseStatus?: {code?: number}
  stage: string
}

export interface RealClusterOptions {
  scenario: Scenario
  /** Kubernetes release (default: DUALSTACK_K8S_VERSION or the newest the tier builds). */
  version?: string
  /** More users, with tokens `<name>-token` and the groups given (none by default): tests bind them to roles (rbac/*.yaml). */
  users?: Array<string | {name: string; groups: string[]}>
  log?: (line: string) => void
}

/** Users every real cluster has: `admin` (system:masters) runs the plugin; the rest are the tier's own. */
const ADMIN = 'admin'
const SETUP = 'dualstack-setup'
const AGENT = 'dualstack-node-agent'

/** etcd's /health over plain HTTP with no keep-alive (a pooled socket would outlive the cluster). */
function etcdHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({host: '127.0.0.1', port, path: '/health', agent: false, timeout: 2000}, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.on('timeout', () => req.destroy())
  })
}

/** Waits up to `ms` for a child to exit; true if it did. The timer does not outlive the wait. */
function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit)
      resolve(false)
    }, ms)
    const onExit = () => {
      clearTimeout(timer)
      resolve(true)
    }
    child.once('exit', onExit)
  })
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGCONT')
  child.kill('SIGTERM')
  if (!(await exited(child, graceMs))) {
    child.kill('SIGKILL')
    await exited(child, 5000)
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

function kubeconfigText(server: string, ca: string, user: string, token: string, namespace?: string): string {
  return stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'real',
    clusters: [{name: 'real', cluster: {server, 'certificate-authority-data': Buffer.from(ca).toString('base64')}}],
    users: [{name: user, user: {token}}],
    contexts: [{name: 'real', context: {cluster: 'real', user, ...(namespace ? {namespace} : {})}}],
  })
}

/** GET with the setup token, certificate unchecked: used only to wait for readiness before the CA is read. */
function probe(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, {rejectUnauthorized: false, headers: {Authorization: `Bearer ${token}`}, timeout: 2000}, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', () => resolve(0))
    req.on('timeout', () => req.destroy())
  })
}

/** Every process any cluster of this process started: killed when the process exits, whatever happened to the cluster. */
const LIVE = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of LIVE) child.kill('SIGKILL')
})

export class RealCluster {
  readonly dir: string
  readonly version: string
  server = ''
  ca = ''
  /** The admin kubeconfig (system:masters): what the tests run the plugin and kubectl with. */
  kubeconfig = ''
  agent?: NodeAgent
  private readonly processes = new Map<Component, ChildProcess>()
  private readonly commands = new Map<Component, {args: string[]; binary: string}>()
  private readonly log: (line: string) => void
  private readonly tokens = new Map<string, string>()
  private ports = {etcdClient: 0, etcdPeer: 0, apiserver: 0}
  private stopped = false
  private kubectlCache = ''

  private constructor(private readonly options: RealClusterOptions) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'dualstack-real-'))
    this.version = options.version ?? defaultVersion()
    this.log = options.log ?? (() => undefined)
  }

  /** Boots a cluster; `onCreated` gets it before it boots, so that a caller interrupted meanwhile can stop it. */
  static async start(options: RealClusterOptions, onCreated?: (cluster: RealCluster) => void): Promise<RealCluster> {
    const cluster = new RealCluster(options)
    onCreated?.(cluster)
    try {
      await cluster.boot()
    } catch (error) {
      await cluster.stop()
      throw error
    }
    return cluster
  }

  /** The token of a user (admin, or one of options.users). */
  token(user: string): string {
    const token = this.tokens.get(user)
    if (!token) throw new Error(`the real cluster has no user ${user}`)
    return token
  }

  /** Writes a kubeconfig for a user (default admin) and returns its path. */
  writeKubeconfig(name: string, options: {user?: string; namespace?: string; token?: string} = {}): string {
    const user = options.user ?? ADMIN
    const file = path.join(this.dir, name)
    writeFileSync(file, kubeconfigText(this.server, this.ca, user, options.token ?? this.token(user), options.namespace))
    return file
  }

  private async boot(): Promise<void> {
    const started = Date.now()
    const binaries = await ensureControlPlane(this.version, this.log)
    const manifests = calicoManifests()
    mkdirSync(path.join(this.dir, 'logs'))
    this.kubectlCache = path.join(this.dir, 'kubectl-cache')

    // Credentials: static tokens, and the service-account signing key.
    const groups = new Map<string, string[]>([[ADMIN, ['system:masters']], [SETUP, ['system:masters']], [AGENT, ['system:masters']]])
    for (const user of ['system:kube-controller-manager', 'system:kube-scheduler', ...(this.options.users ?? [])]) {
      if (typeof user === 'string') groups.set(user, [])
      else groups.set(user.name, user.groups)
    }
    for (const user of groups.keys()) this.tokens.set(user, `${user.replace(/[^a-z0-9-]/g, '-')}-token`)
    writeFileSync(path.join(this.dir, 'tokens.csv'), [...groups].map(([user, of], i) => `${this.tokens.get(user)},${user},uid-${i}${of.length > 0 ? `,"${of.join(',')}"` : ''}`).join('\n') + '\n')
    const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    writeFileSync(path.join(this.dir, 'sa.key'), privateKey.export({type: 'pkcs8', format: 'pem'}))
    writeFileSync(path.join(this.dir, 'sa.pub'), publicKey.export({type: 'spki', format: 'pem'}))
    // The audit log records what users do (the plugin runs as admin); controllers and the tier's own users are left out.
    writeFileSync(path.join(this.dir, 'audit-policy.yaml'), stringify({
      apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'],
      rules: [
        {level: 'None', users: [SETUP, AGENT, 'system:kube-controller-manager', 'system:kube-scheduler', 'system:apiserver']},
        {level: 'None', userGroups: ['system:serviceaccounts', 'system:nodes']},
        {level: 'Metadata'},
      ],
    }))

    const etcdData = path.join(this.dir, 'etcd')
    await this.startListening('etcd', async () => {
      this.ports.etcdClient = await freePort()
      this.ports.etcdPeer = await freePort()
      // A member that failed to bind may have written its data: a new one starts from nothing.
      rmSync(etcdData, {recursive: true, force: true})
      this.commands.set('etcd', {binary: binaries.etcd, args: [
        '--name', 'default', '--data-dir', etcdData, '--unsafe-no-fsync', '--log-level', 'warn',
        '--listen-client-urls', `http://127.0.0.1:${this.ports.etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${this.ports.etcdClient}`,
        '--listen-peer-urls', `http://127.0.0.1:${this.ports.etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${this.ports.etcdPeer}`,
        '--initial-cluster', `default=http://127.0.0.1:${this.ports.etcdPeer}`, '--listen-metrics-urls', '']})
    }, () => this.waitFor('etcd', () => etcdHealthy(this.ports.etcdClient)))

    const s = this.options.scenario
    const pki = path.join(this.dir, 'pki')
    await this.startListening('kube-apiserver', async () => {
      this.ports.apiserver = await freePort()
      this.server = `https://127.0.0.1:${this.ports.apiserver}`
      this.commands.set('kube-apiserver', {binary: binaries.controlPlane, args: [
        '--etcd-servers', `http://127.0.0.1:${this.ports.etcdClient}`,
        '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', String(this.ports.apiserver), '--cert-dir', pki,
        '--token-auth-file', path.join(this.dir, 'tokens.csv'), '--authorization-mode', 'Node,RBAC',
        '--service-cluster-ip-range', s.serviceCIDRs.join(','),
        '--service-account-key-file', path.join(this.dir, 'sa.pub'), '--service-account-signing-key-file', path.join(this.dir, 'sa.key'),
        '--service-account-issuer', 'https://kubernetes.default.svc.cluster.local',
        '--allow-privileged=true', '--kubelet-preferred-address-types', 'Hostname',
        '--audit-log-path', path.join(this.dir, 'audit.log'), '--audit-policy-file', path.join(this.dir, 'audit-policy.yaml'), '--audit-log-mode', 'blocking',
        '--profiling=false', '--v', '1']})
    }, () => this.apiserverReady())
    this.ca = readFileSync(path.join(pki, 'apiserver.crt'), 'utf8')
    this.kubeconfig = this.writeKubeconfig('kubeconfig')
    const setupKubeconfig = this.writeKubeconfig('setup.kubeconfig', {user: SETUP})

    const kcmKubeconfig = this.writeKubeconfig('kcm.kubeconfig', {user: 'system:kube-controller-manager'})
    this.commands.set('kube-controller-manager', {binary: binaries.controlPlane, args: [
      '--kubeconfig', kcmKubeconfig, '--secure-port', '0', '--leader-elect=false', '--use-service-account-credentials=true',
      '--service-account-private-key-file', path.join(this.dir, 'sa.key'), '--root-ca-file', path.join(pki, 'apiserver.crt'),
      '--allocate-node-cidrs=true', '--cluster-cidr', s.clusterCIDRs.join(','), '--service-cluster-ip-range', s.serviceCIDRs.join(','),
      ...nodeMaskFlags(s), '--controllers', '*', '--v', '1']})
    const schedulerKubeconfig = this.writeKubeconfig('scheduler.kubeconfig', {user: 'system:kube-scheduler'})
    this.commands.set('kube-scheduler', {binary: binaries.controlPlane, args: ['--kubeconfig', schedulerKubeconfig, '--secure-port', '0', '--leader-elect=false', '--v', '1']})
    await this.launch('kube-controller-manager')
    await this.launch('kube-scheduler')

    // Calico's CRDs first: the agent follows IPPools.
    this.kubectl(setupKubeconfig, ['apply', '--server-side', '-f', path.join(manifests, 'crds.yaml')])
    if (s.calicoOperator) this.kubectl(setupKubeconfig, ['apply', '--server-side', '-f', path.join(manifests, 'operator-crds.yaml')])

    const api = new Api(this.server, this.token(AGENT), this.ca)
    for (const group of ['/apis/crd.projectcalico.org/v1', ...(s.calicoOperator ? ['/apis/operator.tigera.io/v1'] : [])]) {
      await this.waitFor(`the API group ${group} (Calico's CRDs)`, () => api.exists(group))
    }
    const agent = new NodeAgent({api, scenario: s, kubernetesVersion: `v${this.version}`, log: this.log})
    this.agent = agent
    const answerUrl = await agent.listenForExec()
    this.commands.set('exec-server', {binary: binaries.controlPlane, args: ['--listen', '127.0.0.1:0', '--answer-url', answerUrl]})
    const kubeletPort = await this.launchExecServer()
    await agent.start(kubeletPort)

    const setup = new Api(this.server, this.token(SETUP), this.ca)
    try {
      const objects = s.objects ?? []
      const namespaces = [...new Set(['default', 'kube-system', ...objects.map((o) => o.metadata.namespace).filter((n): n is string => !!n)])]
      for (const ns of namespaces) {
        await setup.request('POST', '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns}}).catch((error: unknown) => {
          if (!(error instanceof ApiError && error.code === 409)) throw error
        })
      }
      // The ServiceAccount admission refuses pods until the namespace's `default` ServiceAccount exists.
      for (const ns of namespaces) await this.waitFor(`the default ServiceAccount of ${ns}`, () => setup.exists(`/api/v1/namespaces/${ns}/serviceaccounts/default`))
      if (objects.length > 0) {
        const docs = objects.map((o) => {
          const {status: _status, ...rest} = structuredClone(o) as typeof o & {status?: unknown}
          // A 1.18 scenario's Service field (ipFamily) is given as its successor: no server the tier builds serves it.
          if (rest.kind === 'Service' && rest.spec?.ipFamily) {
            rest.spec.ipFamilies ??= [rest.spec.ipFamily]
            delete rest.spec.ipFamily
          }
          return stringify(rest)
        }).join('---\n')
        this.kubectl(setupKubeconfig, ['apply', '-f', '-'], docs)
      }
      await this.waitFor('the scenario\'s pods to run', async () => {
        const pods = await setup.get<{items: Array<{metadata: {namespace: string; name: string}; spec: {nodeName?: string}; status: {phase?: string}}>}>('/api/v1/pods')
        return pods.items.length > 0 && pods.items.every((p) => ['Running', 'Succeeded', 'Failed'].includes(p.status.phase ?? '') || !s.nodes.some((n) => n.name === p.spec.nodeName && n.ready !== false) && !!p.spec.nodeName)
      }, 90_000).catch(async (error: unknown) => {
        const pods = await setup.get<{items: Array<{metadata: {namespace: string; name: string}; status: {phase?: string}}>}>('/api/v1/pods')
        throw new Error(`${(error as Error).message}: ${pods.items.filter((p) => p.status.phase !== 'Running').map((p) => `${p.metadata.namespace}/${p.metadata.name} ${p.status.phase}`).join(', ')}`)
      })
    } finally {
      setup.close()
    }
    this.log(`real control plane (Kubernetes ${this.version}) ready at ${this.server} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }

  /** Runs the real kubectl as the tier's setup user. */
  kubectl(kubeconfig: string, args: string[], input?: string): string {
    // Bounded: a synchronous kubectl against a frozen server would freeze this process (and the agent in it).
    const result = spawnSync('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=30s', ...args], {input, encoding: 'utf8', env: {...process.env, KUBECACHEDIR: this.kubectlCache},
      maxBuffer: 64 * 1024 * 1024, timeout: 60_000})
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr.trim() || result.error?.message}`)
    return result.stdout
  }

  private async launch(component: Component): Promise<void> {
    const {binary, args} = this.commands.get(component)!
    const out = createWriteStream(path.join(this.dir, 'logs', `${component}.log`), {flags: 'a'})
    const child = spawn(binary, component === 'etcd' ? args : [component, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    this.track(component, child, out)
    child.on('exit', (code, signal) => {
      if (!this.stopped && this.processes.get(component) === child) this.log(`${component} exited (${code ?? signal}); its log: ${path.join(this.dir, 'logs', `${component}.log`)}`)
    })
  }

  /**
   * Starts a component that listens on ports chosen here. A port found free may be taken by another process (tests run in
   * parallel, and outgoing connections use the same range) before the component binds it: then it starts again on new ports.
   */
  private async startListening(component: Component, choosePorts: () => Promise<void>, ready: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await choosePorts()
      await this.launch(component)
      try {
        await ready()
        return
      } catch (error) {
        const child = this.processes.get(component)!
        await exited(child, 5000)
        const log = readFileSync(path.join(this.dir, 'logs', `${component}.log`), 'utf8')
        if (attempt >= 3 || !/address already in use/.test(log)) throw error
        this.log(`${component} found its port taken; starting it again on new ports`)
        writeFileSync(path.join(this.dir, 'logs', `${component}.log`), '')
      }
    }
  }

  private async launchExecServer(): Promise<number> {
    const {binary, args} = this.commands.get('exec-server')!
    const out = createWriteStream(path.join(this.dir, 'logs', 'exec-server.log'), {flags: 'a'})
    const child = spawn(binary, ['exec-server', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    this.track('exec-server', child, out, false)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('exec-server did not say where it listens within 30s')), 30_000)
      let buffered = ''
      child.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString()
        const m = /listening 127\.0\.0\.1:(\d+)/.exec(buffered)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      })
      child.on('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`exec-server exited (${code}) before listening`))
      })
    })
  }

  /** Keeps a component's process: its output in its log (ended when both streams are), killed at process exit. */
  private track(component: Component, child: ChildProcess, out: NodeJS.WritableStream & {end(): void}, stdoutToLog = true): void {
    if (stdoutToLog) child.stdout!.pipe(out, {end: false})
    child.stderr!.pipe(out, {end: false})
    child.once('close', () => out.end())
    this.processes.set(component, child)
    LIVE.add(child)
    child.once('exit', () => LIVE.delete(child))
  }

  private async waitFor(what: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (await ready().catch(() => false)) return
      const dead = [...this.processes].find(([, child]) => child.exitCode !== null || child.signalCode !== null)
      if (dead) throw new Error(`${dead[0]} exited (${dead[1].exitCode ?? dead[1].signalCode}) while waiting for ${what}; its log: ${path.join(this.dir, 'logs', `${dead[0]}.log`)}`)
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what} (logs in ${path.join(this.dir, 'logs')})`)
      await sleep(150)
    }
  }

  private apiserverReady(): Promise<void> {
    return this.waitFor('kube-apiserver', async () => (await probe(`${this.server}/readyz`, this.token(SETUP))) === 200)
  }

  /** The audit log's events (ResponseComplete and Panic stages: one per request that the policy records). */
  audit(): AuditEvent[] {
    const file = path.join(this.dir, 'audit.log')
    if (!existsSync(file)) return []
    // The last line may be half written while the API server appends to it.
    const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1)
    return lines.filter(Boolean).map((line) => JSON.parse(line) as AuditEvent).filter((e) => e.stage !== 'ResponseStarted')
  }

  /** Requests by a user that changed, or would have changed, stored state: dry runs show `dryRun=All` in requestURI. */
  writes(user = ADMIN): AuditEvent[] {
    return this.audit().filter((e) => e.user.username === user && ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(e.verb) &&
      !['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'subjectaccessreviews', 'tokenreviews'].includes(e.objectRef?.resource ?? ''))
  }

  /** Sends a component a signal: SIGSTOP freezes it (requests hang), SIGCONT resumes it. */
  signal(component: Component, signal: NodeJS.Signals): void {
    this.processes.get(component)?.kill(signal)
  }

  /** Stops a component and starts it again with the same flags and data (etcd keeps its data directory). */
  async restart(component: Exclude<Component, 'exec-server'>): Promise<void> {
    const child = this.processes.get(component)
    if (child) await terminate(child, 10_000)
    await this.launch(component)
    if (component === 'kube-apiserver') await this.apiserverReady()
    if (component === 'etcd') await this.waitFor('etcd', () => etcdHealthy(this.ports.etcdClient))
  }

  /** Stops every process (the agent first, etcd last) and removes the data. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    // A component a test froze (SIGSTOP) answers again, so that nothing waits on it.
    for (const child of this.processes.values()) child.kill('SIGCONT')
    await this.agent?.stop()
    for (const component of ['exec-server', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'] as Component[]) {
      const child = this.processes.get(component)
      if (child) await terminate(child, 5000)
    }
    if (!process.env.DUALSTACK_KEEP_REAL_DIR) rmSync(this.dir, {recursive: true, force: true})
  }
}

/** kube-controller-manager's per-family node masks: the scenario nodes' podCIDRs, else its defaults (24 and 64) where the cluster CIDR has room. */
function nodeMaskFlags(s: Scenario): string[] {
  const masks = {ipv4: 24, ipv6: 64}
  for (const cidr of s.nodes.flatMap((n) => n.podCIDRs ?? [])) {
    const prefix = Number(cidr.split('/')[1])
    if (cidr.includes(':')) masks.ipv6 = prefix
    else masks.ipv4 = prefix
  }
  // A cluster CIDR narrower than the default mask (the runbook's /104) needs a longer node mask, or kube-controller-manager refuses to start.
  for (const cidr of s.clusterCIDRs) {
    const prefix = Number(cidr.split('/')[1])
    const family = cidr.includes(':') ? 'ipv6' : 'ipv4'
    if (masks[family] < prefix) masks[family] = Math.min(prefix + 8, family === 'ipv6' ? 120 : 28)
  }
  const dual = s.clusterCIDRs.length > 1
  if (!dual) return s.clusterCIDRs[0]?.includes(':') ? ['--node-cidr-mask-size', String(masks.ipv6)] : ['--node-cidr-mask-size', String(masks.ipv4)]
  return ['--node-cidr-mask-size-ipv4', String(masks.ipv4), '--node-cidr-mask-size-ipv6', String(masks.ipv6)]
}
