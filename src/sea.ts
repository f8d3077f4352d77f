// The single executable's main script (Node SEA: the krew install, on machines that may have no Node): the
// same start as the npm install's, with package.json, the manifest and the CLI's bundle from the SEA's assets.
import {dirname, join} from 'node:path'
import {getAsset} from 'node:sea'

import {launch} from './start/launch.js'

const root = dirname(process.execPath)
launch({
  read: (name) => getAsset(name, 'utf8'),
  // Not a file: the name stack traces show, and where the bundle's require() would look for packages (none).
  bundleFilename: join(root, 'kubectl-dualstack.cjs'),
  root,
  // argv0 is the name the binary was started by (a kubectl_complete-dualstack link); execPath is resolved.
  invokedAs: process.argv0,
})
