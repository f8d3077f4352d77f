// lint's input, in process: files grouped into clusters, and what cannot be read said per file.
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {lintClusters, unreadableLine} from '../../src/lint/clusters.js'
import {NAMED_TOGETHER, readLintInputs} from '../../src/lint/reader.js'

function tree(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-lint-unit-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), {recursive: true})
    writeFileSync(path.join(dir, name), text)
  }
  return dir
}

const INSTALLATION = 'apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata: {name: default}\nspec:\n  calicoNetwork:\n    ipPools:\n      - {cidr: 10.244.0.0/16}\n      - {cidr: "fd00:10:244::/56"}\n'
const RKE = 'services:\n  kube-controller:\n    cluster_cidr: "10.42.0.0/16,fd00:42::/56"\n'

describe('lint inputs', () => {
  it('one cluster per directory walked; the files named as arguments are one cluster; a file is read once', () => {
    const dir = tree({'a/cluster.yml': RKE, 'a/calico/values.yaml': 'env: {}\n', 'b/installation.yaml': INSTALLATION, 'c/readme.txt': 'not linted'})
    const walked = readLintInputs([dir])
    expect(walked.groups.map((g) => [g.name, g.files.map((f) => path.relative(dir, f))])).toEqual([
      [path.join(dir, 'a/calico'), ['a/calico/values.yaml']],
      [path.join(dir, 'a'), ['a/cluster.yml']],
      [path.join(dir, 'b'), ['b/installation.yaml']],
    ])
    const named = readLintInputs([path.join(dir, 'a/cluster.yml'), path.join(dir, 'b/installation.yaml'), path.join(dir, 'b')])
    expect(named.groups.map((g) => [g.name, g.files.length])).toEqual([[NAMED_TOGETHER, 2]])
  })

  it("one cluster's pools are not judged against another cluster's CIDRs, and what went together is said", () => {
    const dir = tree({'rke/cluster.yml': RKE, 'kubeadm/installation.yaml': INSTALLATION})
    const apart = lintClusters(readLintInputs([path.join(dir, 'rke'), path.join(dir, 'kubeadm')]).groups, undefined)
    expect(apart.findings.filter((f) => f.rule === 'calico.pool-in-cluster-cidr')).toEqual([])
    expect(apart.notes[0]).toBe(`2 clusters, each linted on its own (one directory is one cluster; name files to lint them together): ${path.join(dir, 'rke')} (1 file), ${path.join(dir, 'kubeadm')} (1 file)`)
    const together = lintClusters(readLintInputs([path.join(dir, 'rke/cluster.yml'), path.join(dir, 'kubeadm/installation.yaml')]).groups, undefined)
    expect(together.findings.filter((f) => f.rule === 'calico.pool-in-cluster-cidr')).toHaveLength(2)
    expect(together.notes[0]).toBe(`linted together as one cluster: ${path.join(dir, 'rke/cluster.yml')}, ${path.join(dir, 'kubeadm/installation.yaml')}`)
  })

  it('a binary file, invalid YAML, prose and an alias bomb are each that file\'s problem; a good file next to them is read', () => {
    const bomb = 'abcdefghi'.split('').map((l, i, all) => `${l}: &${l} [${Array(9).fill(i === 0 ? 'lol' : `*${all[i - 1]}`).join(', ')}]`).join('\n')
    const dir = tree({
      'nul.yaml': 'a: 1\nb: "\u0000"\n', 'latin1.yaml': Buffer.from('a: caf\xe9\n', 'latin1'), 'bad.yaml': 'a: [1\n', 'prose.yaml': 'just words\n',
      'bomb.yaml': `---\nkind: x\n---\n${bomb}\n`, 'good.yaml': RKE, 'anchors.yaml': 'x: &x {cluster_cidr: "10.42.0.0/16"}\nservices:\n  kube-controller: *x\n',
    })
    const {groups, unreadable} = readLintInputs([dir])
    expect(Object.fromEntries(unreadable.map((u) => [path.basename(u.file), [u.line, u.message]]))).toEqual({
      'bad.yaml': [2, expect.stringMatching(/^not valid YAML: /)],
      'bomb.yaml': [4, 'refused: its aliases expand past 100 nodes (a YAML alias bomb, "billion laughs")'],
      'latin1.yaml': [undefined, 'not YAML: a binary file (not UTF-8 text)'],
      'nul.yaml': [undefined, 'not YAML: a binary file (control character at line 2, column 5)'],
      'prose.yaml': [1, 'not a YAML config: the document is a plain string, not a mapping'],
    })
    // A few aliases are fine; a file with a refused document is not half-linted.
    expect(groups[0]!.documents.map((d) => path.basename(d.file))).toEqual(['anchors.yaml', 'good.yaml'])
    expect(unreadableLine(unreadable.slice(0, 1))).toBe(`1 file(s) could not be linted: ${path.join(dir, 'bad.yaml')} (not valid YAML); fix them or leave them out`)
  })
})
