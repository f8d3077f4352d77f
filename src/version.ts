// `--version` without loading oclif: the same line oclif prints (its user agent), in a few milliseconds.
export interface PackageInfo {
  name: string
  version: string
}

export function versionLine(pkg: PackageInfo): string {
  const arch = process.arch === 'ia32' ? 'x86' : process.arch
  return `${pkg.name}/${pkg.version} ${process.platform}-${arch} node-${process.version}`
}

/** oclif answers --version only as the first word; so does this. */
export function wantsVersion(args: string[]): boolean {
  return args[0] === '--version'
}
