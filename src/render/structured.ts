// yaml (a quarter of a megabyte of bundle) is loaded only for -o yaml: BaseCommand.init loads it when the command
// line asks for YAML, before the command runs, so rendering stays synchronous.
let yaml: typeof import('yaml') | undefined

export async function loadYamlRenderer(): Promise<void> {
  // The bundle links yaml's CommonJS build: an import() of it has the module under `default`.
  const loaded = (await import('yaml')) as typeof import('yaml') & {default?: typeof import('yaml')}
  yaml ??= loaded.default ?? loaded
}

export function renderJson(model: unknown): string {
  return JSON.stringify(model, null, 2)
}

export function renderYaml(model: unknown): string {
  if (!yaml) throw new Error('renderYaml before loadYamlRenderer')
  return yaml.stringify(model, {lineWidth: 0}).trimEnd()
}
