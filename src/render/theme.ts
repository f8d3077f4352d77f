// Colour only on a TTY, never with NO_COLOR or --no-color. The one place chalk is configured.
import {Chalk} from 'chalk'

export interface Theme {
  ok(text: string): string
  warn(text: string): string
  fail(text: string): string
  dim(text: string): string
  bold(text: string): string
}

export function colourWanted(stream: NodeJS.WriteStream, noColorFlag: boolean): boolean {
  if (noColorFlag) return false
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  return stream.isTTY === true
}

export function makeTheme(colour: boolean): Theme {
  const chalk = new Chalk({level: colour ? 1 : 0})
  return {ok: chalk.green, warn: chalk.yellow, fail: chalk.red, dim: chalk.dim, bold: chalk.bold}
}
