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
  try {
    process.stderr.write(`\nThis changes ${options.what} on context "${options.target.context}" (server ${options.target.server}).\n`)
    const answer = (await rl.question(`Type ${options.expected} to continue: `)).trim()
    if (answer !== options.expected) {
      throw new UsageError(`aborted: "${answer}" is not ${options.expected}; nothing was changed`)
    }
  } finally {
    rl.close()
  }
}
