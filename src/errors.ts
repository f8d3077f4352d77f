// Exit codes are a contract with scripts and CI: the same for every command, listed in the README.
export const ExitCode = {
  Ok: 0,
  ProblemsFound: 1,
  Usage: 2,
  ClusterUnavailable: 3,
  Interrupted: 130,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** An error the user can act on: one line saying what failed, plus what to do about it. */
export class DualstackError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'DualstackError'
  }
}

export class UsageError extends DualstackError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.Usage, hint)
    this.name = 'UsageError'
  }
}

export class ClusterUnavailableError extends DualstackError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.ClusterUnavailable, hint)
    this.name = 'ClusterUnavailableError'
  }
}

/** The API server answered with an error Status; `code` is its HTTP status. */
export class ApiError extends DualstackError {
  constructor(
    message: string,
    readonly code: number,
    readonly reason: string | undefined,
    exitCode: ExitCodeValue,
    hint?: string,
  ) {
    super(message, exitCode, hint)
    this.name = 'ApiError'
  }
}
