// Server-side printing (meta.k8s.io/v1 Table), which kubectl asks for when it prints human output.
import {humanDuration} from '../../src/render/age.js'
import type {ResourceType} from './resources.js'
import type {Obj} from './store.js'

interface Column {
  name: string
  type: string
  format: string
  description: string
  priority: number
}

function col(name: string, priority = 0, type = 'string', format = ''): Column {
  return {name, type, format, description: '', priority}
}

function age(obj: Obj, now: number): string {
  const created = obj.metadata.creationTimestamp
  return created ? humanDuration(now - Date.parse(created)) : '<unknown>'
}

function podCells(pod: Obj, now: number): unknown[] {
  const statuses: Array<{ready?: boolean; restartCount?: number}> = pod.status?.containerStatuses ?? []
  const total = (pod.spec?.containers ?? []).length
  const ready = statuses.filter((s) => s.ready).length
  const restarts = statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0)
  const reason = pod.metadata.deletionTimestamp ? 'Terminating' : pod.status?.reason ?? pod.status?.phase ?? 'Pending'
  return [pod.metadata.name, `${ready}/${total}`, reason, restarts, age(pod, now), pod.status?.podIP ?? '<none>', pod.spec?.nodeName ?? '<none>', '<none>', '<none>']
}

function ports(svc: Obj): string {
  const list: Array<{port: number; protocol?: string; nodePort?: number}> = svc.spec?.ports ?? []
  if (list.length === 0) return '<none>'
  return list.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',')
}

function serviceCells(svc: Obj, now: number): unknown[] {
  const selector = svc.spec?.selector ? Object.entries(svc.spec.selector).map(([k, v]) => `${k}=${v}`).join(',') : '<none>'
  return [svc.metadata.name, svc.spec?.type ?? 'ClusterIP', svc.spec?.clusterIP ?? '<none>', '<none>', ports(svc), age(svc, now), selector]
}

function nodeCells(node: Obj, now: number): unknown[] {
  const ready = (node.status?.conditions ?? []).find((c: {type: string}) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady'
  const internal = (node.status?.addresses ?? []).filter((a: {type: string}) => a.type === 'InternalIP').map((a: {address: string}) => a.address).join(',')
  return [node.metadata.name, ready, '<none>', age(node, now), node.status?.nodeInfo?.kubeletVersion ?? '', internal || '<none>']
}

function daemonSetCells(ds: Obj, now: number): unknown[] {
  const s = ds.status ?? {}
  return [ds.metadata.name, s.desiredNumberScheduled ?? 0, s.currentNumberScheduled ?? 0, s.numberReady ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0, '<none>', age(ds, now)]
}

const LAYOUTS: Record<string, {columns: Column[]; cells: (obj: Obj, now: number) => unknown[]}> = {
  Pod: {
    columns: [col('Name', 0, 'string', 'name'), col('Ready'), col('Status'), col('Restarts', 0, 'string'), col('Age'), col('IP', 1), col('Node', 1), col('Nominated Node', 1), col('Readiness Gates', 1)],
    cells: podCells,
  },
  Service: {
    columns: [col('Name', 0, 'string', 'name'), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), col('Age'), col('Selector', 1)],
    cells: serviceCells,
  },
  Node: {columns: [col('Name', 0, 'string', 'name'), col('Status'), col('Roles'), col('Age'), col('Version'), col('Internal-IP', 1)], cells: nodeCells},
  DaemonSet: {
    columns: [col('Name', 0, 'string', 'name'), col('Desired', 0, 'integer'), col('Current', 0, 'integer'), col('Ready', 0, 'integer'), col('Up-to-date', 0, 'integer'), col('Available', 0, 'integer'), col('Node Selector'), col('Age')],
    cells: daemonSetCells,
  },
}

export function toTable(type: ResourceType, objects: Obj[], listMeta: Record<string, unknown>): unknown {
  const now = Date.now()
  const layout = LAYOUTS[type.kind] ?? {columns: [col('Name', 0, 'string', 'name'), col('Age', 0, 'date')], cells: (o: Obj, n: number) => [o.metadata.name, age(o, n)]}
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: layout.columns,
    rows: objects.map((obj) => ({
      cells: layout.cells(obj, now),
      object: {kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata},
    })),
  }
}
