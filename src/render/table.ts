// kubectl-style tables: upper-case headers, no borders, columns three spaces apart.
import Table from 'cli-table3'

const NO_BORDER = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '   ',
}

export function renderTable(head: string[], rows: string[][]): string {
  const table = new Table({head, chars: NO_BORDER, style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0}})
  table.push(...rows)
  // cli-table3 pads the last column too; kubectl does not.
  return table.toString().split('\n').map((line) => line.trimEnd()).join('\n')
}
