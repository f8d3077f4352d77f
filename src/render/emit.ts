// How every command prints its result: its own renderers for the formats that have one (table, wide, junit),
// else JSON or YAML of the model it returns. With --json oclif prints the returned model, so nothing here.
import {renderJson, renderYaml} from './structured.js'

export interface Printer {
  log(text: string): void
  jsonEnabled(): boolean
}

export type Renderers = Partial<Record<string, () => string>>

/** The -o format to print: --json is -o json. */
export function outputOf(printer: Printer, output: string): string {
  return printer.jsonEnabled() ? 'json' : output
}

export function emit(printer: Printer, output: string, model: unknown, renderers: Renderers = {}): void {
  const own = renderers[output]
  if (own) printer.log(own())
  else if (output === 'yaml') printer.log(renderYaml(model))
  else if (output === 'json' && !printer.jsonEnabled()) printer.log(renderJson(model))
}
