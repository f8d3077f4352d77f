import {shippedRoleFor} from '../../src/cluster/errors.js'

// The authorizer's own wording (kube-apiserver's RBAC 403), as the real control plane tier sees it.
const denied = (verb: string, resource: string, group: string, namespace?: string) =>
  `${resource} is forbidden: User "reader" cannot ${verb} resource "${resource}" in API group "${group}" ${namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'}`

describe('a 403 names the role in rbac/ that grants what was refused', () => {
  it.each([
    [denied('get', 'leases', 'coordination.k8s.io', 'kube-system'), 'kubectl-dualstack-read-config', 'rbac/read.yaml'],
    [denied('delete', 'pods', '', 'calico-system'), 'kubectl-dualstack-repair-calico', 'rbac/operator/calico-system.yaml'],
    [denied('delete', 'pods', '', 'kube-system'), 'kubectl-dualstack-repair-calico', 'rbac/repair.yaml'],
    [denied('list', 'configmaps', '', 'calico-system'), 'kubectl-dualstack-read-config', 'rbac/operator/calico-system.yaml'],
    [denied('update', 'ippools', 'crd.projectcalico.org'), 'kubectl-dualstack-repair', 'rbac/repair.yaml'],
    [denied('patch', 'deployments', 'apps', 'shop'), 'kubectl-dualstack-repair', 'rbac/repair.yaml'],
    [denied('create', 'pods/eviction', '', 'calico-system'), 'kubectl-dualstack-repair', 'rbac/repair.yaml'],
    [denied('create', 'pods/eviction', '', 'shop'), 'kubectl-dualstack-repair', 'rbac/repair.yaml'],
    [denied('create', 'pods/exec', '', 'kube-system'), 'kubectl-dualstack-node-exec', 'rbac/probe.yaml'],
    [denied('create', 'pods', '', 'default'), 'kubectl-dualstack-probe', 'rbac/probe.yaml'],
    [denied('create', 'namespaces', ''), 'kubectl-dualstack-probe', 'rbac/probe.yaml'],
    [denied('list', 'configmaps', '', 'kube-system'), 'kubectl-dualstack-read-config', 'rbac/read.yaml'],
    [denied('list', 'pods', ''), 'kubectl-dualstack-read', 'rbac/read.yaml'],
    [denied('list', 'ippools', 'crd.projectcalico.org'), 'kubectl-dualstack-read', 'rbac/read.yaml'],
  ])('%s', (message, name, file) => {
    expect(shippedRoleFor(message)).toEqual({name, file})
  })

  it('says nothing for what no shipped role grants, or a message it cannot read', () => {
    expect(shippedRoleFor(denied('delete', 'nodes', ''))).toBeUndefined()
    expect(shippedRoleFor(denied('get', 'nodes/proxy', ''))).toBeUndefined()
    expect(shippedRoleFor('forbidden: admission webhook denied the request')).toBeUndefined()
  })
})
