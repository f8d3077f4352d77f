// A small JSON client for the test tier's own use (the node agent and the launcher): token auth, the API
// server's CA, keep-alive, and line-delimited watch streams. The product talks through client-node; this
// is test infrastructure playing kubelets and calico-node, where a few plain requests are clearer.
import https from 'node:https'

export interface ApiObject {
  apiVersion?: string
  kind?: string
  metadata: {name?: string; namespace?: string; uid?: string; resourceVersion?: string; deletionTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[]; [key: string]: unknown}
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any
}

export class ApiError extends Error {
  constructor(readonly code: number, readonly body: string, method: string, path: string) {
    super(`${method} ${path}: HTTP ${code}: ${body.slice(0, 300)}`)
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  object: ApiObject
}

export class Api {
  private readonly agent: https.Agent

  /** Told what went wrong in follow() before it tries again. */
  onError?: (message: string) => void

  constructor(readonly server: string, private readonly token: string, ca: string) {
    this.agent = new https.Agent({ca, keepAlive: true, maxSockets: 32})
  }

  request<T = ApiObject>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const url = new URL(path, this.server)
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    return new Promise((resolve, reject) => {
      const req = https.request(url, {
        method, agent: this.agent, timeout: 30_000,
        headers: {Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...(payload ? {'Content-Type': contentType, 'Content-Length': payload.length} : {})},
      }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          if ((res.statusCode ?? 0) >= 300) reject(new ApiError(res.statusCode ?? 0, text, method, path))
          else resolve((text ? JSON.parse(text) : {}) as T)
        })
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)))
      req.on('error', reject)
      req.end(payload)
    })
  }

  get<T = ApiObject>(path: string): Promise<T> {
    return this.request<T>('GET', path)
  }

  /** Whether a path answers 200 (a served API group, an existing object). */
  async exists(path: string): Promise<boolean> {
    try {
      await this.get(path)
      return true
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return false
      throw error
    }
  }

  /**
   * Lists `path` and then follows it with a watch from the list's resourceVersion; a broken or expired watch
   * lists again. `onSync` gets the whole list each time one is made, `onEvent` every change after it.
   */
  follow(path: string, onSync: (items: ApiObject[]) => void, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const loop = async () => {
      // Before the first list succeeds (a CRD just established answers 429 for a moment) nothing is said.
      let listed = false
      while (!signal.aborted) {
        let rv: string
        try {
          const list = await this.get<{items: ApiObject[]; metadata: {resourceVersion: string}}>(path)
          onSync(list.items)
          rv = list.metadata.resourceVersion
          listed = true
        } catch (error) {
          // The server restarting: said, then tried again.
          if (!signal.aborted && listed) this.onError?.(`list ${path}: ${(error as Error).message}`)
          await sleep(500, signal)
          continue
        }
        while (!signal.aborted) {
          const outcome = await this.watchOnce(`${path}${path.includes('?') ? '&' : '?'}watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, (event) => {
            if (event.object.metadata?.resourceVersion) rv = event.object.metadata.resourceVersion
            if (event.type !== 'BOOKMARK') onEvent(event)
          }, signal)
          if (outcome === 'gone') break
          if (outcome === 'broken') await sleep(200, signal)
        }
      }
    }
    return loop()
  }

  private watchOnce(path: string, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<'ended' | 'broken' | 'gone'> {
    const url = new URL(path, this.server)
    return new Promise((resolve) => {
      let buffered = ''
      let settled = false
      const done = (how: 'ended' | 'broken' | 'gone') => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', abort)
        resolve(how)
      }
      const req = https.request(url, {method: 'GET', agent: this.agent, headers: {Authorization: `Bearer ${this.token}`, Accept: 'application/json'}}, (res) => {
        if (res.statusCode === 410) {
          res.resume()
          done('gone')
          return
        }
        if (res.statusCode !== 200) {
          res.resume()
          done('broken')
          return
        }
        res.on('data', (chunk: Buffer) => {
          buffered += chunk.toString()
          let newline: number
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim()
            buffered = buffered.slice(newline + 1)
            if (!line) continue
            let event: WatchEvent
            try {
              event = JSON.parse(line) as WatchEvent
              if (event.type !== 'ERROR') onEvent(event)
            } catch (error) {
              this.onError?.(`watch ${path}: ${(error as Error).message}`)
              req.destroy()
              done('broken')
              return
            }
            if (event.type === 'ERROR') {
              req.destroy()
              done((event.object as {code?: number}).code === 410 ? 'gone' : 'broken')
              return
            }
          }
        })
        res.on('end', () => done('ended'))
        res.on('error', () => done('broken'))
      })
      const abort = () => {
        req.destroy()
        done('ended')
      }
      signal.addEventListener('abort', abort)
      req.on('error', () => done('broken'))
      req.end()
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      resolve()
    }
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}
