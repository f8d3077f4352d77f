// The npm install's start (dist/start.cjs, required by bin/kubectl-dualstack): its files beside bin/.
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {launch} from './launch.js'

export function start(root: string): void {
  const files = {'package.json': 'package.json', 'oclif.manifest.json': 'oclif.manifest.json', 'cli.cjs': path.join('dist', 'cli.cjs')}
  launch({
    // The bundle is ASCII (the build makes it so): read as latin1, it needs no decoding.
    read: (name) => readFileSync(path.join(root, files[name]), name === 'cli.cjs' ? 'latin1' : 'utf8'),
    bundleFilename: path.join(root, files['cli.cjs']),
    root,
    invokedAs: process.argv[1] ?? '',
  })
}
