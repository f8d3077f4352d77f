// Backups: every file-system call is bounded (a hung network mount must not hold a run, or its Ctrl-C, for
// ever), and a backup restores its object by itself.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {bounded, ensureBackupDir, writeBackup} from '../../src/ops/backup.js'

describe('backups', () => {
  it('a file-system call that never answers gives up with what it was doing, and the event loop stays free meanwhile', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const started = Date.now()
    await expect(bounded('stat /mnt/nfs/backups', new Promise<never>(() => undefined), 100)).rejects.toThrow('stat /mnt/nfs/backups did not answer within 0.1s (a hung mount?)')
    clearInterval(timer)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(ticks).toBeGreaterThan(3)
  })

  it('makes the directory level by level, refuses what cannot be used in one line, and writes a backup only it can read', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'backup-'))
    try {
      await ensureBackupDir(path.join(dir, 'a', 'b'))
      await expect(ensureBackupDir('/proc/x/y')).rejects.toThrow(/^cannot use the backup directory \/proc\/x\/y: /)
      const file = await writeBackup(path.join(dir, 'a', 'b'), {apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: {name: 'p', uid: 'u'}, spec: {cidr: 'fd00::/64', disabled: false}},
        {context: 'ctx', server: 'https://127.0.0.1', user: 'u', namespace: 'default'} as never)
      expect(readFileSync(file, 'utf8')).toMatch(/^# IPPool p from context "ctx".*\n# restore: kubectl --context "ctx" apply -f .*\napiVersion: crd.projectcalico.org\/v1\nkind: IPPool\nmetadata:\n {2}name: p\nspec:\n {2}cidr: fd00::\/64\n {2}disabled: false\n$/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
