// pod-ips: what each pod's status.podIPs says, classified by family. Pure functions over pod objects.
import type {PodObject} from '../cluster/types.js'
import {parseAddress} from '../net/ip.js'

export type Stack = 'dual' | 'ipv4' | 'ipv6' | 'none'

export interface PodIpRow {
  namespace: string
  name: string
  node: string
  phase: string
  hostNetwork: boolean
  ipv4: string[]
  ipv6: string[]
  stack: Stack
  /** Addresses that are not IPs at all: kept so nothing the API said is silently dropped. */
  invalid?: string[]
  createdAt?: string
}

export interface PodIpSummary {
  total: number
  dual: number
  ipv4: number
  ipv6: number
  none: number
}

export interface PodIpReport {
  items: PodIpRow[]
  summary: PodIpSummary
}

/** The raw addresses of a pod, in API order: status.podIPs, or status.podIP on servers older than 1.16. */
export function rawPodIps(pod: PodObject): string[] {
  const listed = pod.status?.podIPs
  if (listed && listed.length > 0) return listed.map((entry) => entry.ip ?? '')
  return pod.status?.podIP ? [pod.status.podIP] : []
}

export function stackOf(ipv4: readonly string[], ipv6: readonly string[]): Stack {
  if (ipv4.length > 0 && ipv6.length > 0) return 'dual'
  if (ipv4.length > 0) return 'ipv4'
  if (ipv6.length > 0) return 'ipv6'
  return 'none'
}

export function podIpRow(pod: PodObject): PodIpRow {
  const ipv4: string[] = []
  const ipv6: string[] = []
  const invalid: string[] = []
  for (const raw of rawPodIps(pod)) {
    const parsed = parseAddress(raw)
    if (!parsed) invalid.push(raw)
    else (parsed.family === 'ipv4' ? ipv4 : ipv6).push(parsed.text)
  }
  const row: PodIpRow = {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    node: pod.spec?.nodeName ?? '',
    phase: pod.status?.phase ?? '',
    hostNetwork: pod.spec?.hostNetwork === true,
    ipv4,
    ipv6,
    stack: stackOf(ipv4, ipv6),
  }
  if (invalid.length > 0) row.invalid = invalid
  if (pod.metadata?.creationTimestamp) row.createdAt = pod.metadata.creationTimestamp
  return row
}

export function emptySummary(): PodIpSummary {
  return {total: 0, dual: 0, ipv4: 0, ipv6: 0, none: 0}
}

export function addToSummary(summary: PodIpSummary, row: PodIpRow): void {
  summary.total++
  summary[row.stack]++
}

/** --require-dual: a Running pod on the pod network that lacks one family. */
export function violatesRequireDual(row: PodIpRow): boolean {
  return row.phase === 'Running' && !row.hostNetwork && row.stack !== 'dual'
}

export interface CollectOptions {
  /** Keep every row (table, json, yaml); plain output streams instead. */
  keepRows: boolean
  requireDual: boolean
  /** Count the summary without keeping rows (a fleet's one row per cluster). */
  summarize?: boolean
  /** Receives each page's raw addresses, exactly as the runbook's go-template prints them. */
  onRawPage?: (text: string) => void
}

/**
 * Walks the pages of a pod list once. Pods are classified only when something needs it: plain output
 * without --require-dual just copies addresses, which keeps the big-cluster path cheap.
 */
export async function collectPodIps(pages: AsyncIterable<PodObject[]>, options: CollectOptions): Promise<{report: PodIpReport; offenders: PodIpRow[]}> {
  const report: PodIpReport = {items: [], summary: emptySummary()}
  const offenders: PodIpRow[] = []
  const classify = options.keepRows || options.requireDual || options.summarize === true
  for await (const page of pages) {
    let raw = ''
    for (const pod of page) {
      if (options.onRawPage) raw += rawPodIps(pod).map((ip) => `${ip}\n`).join('')
      if (!classify) continue
      const row = podIpRow(pod)
      addToSummary(report.summary, row)
      if (options.requireDual && violatesRequireDual(row)) offenders.push(row)
      if (options.keepRows) report.items.push(row)
    }
    if (raw) options.onRawPage?.(raw)
  }
  return {report, offenders}
}
