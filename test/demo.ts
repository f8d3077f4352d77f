// npm run demo: the plugin against the simulated cluster of the runbook (Rancher RKE, Kubernetes 1.18,
// half-way through enabling dual-stack), next to the runbook's own kubectl command.
import {startSim, runKubectl, runPlugin} from './sim/harness.js'

const sim = await startSim('runbook-rke-1.18')
const show = (title: string, command: string, result: {code: number; stdout: string; stderr: string}) => {
  console.log(`\n$ ${command}`)
  process.stdout.write(result.stdout)
  process.stdout.write(result.stderr)
  console.log(`(exit ${result.code})  # ${title}`)
}
try {
  console.log(`Simulated cluster "${sim.server.sim.scenario.name}" at ${sim.server.url}`)
  console.log(sim.server.sim.scenario.description?.trim() ?? '')
  const kc = ['--kubeconfig', sim.kubeconfig]
  const template = '{{range .status.podIPs}}{{printf "%s\\n" .ip}}{{end}}'
  show("the runbook's check, one pod", `kubectl get pods hello-k8s -n default -o go-template='${template}'`,
    await runKubectl([...kc, 'get', 'pods', 'hello-k8s', '-n', 'default', '-o', `go-template=${template}`]))
  show('the same bytes from the plugin', 'kubectl dualstack pod-ips hello-k8s -n default -o plain', await runPlugin(['pod-ips', 'hello-k8s', '-n', 'default', '-o', 'plain', ...kc]))
  show('every pod, by family', 'kubectl dualstack pod-ips -A', await runPlugin(['pod-ips', '-A', ...kc]))
  show('as a CI gate: pods created before dual-stack fail it', 'kubectl dualstack pod-ips -A --require-dual -o wide', await runPlugin(['pod-ips', '-A', '--require-dual', '-o', 'wide', ...kc]))
  show('every runbook check at once: the stale pool, NAT outgoing, node-2 forwarding and the old pods fail', 'kubectl dualstack doctor',
    await runPlugin(['doctor', ...kc]))
  show('traffic on every node: node-2 fails IPv6 in and out (forwarding is 0 there); its ring neighbours only with it', 'kubectl dualstack connectivity --timeout 1s',
    await runPlugin(['connectivity', '--timeout', '1s', ...kc]))
  show('the repair, planned: pods hold addresses of the stale pool, so Calico\'s migration', 'kubectl dualstack ippool fix --dry-run',
    await runPlugin(['ippool', 'fix', '--dry-run', ...kc]))
  show('the repair, done: new pool, old one disabled, pods moved by their owners (bare pods are only listed)', 'kubectl dualstack ippool fix --recreate-pods --yes',
    await runPlugin(['ippool', 'fix', '--recreate-pods', '--yes', '--backup-dir', sim.dir, ...kc]))
  show('the pool checks pass now', 'kubectl dualstack doctor --only calico.ippool', await runPlugin(['doctor', '--only', 'calico.ippool', ...kc]))
  console.log('\nTo explore by hand: npm run sim -- runbook-rke-1.18 --kubeconfig-out /tmp/dualstack.kubeconfig')
  console.log('then, in another shell: KUBECONFIG=/tmp/dualstack.kubeconfig kubectl get pods -A   (or kubectl dualstack ...)')
} finally {
  await sim.stop()
}
