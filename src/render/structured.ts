import {stringify} from 'yaml'

export function renderJson(model: unknown): string {
  return JSON.stringify(model, null, 2)
}

export function renderYaml(model: unknown): string {
  return stringify(model, {lineWidth: 0}).trimEnd()
}
