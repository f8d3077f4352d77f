// Nothing the cluster says reaches the terminal as a control sequence. Names are validated by the API
// server, but ConfigMap and env values, annotations, events, exec output and Status messages are free text:
// an escape sequence in them could set the window title, write the clipboard (OSC 52), move the cursor or
// hide text. Every write to stdout and stderr goes through printable(); the only escape sequences kept are
// the few SGR colours our own theme emits (render/theme.ts), and only when colour is on.

import {colourWanted} from './theme.js'

// ESC followed by: CSI (parameters, intermediates, final byte); OSC, DCS, SOS, PM or APC (up to BEL or
// ST); or any other single byte. Then the C0 controls but tab and newline, DEL, the C1 controls, and the
// bidirectional overrides that can make text read differently from what it is.
const ESCAPE_OR_CONTROL =
  // eslint-disable-next-line no-control-regex -- matching control characters is what this is for
  /\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -~]?)|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g

// What chalk emits at level 1 for the theme's ok, warn, fail, dim and bold.
const THEME_SGR = new Set(['1', '2', '22', '31', '32', '33', '39'])

export function printable(text: string, keepColour = false): string {
  return text.replace(ESCAPE_OR_CONTROL, (sequence) => {
    if (keepColour) {
      // eslint-disable-next-line no-control-regex -- as above
      const sgr = /^\x1b\[([0-9;]*)m$/.exec(sequence)
      if (sgr && sgr[1]!.split(';').every((param) => THEME_SGR.has(param))) return sequence
    }
    return ''
  })
}

type Write = NodeJS.WriteStream['write']
type RawWrite = (chunk: unknown, ...rest: unknown[]) => boolean
const unsanitized = new WeakMap<NodeJS.WriteStream, RawWrite>()

/** Puts printable() in front of a stream's write. keepColour is asked at each write: --no-color is known later. */
export function sanitizeStream(stream: NodeJS.WriteStream, keepColour: () => boolean): void {
  if (unsanitized.has(stream)) return
  const write = stream.write.bind(stream) as RawWrite
  unsanitized.set(stream, write)
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : undefined
    if (text === undefined) return write(chunk, ...rest)
    // A string chunk's encoding argument no longer applies to what is written.
    const args = typeof rest[0] === 'string' ? rest.slice(1) : rest
    return write(printable(text, keepColour()), ...args)
  }) as Write
}

/**
 * A progress line redrawn in place: our own carriage return and erase-line codes, written past the
 * sanitiser, around a message that is made printable like everything else.
 */
export function redrawLine(stream: NodeJS.WriteStream, message: string, erase = true): void {
  const write = unsanitized.get(stream) ?? (stream.write.bind(stream) as RawWrite)
  write(`\r${erase ? '\x1b[K' : ''}${printable(message)}`)
}

/** Every write to stdout and stderr of this process goes through printable() from here on. */
export function installOutputSanitizer(): void {
  const noColorFlag = process.argv.includes('--no-color')
  sanitizeStream(process.stdout, () => colourWanted(process.stdout, noColorFlag))
  sanitizeStream(process.stderr, () => colourWanted(process.stderr, noColorFlag))
}
