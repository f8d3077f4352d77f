// connectivity's plain logic for the paths of issue 21: test images from a mirror.
import {CONNECTIVITY_TESTS, HOST_TESTS, planPaths, ringSuccessor} from '../../src/connectivity/plan.js'
import {parseTestSelection} from '../../src/connectivity/select.js'
import {checkRegistry, withRegistry} from '../../src/connectivity/workload.js'
import {UsageError} from '../../src/errors.js'
import {curlBatchArgv, parseCurlBatch, udpHostnameArgv} from '../../src/probe/argv.js'

describe('--image-registry', () => {
  it('replaces the registry an image names, or Docker Hub when it names none, keeping repository, tag and digest', () => {
    expect(withRegistry('docker.io/nicolaka/netshoot:v0.13', 'mirror.example')).toBe('mirror.example/nicolaka/netshoot:v0.13')
    expect(withRegistry('nicolaka/netshoot:v0.13', 'mirror.example')).toBe('mirror.example/nicolaka/netshoot:v0.13')
    expect(withRegistry('busybox:1.36', 'mirror.example/hub/')).toBe('mirror.example/hub/library/busybox:1.36')
    expect(withRegistry('registry.k8s.io/e2e-test-images/agnhost:2.52', 'registry.internal:5000')).toBe('registry.internal:5000/e2e-test-images/agnhost:2.52')
    expect(withRegistry('localhost/img@sha256:abc', 'r.example')).toBe('r.example/img@sha256:abc')
    expect(withRegistry('localhost:5001/team/img:1', 'r.example')).toBe('r.example/team/img:1')
  })

  it('takes host[:port][/path] and refuses a scheme or anything else, saying what it wants', () => {
    expect(checkRegistry('registry.internal:5000/mirror')).toBeUndefined()
    expect(checkRegistry('harbor.example.com/dockerhub-proxy/')).toBeUndefined()
    expect(checkRegistry('https://registry.internal')).toMatch(/has a scheme/)
    expect(checkRegistry('registry internal')).toMatch(/is not a registry host\[:port\]\[\/path\]/)
    expect(checkRegistry('')).toMatch(/is not a registry/)
  })
})

describe('--test', () => {
  it('keeps every test without expressions; keeps what matches one, leaves out what a ! expression matches', () => {
    expect(parseTestSelection(undefined).tests).toEqual([...CONNECTIVITY_TESTS])
    expect(parseTestSelection([]).tests).toEqual([...CONNECTIVITY_TESTS])
    expect(parseTestSelection(['pod-to-pod']).tests).toEqual(['pod-to-pod/same-node', 'pod-to-pod/cross-node', 'pod-to-pod/large-payload'])
    expect(parseTestSelection(['pod-to-pod', '!cross|large']).tests).toEqual(['pod-to-pod/same-node'])
    expect(parseTestSelection(['^service/require']).tests).toEqual(['service/require-dual-stack/ipv4-first', 'service/require-dual-stack/ipv6-first'])
    expect(parseTestSelection(["!^node-to|nodeport/from-node"]).tests.filter((t) => HOST_TESTS.has(t))).toEqual([])
    expect(parseTestSelection(['!dns,!external']).tests).toEqual(CONNECTIVITY_TESTS.filter((t) => t !== 'dns' && t !== 'external'))
    expect(parseTestSelection(['^dns$, external']).tests).toEqual(['dns', 'external'])
    const selection = parseTestSelection(['service'])
    expect(selection.has('pod-to-service')).toBe(true)
    expect(selection.has('dns')).toBe(false)
    expect(selection.expressions).toEqual(['service'])
  })

  it('a bad expression, or expressions that keep nothing, are usage errors naming the tests', () => {
    expect(() => parseTestSelection(['pod-(to'])).toThrow(UsageError)
    expect(() => parseTestSelection(['pod-(to'])).toThrow(/^--test "pod-\(to" is not a regular expression \(/)
    expect(() => parseTestSelection(['nothing-like-it'])).toThrow('--test nothing-like-it chooses no test')
    expect(() => parseTestSelection(['!.'])).toThrow('--test !. chooses no test')
  })
})

describe('the paths plan', () => {
  it('is O(N) per family: each node path once per node, to the ring\'s next node or the node itself, and four policy tests spread over the nodes', () => {
    for (const n of [1, 2, 7, 60]) {
      const nodes = Array.from({length: n}, (_, i) => `node-${String(i).padStart(2, '0')}`)
      const next = ringSuccessor(nodes)
      for (const nodeLocal of [true, false]) {
        const tests = planPaths(nodes, ['ipv4', 'ipv6'], {serviceIsNodeLocal: nodeLocal})
        expect(tests).toHaveLength(2 * (9 * n + 4))
        for (const t of tests.filter((x) => ['node-to-pod', 'nodeport/from-pod', 'nodeport/from-node', 'pod-to-pod/large-payload'].includes(x.test))) {
          expect(t.toNode).toBe(next.get(t.fromNode) ?? t.fromNode)
        }
        for (const t of tests.filter((x) => ['node-to-service', 'udp-to-service'].includes(x.test) || x.test.startsWith('service/'))) {
          expect(t.toNode).toBe(nodeLocal ? t.fromNode : undefined)
        }
        const policy = tests.filter((t) => t.test.startsWith('service/'))
        expect(new Set(policy.map((t) => t.fromNode)).size).toBe(Math.min(n, 8))
      }
    }
  })
})

describe('the probes of the paths', () => {
  it('one curl for a pod\'s requests: an -o per URL in order, a line per request with its own exit code', () => {
    expect(curlBatchArgv(['http://10.0.0.1:8080/', 'http://[fd00::1]:80/'], 5)).toEqual(['curl', '-g', '-s', '--connect-timeout', '5', '-m', '5',
      '-w', '%{http_code} %{time_total} %{size_download} %{exitcode}\\n', '-o', '/dev/null', 'http://10.0.0.1:8080/', '-o', '/dev/null', 'http://[fd00::1]:80/'])
    expect(parseCurlBatch('200 0.000412 2000 0\n000 5.001 0 28\n200 0.1 5 %{exitcode}\ngarbage\n')).toEqual([
      {httpCode: 200, seconds: 0.000412, bytes: 2000, exitCode: 0}, {httpCode: 0, seconds: 5.001, bytes: 0, exitCode: 28}, {httpCode: 200, seconds: 0.1, bytes: 5}])
  })

  it('UDP through a constant script: the address is an argument, never part of the script, and must be an address', () => {
    expect(udpHostnameArgv('ipv6', 'fd00:10:96::a', 8081, 2)).toEqual(['sh', '-c', 'echo hostname | nc -u -w "$2" "$0" "$1"', 'fd00:10:96::a', '8081', '2'])
    expect(() => udpHostnameArgv('ipv4', '10.0.0.1; reboot', 8081, 2)).toThrow(/not an ipv4 address/)
  })
})
