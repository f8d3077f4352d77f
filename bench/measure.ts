// Runs a command and measures wall time and peak RSS (VmHWM from /proc, sampled while it runs).
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'

export interface Measurement {
  wallMs: number
  peakRssMb: number
  exitCode: number
  stdoutBytes: number
  stdoutSha256: string
  /** What it printed, when asked for (keepStdout). */
  stdout?: string
}

function vmHwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

export function measure(command: string, args: string[], env: NodeJS.ProcessEnv, keepStdout = false): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(command, args, {env, stdio: ['ignore', 'pipe', 'inherit']})
    const hash = createHash('sha256')
    let bytes = 0
    let peak = 0
    const kept: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      hash.update(chunk)
      if (keepStdout) kept.push(chunk)
    })
    const timer = setInterval(() => {
      peak = Math.max(peak, vmHwmKb(child.pid!))
    }, 5)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearInterval(timer)
      resolve({
        wallMs: Number(process.hrtime.bigint() - started) / 1e6,
        peakRssMb: peak / 1024,
        exitCode: code ?? -1,
        stdoutBytes: bytes,
        stdoutSha256: hash.digest('hex'),
        ...(keepStdout ? {stdout: Buffer.concat(kept).toString('utf8')} : {}),
      })
    })
  })
}
