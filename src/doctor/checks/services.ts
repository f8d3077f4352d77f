// Services after the cluster went dual-stack: existing ones keep the policy they were made with (SingleStack),
// so they stay one family until each is converted; the runbook only proves a new Service.
import {objectManager} from '../../calico/managers.js'
import {usesLegacyIpFamily} from '../../k8s/version.js'
import {addressFamily} from '../../net/ip.js'
import {listSome, need, pass, skip, warn, type Check} from '../check.js'
import type {ServiceObject} from '../facts.js'

/** Services a dual-stack cluster could give both families: every type but ExternalName, and not default/kubernetes (SingleStack by design). */
export function singleStackServices(services: readonly ServiceObject[]): ServiceObject[] {
  return services.filter((svc) => {
    if (svc.spec?.type === 'ExternalName') return false
    if (svc.metadata?.namespace === 'default' && svc.metadata?.name === 'kubernetes') return false
    const policy = svc.spec?.ipFamilyPolicy
    return policy !== 'PreferDualStack' && policy !== 'RequireDualStack'
  })
}

export const dualStack: Check = {
  id: 'services.dual-stack', title: 'Services have both families on a dual-stack cluster', area: 'Workloads', needs: ['services', 'serviceProbe'],
  run(f) {
    if (usesLegacyIpFamily(f.version)) return skip(`${f.version.gitVersion} gives a Service one family (the alpha ipFamily field): a second Service per family is the way before 1.20`)
    const services = need(f.services)
    // Dual-stack for Services: the dry-run probe got both families, or (a user who may not create even in
    // dry-run) a Service already has both.
    const seenDual = services.some((svc) => new Set((svc.spec?.clusterIPs ?? []).map((ip) => addressFamily(ip))).size === 2)
    if (!seenDual) {
      const probe = need(f.serviceProbe)
      if (!probe.allocated.ipv4 || !probe.allocated.ipv6) return skip('the cluster does not give Services both families yet (see apiserver.service-cidr): nothing to convert')
    }
    const single = singleStackServices(services)
    const considered = services.filter((svc) => svc.spec?.type !== 'ExternalName' && !(svc.metadata?.namespace === 'default' && svc.metadata?.name === 'kubernetes')).length
    if (single.length === 0) return pass(`all ${considered} Service(s) are PreferDualStack or RequireDualStack (default/kubernetes is SingleStack by design)`)
    // Grouped by who would put a change back (Helm, Argo CD, Flux) and by namespace: each group is one change.
    const groups = new Map<string, {manager?: ReturnType<typeof objectManager>; namespace: string; names: string[]}>()
    for (const svc of single) {
      const namespace = svc.metadata?.namespace ?? ''
      const manager = objectManager(svc, `Service ${namespace}/${svc.metadata?.name}`, 'Service')
      const key = `${manager?.text ?? ''}|${namespace}`
      const group = groups.get(key) ?? {manager, namespace, names: []}
      group.names.push(`${svc.metadata?.name}${svc.spec?.type && svc.spec.type !== 'ClusterIP' ? ` (${svc.spec.type})` : ''}${svc.spec?.clusterIP === 'None' ? ' (headless)' : ''}`)
      groups.set(key, group)
    }
    const lines = [...groups.values()].map((g) => `${g.namespace}${g.manager ? ` [${g.manager.text}]` : ''}: ${listSome(g.names, 5)}`)
    const plain = [...groups.values()].filter((g) => !g.manager)
    const managed = [...groups.values()].filter((g) => g.manager)
    const fixes = [
      ...(plain.length > 0 ? [`kubectl dualstack services dual -A --dry-run   (converts them one at a time, verified, all put back on failure; managed ones and LoadBalancers only when asked)`] : []),
      ...(plain.length > 0 ? [`kubectl -n NAMESPACE patch svc NAME -p '{"spec":{"ipFamilyPolicy":"PreferDualStack"}}'   (each Service keeps its ClusterIP and gains one of the other family; e.g. kubectl -n ${plain[0]!.namespace} patch svc ${plain[0]!.names[0]!.split(' ')[0]} ...)`] : []),
      ...managed.map((g) => `${g.namespace} [${g.manager!.text}]: set ipFamilyPolicy: PreferDualStack where they are defined: ${g.manager!.fix}`),
      'LoadBalancer Services: check that the cloud\'s load balancer serves IPv6 before converting them',
    ]
    const details = {services: single.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)}
    const message = `${single.length} of ${considered} Service(s) are SingleStack (one ClusterIP family): ${lines.join('; ')}`
    // A migration left half-way, not a broken cluster: their clients reach them over the family they have.
    return warn(message, fixes.join('\n'), details)
  },
}
