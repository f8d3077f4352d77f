// `npm run krew-manifest`: writes plugin.yaml, the krew manifest, from the archives `npm run package`
// left in release/ (one platform entry per archive, with its sha256). The release pipeline runs it after
// building every target and uploads the archives to the release the URIs name.
import {createHash} from 'node:crypto'
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {stringify} from 'yaml'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const RELEASE = join(ROOT, 'release')
const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {name: string; version: string; homepage: string}

export function krewManifest(archives: {file: string; sha256: string}[], version = pjson.version): Record<string, unknown> {
  const tag = `v${version}`
  const platforms = archives.map(({file, sha256}) => {
    const match = /_(linux|darwin|windows)_(amd64|arm64)\.(tar\.gz|zip)$/.exec(file)
    if (!match) throw new Error(`${file} is not a release archive name`)
    const [, os, arch] = match
    return {
      selector: {matchLabels: {os, arch}}, // krew's os and arch are Go's GOOS and GOARCH, as in the archive names
      uri: `${pjson.homepage}/releases/download/${tag}/${file}`,
      sha256,
      bin: os === 'windows' ? `${pjson.name}.exe` : pjson.name,
    }
  })
  return {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: {name: 'dualstack'},
    spec: {
      version: tag,
      homepage: pjson.homepage,
      shortDescription: 'Take a Calico cluster through IPv4/IPv6 dual-stack',
      description: [
        'Checks every setting an IPv4/IPv6 dual-stack change needs on a cluster running Calico (doctor),',
        'proves pods and Services are reachable over both families (pod-ips, svc-check, connectivity),',
        'finds mistakes in cluster config files offline (lint), and repairs the known failures safely',
        '(ippool fix, calico-restart, pods recreate: plan, typed confirmation, backup, lock, rollback).',
      ].join('\n'),
      caveats: [
        'Least-privilege ClusterRoles per command are in the repository\'s rbac/ (read, probe, repair):',
        `  ${pjson.homepage}#what-each-command-needs-rbac`,
        'The checks only read (pods, nodes, services, DaemonSets, Calico\'s ConfigMaps and IP pools); doctor\'s',
        'node check and svc-check/connectivity exec into pods and create test pods; the repairs write IP pools,',
        'a Lease and pods in Calico\'s namespace, and check their permissions before the first write.',
        'Completion: kubectl dualstack completion --help',
      ].join('\n'),
      platforms,
    },
  }
}

function main(): void {
  const archives = readdirSync(RELEASE)
    .filter((file) => /\.(tar\.gz|zip)$/.test(file))
    .sort()
    .map((file) => ({file, sha256: createHash('sha256').update(readFileSync(join(RELEASE, file))).digest('hex')}))
  if (archives.length === 0) throw new Error('no archives in release/: run npm run package first')
  writeFileSync(join(ROOT, 'plugin.yaml'), stringify(krewManifest(archives), {lineWidth: 0}))
  console.log(`plugin.yaml: ${archives.map((a) => a.file).join(', ')}`)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main()
  } catch (error) {
    console.error(`krew-manifest: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
}
