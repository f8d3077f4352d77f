// The probe settings svc-check and connectivity share: their flags (which families, how long to wait) and
// what they become, and the progress line both draw while probing.
import * as Flags from '@oclif/core/flags'

import {parseDuration} from '../cluster/duration.js'
import type {Family} from '../net/ip.js'
import {redrawLine} from '../render/sanitize.js'

export const probeFlags = {
  family: Flags.string({description: 'Which families to test', options: ['ipv4', 'ipv6', 'all'], default: 'all'}),
  timeout: Flags.string({description: 'Timeout of each ping and HTTP test', default: '5s'}),
  'ready-timeout': Flags.string({description: 'How long to wait for the pods it creates to be Ready', default: '2m'}),
  keep: Flags.boolean({description: "Keep what it creates (test pods or DaemonSets, Service, namespace) instead of deleting it"}),
}

export interface ProbeSettings {
  families: Family[]
  probeTimeoutSeconds: number
  readyTimeoutMs: number
  keep: boolean
  /** Told of each object the run made and could not delete (the API server kept refusing), with the command that does it. */
  onLeftBehind?: (what: string) => void
}

export function probeSettings(flags: {family: string; timeout: string; 'ready-timeout': string; keep: boolean}): ProbeSettings {
  return {
    families: flags.family === 'all' ? ['ipv4', 'ipv6'] : [flags.family as Family],
    probeTimeoutSeconds: Math.max(1, Math.round(parseDuration(flags.timeout, '--timeout') / 1000)),
    readyTimeoutMs: parseDuration(flags['ready-timeout'], '--ready-timeout'),
    keep: flags.keep,
  }
}

/** A one-line progress message on stderr, only when it is a terminal; `done()` clears it. */
export function progressLine(): {update?: (message: string) => void; done(): void} {
  if (!process.stderr.isTTY) return {done() {}}
  return {
    update: (message) => redrawLine(process.stderr, message),
    done: () => redrawLine(process.stderr, ''),
  }
}
