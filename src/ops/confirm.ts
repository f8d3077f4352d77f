// Typed confirmation: on a terminal the user types the name of what is about to change (y/N is too easy to
// give to the wrong cluster); without a terminal, --yes is required.
import {createInterface} from 'node:readline/promises'

import type {Target} from '../cluster/types.js'
import {UsageError} from '../errors.js'

export interface ConfirmOptions {
  yes: boolean
  /** What the user must type. */
  expected: string
  /** What is being changed, e.g. 'IPPool default-ipv6-ippool'. */
  what: string
  target: Target
}

export function isInteractive(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true
}

/** Resolves when the user confirmed; throws UsageError (exit 2) otherwise. */
export async function confirm(options: ConfirmOptions): Promise<void> {
  if (options.yes) return
  if (!isInteractive()) {
    throw new UsageError(`refusing to change ${options.what} without confirmation: standard input is not a terminal`,
      'review the plan (--dry-run), then pass --yes')
  }
  const rl = createInterface({input: process.stdin, output: process.stderr})
  const asked = new AbortController()
  // Ctrl-C at the prompt is an interrupt like anywhere else (exit 130, through the interrupt handler);
  // Ctrl-D (end of input) is an answer that is not the name (exit 2). Nothing has been written either way.
  let ended: 'interrupted' | 'closed' | undefined
  rl.on('SIGINT', () => {
    ended = 'interrupted'
    asked.abort()
    process.kill(process.pid, 'SIGINT')
  })
  rl.on('close', () => {
    ended ??= 'closed'
    asked.abort()
  })
  try {
    process.stderr.write(`\nThis changes ${options.what} on context "${options.target.context}" (server ${options.target.server}).\n`)
    let answer: string
    try {
      answer = (await rl.question(`Type ${options.expected} to continue: `, {signal: asked.signal})).trim()
    } catch (error) {
      if (ended === 'interrupted') await new Promise(() => {}) // the interrupt handler exits (130)
      if (ended === 'closed') throw new UsageError(`aborted: no answer (end of input); nothing was changed`, `type ${options.expected} to go ahead, or pass --yes`)
      throw error
    }
    if (answer !== options.expected) {
      throw new UsageError(`aborted: "${answer}" is not ${options.expected}; nothing was changed`)
    }
  } finally {
    rl.close()
  }
}
