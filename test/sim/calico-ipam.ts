// Calico IPAM as the CNI plugin does it (libcalico-go lib/ipam): a pool is cut into blocks of blockSize, a
// block is claimed by one node (affinity host:NODE), addresses are handed out in order inside the node's
// blocks, and every block is stored as an IPAMBlock (crd.projectcalico.org/v1) with its allocations and the
// attributes of each (pod, namespace, node; or a tunnel address type). Releasing frees the slot.
import {addressOffset, cidrSize, nthAddress, parseAddress, parseCidr} from '../../src/net/ip.js'
import type {SimCluster} from './cluster.js'
import type {Obj} from './store.js'

interface Block {
  cidr: string
  node: string
  size: number
  /** The pool's own network address is never handed out: slot 0 of the pool's first block stays free. */
  firstOfPool: boolean
  /** Slot -> attributes of the allocation. */
  used: Map<number, Record<string, string>>
}

export interface AllocationOwner {
  namespace?: string
  pod?: string
  node: string
  /** ipipTunnelAddress, vxlanTunnelAddress, vxlanV6TunnelAddress... for a node's tunnel address. */
  type?: string
  uid?: string
}

/** Calico's names.CIDRToName: dots, colons and the slash become dashes. */
export function blockName(cidr: string): string {
  return cidr.replace(/[.:/]/g, '-')
}

export class CalicoIpam {
  private readonly blocks = new Map<string, Block>()
  /** Which block holds each handed-out address (canonical text), so that a release finds it at once. */
  private readonly blockOf = new Map<string, Block>()
  /** Next block index to try per pool CIDR. */
  private readonly nextBlock = new Map<string, number>()

  constructor(private readonly sim: SimCluster) {}

  private blockType() {
    return this.sim.type('crd.projectcalico.org/v1', 'IPAMBlock')
  }

  private blockCidr(pool: string, blockSize: number, index: number): string {
    const net = parseCidr(pool)!
    const per = 1n << BigInt((net.family === 'ipv4' ? 32 : 128) - blockSize)
    return `${nthAddress(net.text, per * BigInt(index))}/${blockSize}`
  }

  private blockCount(pool: string, blockSize: number): number {
    const net = parseCidr(pool)!
    return blockSize < net.prefix ? 0 : Number(cidrSize(net.text) >> BigInt((net.family === 'ipv4' ? 32 : 128) - blockSize))
  }

  /** The next free address of the pool for a node, from one of its blocks or a newly claimed one. */
  assign(pool: Obj, owner: AllocationOwner): string | undefined {
    const cidr = parseCidr(pool.spec?.cidr ?? '')
    if (!cidr) return undefined
    const blockSize: number = pool.spec?.blockSize ?? (cidr.family === 'ipv4' ? 26 : 122)
    for (const block of this.blocks.values()) {
      if (block.node !== owner.node || !this.inPool(block.cidr, cidr.text)) continue
      const slot = this.freeSlot(block)
      if (slot !== undefined) return this.take(block, slot, owner)
    }
    const count = this.blockCount(cidr.text, blockSize)
    for (let index = this.nextBlock.get(cidr.text) ?? 0; index < count; index++) {
      const blockCidr = this.blockCidr(cidr.text, blockSize, index)
      if (this.blocks.has(blockCidr)) continue
      this.nextBlock.set(cidr.text, index + 1)
      const block: Block = {cidr: blockCidr, node: owner.node, size: Number(cidrSize(blockCidr)), firstOfPool: index === 0, used: new Map()}
      this.blocks.set(blockCidr, block)
      const slot = this.freeSlot(block)
      if (slot !== undefined) return this.take(block, slot, owner)
    }
    return undefined
  }

  /** Records an address a scenario gave a pod, in the block (of any pool) that holds it. */
  markUsed(ip: string, owner: AllocationOwner): void {
    const pool = this.sim.store.list(this.sim.type('crd.projectcalico.org/v1', 'IPPool')).find((p) => addressOffset(p.spec?.cidr ?? '', ip) !== undefined)
    if (!pool) return
    const net = parseCidr(pool.spec.cidr)!
    const blockSize: number = pool.spec?.blockSize ?? (net.family === 'ipv4' ? 26 : 122)
    const index = Number(addressOffset(net.text, ip)! >> BigInt((net.family === 'ipv4' ? 32 : 128) - blockSize))
    const blockCidr = this.blockCidr(net.text, blockSize, index)
    let block = this.blocks.get(blockCidr)
    if (!block) {
      block = {cidr: blockCidr, node: owner.node, size: Number(cidrSize(blockCidr)), firstOfPool: index === 0, used: new Map()}
      this.blocks.set(blockCidr, block)
    }
    this.take(block, Number(addressOffset(blockCidr, ip)!), owner)
  }

  release(ip: string): void {
    const text = parseAddress(ip)?.text ?? ip
    const block = this.blockOf.get(text)
    if (!block) return
    this.blockOf.delete(text)
    if (block.used.delete(Number(addressOffset(block.cidr, text)))) this.write(block)
  }

  private inPool(block: string, pool: string): boolean {
    return addressOffset(pool, block.split('/')[0]!) !== undefined
  }

  private freeSlot(block: Block): number | undefined {
    for (let slot = block.firstOfPool ? 1 : 0; slot < block.size; slot++) if (!block.used.has(slot)) return slot
    return undefined
  }

  private take(block: Block, slot: number, owner: AllocationOwner): string {
    const attributes: Record<string, string> = owner.type
      ? {node: owner.node, type: owner.type}
      : {namespace: owner.namespace ?? '', node: owner.node, pod: owner.pod ?? '', timestamp: new Date().toISOString()}
    block.used.set(slot, attributes)
    this.write(block)
    const address = nthAddress(block.cidr, BigInt(slot))
    this.blockOf.set(parseAddress(address)?.text ?? address, block)
    return address
  }

  /** The IPAMBlock object as libcalico-go's KDD backend stores it. */
  private write(block: Block): void {
    const slots = [...block.used.keys()].sort((a, b) => a - b)
    const allocations: Array<number | null> = Array.from({length: block.size}, () => null)
    slots.forEach((slot, i) => (allocations[slot] = i))
    const obj: Obj = {
      apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', metadata: {name: blockName(block.cidr)},
      spec: {
        cidr: block.cidr, affinity: `host:${block.node}`, strictAffinity: false, deleted: false,
        allocations,
        unallocated: allocations.flatMap((a, slot) => (a === null ? [slot] : [])),
        attributes: slots.map((slot) => {
          const attrs = block.used.get(slot)!
          return {handle_id: attrs.type ? `${attrs.type}-${attrs.node}` : `k8s-pod-network.${attrs.namespace}.${attrs.pod}`, secondary: attrs}
        }),
      },
    }
    this.sim.store.write(this.blockType(), obj)
  }
}
