import {printable} from '../../src/render/sanitize.js'

describe('printable', () => {
  it('strips OSC (title, clipboard, hyperlinks), CSI (colour, cursor, erase) and other escapes', () => {
    expect(printable('a\x1b]0;pwned\x07b')).toBe('ab')
    expect(printable('a\x1b]52;c;ZXZpbA==\x1b\\b')).toBe('ab')
    expect(printable('a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b')).toBe('alinkb')
    expect(printable('\x1b[31mred\x1b[0m \x1b[2J\x1b[H\x1b[8mhidden')).toBe('red hidden')
    expect(printable('a\x1bPdcs\x1b\\b\x1bcreset')).toBe('abreset')
    expect(printable('cut\x1b[')).toBe('cut')
  })

  it('strips C0 controls but tab and newline, DEL, C1 controls and bidi overrides', () => {
    expect(printable('a\rb\bc\x07d\x00e\x7ff\x9bg\u202eh\u2066i')).toBe('abcdefghi')
    expect(printable('col1\tcol2\nnext')).toBe('col1\tcol2\nnext')
    expect(printable('fd00::1 ✓ node-1 — ok')).toBe('fd00::1 ✓ node-1 — ok')
  })

  it('keeps only the theme\'s colours, and only when colour is on', () => {
    expect(printable('\x1b[32mok\x1b[39m \x1b[1mbold\x1b[22m', true)).toBe('\x1b[32mok\x1b[39m \x1b[1mbold\x1b[22m')
    expect(printable('\x1b[32mok\x1b[39m', false)).toBe('ok')
    expect(printable('\x1b[8mhidden\x1b[0m \x1b[2J', true)).toBe('hidden ')
  })
})
