// A check: a stable id, a title, the facts it reads, and a pure function from facts to an outcome.
import type {FactName, Facts, Fact} from './facts.js'

export type Status = 'pass' | 'warn' | 'fail' | 'skip' | 'error'
export const STATUSES: readonly Status[] = ['pass', 'warn', 'fail', 'skip', 'error']

export type Area = 'Repairs' | 'Kubernetes' | 'Nodes' | 'Calico' | 'kube-proxy' | 'Workloads' | 'DNS'

export interface Outcome {
  status: Status
  /** One line, with the observed values. */
  message: string
  /** On warn/fail: what to do, with exact commands or YAML. */
  remediation?: string
  details?: Record<string, unknown>
}

export interface Check {
  id: string
  title: string
  area: Area
  needs: readonly FactName[]
  run(facts: Facts): Outcome
}

export interface CheckResult extends Outcome {
  id: string
  title: string
  area: Area
}

/**
 * Thrown by `need` when a fact the check reads could not be gathered: the check's status becomes error, and
 * `hint` (how to fix the read, e.g. the shipped role that grants it) its remediation.
 */
export class MissingFact extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message)
  }
}

export function need<T>(fact: Fact<T>): T {
  if (!fact.ok) throw new MissingFact(fact.error, fact.cause?.hint)
  return fact.value
}

export const pass = (message: string, details?: Record<string, unknown>): Outcome => ({status: 'pass', message, ...(details ? {details} : {})})
export const skip = (message: string): Outcome => ({status: 'skip', message})
export const warn = (message: string, remediation?: string, details?: Record<string, unknown>): Outcome =>
  ({status: 'warn', message, ...(remediation ? {remediation} : {}), ...(details ? {details} : {})})
export const fail = (message: string, remediation?: string, details?: Record<string, unknown>): Outcome =>
  ({status: 'fail', message, ...(remediation ? {remediation} : {}), ...(details ? {details} : {})})

/** Up to `max` names, then "and N more". */
export function listSome(names: readonly string[], max = 10): string {
  const shown = names.slice(0, max).join(', ')
  return names.length > max ? `${shown} and ${names.length - max} more` : shown
}
