import {addressFamily} from '../../net/ip.js'
import {fail, listSome, need, pass, skip, warn, type Check} from '../check.js'

export const podIps: Check = {
  id: 'workloads.pod-ips', title: 'Running pods have both families', area: 'Workloads', needs: ['workloads'],
  run(f) {
    const {total, singleStack} = need(f.workloads)
    if (singleStack.length === 0) return pass(`every Running pod on the pod network is dual-stack (${total} pods in all)`)
    const names = singleStack.map((p) => `${p.namespace}/${p.name}`)
    return fail(`${singleStack.length} Running pod(s) have one family, most likely created before dual-stack: ${listSome(names)}`,
      'kubectl dualstack pods recreate --single-stack -A   (through their owners, one at a time; --dry-run first; bare pods are listed, not deleted); list them with: kubectl dualstack pod-ips -A --require-dual',
      {pods: names})
  },
}

export const dnsService: Check = {
  id: 'dns.service', title: 'Cluster DNS Service has both families', area: 'DNS', needs: ['dnsService'],
  run(f) {
    const svc = need(f.dnsService)
    if (!svc) return skip('no Service kube-system/kube-dns')
    const ips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])
    const families = new Set(ips.map((ip) => addressFamily(ip)))
    if (families.has('ipv4') && families.has('ipv6')) return pass(`kube-dns has ${ips.join(' and ')}`)
    return warn(`kube-dns has only ${ips.join(', ') || 'no ClusterIP'}: pods with IPv6 only cannot reach DNS (AAAA answers for dual-stack Services still work)`,
      'kubectl -n kube-system patch svc kube-dns -p \'{"spec":{"ipFamilyPolicy":"PreferDualStack"}}\'  (1.20+; kubelet --cluster-dns can then list both addresses)')
  },
}
