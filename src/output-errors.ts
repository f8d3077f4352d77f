/**
 * stdout that cannot be written: a closed pipe (`| head`) ends the output quietly, as kubectl's does; any other
 * failure (a full disk, /dev/full) is one line on stderr and exit 1, not oclif's re-thrown stack trace. The
 * command goes on to its end, so that its clean-ups (test pods, the Lease) still run. Installed as the command
 * starts (BaseCommand.init): oclif's command module adds a listener that re-throws, when it is first loaded.
 */
export function installOutputErrorHandler(): void {
  process.stdout.removeAllListeners('error')
  let said = false
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || said) return
    said = true
    process.stderr.write(`error: cannot write the output: ${error.message}; free some space or send the output elsewhere\n`)
    process.exitCode = 1
  })
}
