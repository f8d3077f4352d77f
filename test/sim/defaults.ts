// The defaults kube-apiserver fills in on create (pkg/apis/*/v1/defaults.go), for the fields clients read back.
import {versionAtLeast} from './scenario.js'
import type {Obj} from './store.js'

function defaultPodSpec(spec: Record<string, unknown> | undefined): void {
  if (!spec) return
  spec.restartPolicy ??= 'Always'
  spec.dnsPolicy ??= 'ClusterFirst'
  spec.schedulerName ??= 'default-scheduler'
  spec.terminationGracePeriodSeconds ??= 30
  spec.securityContext ??= {}
  for (const c of (spec.containers as Array<Record<string, unknown>> | undefined) ?? []) {
    c.imagePullPolicy ??= String(c.image ?? '').endsWith(':latest') || !String(c.image ?? '').includes(':') ? 'Always' : 'IfNotPresent'
    c.terminationMessagePath ??= '/dev/termination-log'
    c.terminationMessagePolicy ??= 'File'
    c.resources ??= {}
    for (const p of (c.ports as Array<Record<string, unknown>> | undefined) ?? []) p.protocol ??= 'TCP'
  }
}

/** `version`: the server's Kubernetes version, for defaults that came with a release. */
export function applyDefaults(kind: string, obj: Obj, version: string): void {
  const spec = obj.spec
  switch (kind) {
    case 'Namespace':
      // The apiserver's: the namespace controller's finalizer, and Active until it is deleted.
      obj.spec = {...obj.spec, finalizers: obj.spec?.finalizers ?? ['kubernetes']}
      obj.status = {phase: 'Active'}
      break
    case 'Pod':
      obj.spec ??= {}
      defaultPodSpec(obj.spec)
      break
    case 'DaemonSet':
      spec.updateStrategy ??= {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 1, maxSurge: 0}}
      spec.revisionHistoryLimit ??= 10
      defaultPodSpec(spec.template?.spec)
      break
    case 'Deployment':
      spec.replicas ??= 1
      spec.strategy ??= {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: '25%', maxSurge: '25%'}}
      spec.revisionHistoryLimit ??= 10
      spec.progressDeadlineSeconds ??= 600
      defaultPodSpec(spec.template?.spec)
      break
    case 'StatefulSet':
      spec.replicas ??= 1
      spec.updateStrategy ??= {type: 'RollingUpdate', rollingUpdate: {partition: 0}}
      spec.podManagementPolicy ??= 'OrderedReady'
      spec.revisionHistoryLimit ??= 10
      defaultPodSpec(spec.template?.spec)
      break
    case 'Service':
      obj.spec ??= {}
      obj.spec.type ??= 'ClusterIP'
      obj.spec.sessionAffinity ??= 'None'
      // ServiceInternalTrafficPolicy (beta, on by default, from 1.22): every Service but ExternalName gets Cluster.
      if (versionAtLeast(version, 1, 22) && obj.spec.type !== 'ExternalName') obj.spec.internalTrafficPolicy ??= 'Cluster'
      if (obj.spec.type === 'NodePort' || obj.spec.type === 'LoadBalancer') obj.spec.externalTrafficPolicy ??= 'Cluster'
      for (const p of (obj.spec.ports as Array<Record<string, unknown>> | undefined) ?? []) {
        p.protocol ??= 'TCP'
        p.targetPort ??= p.port
      }
      break
  }
}
