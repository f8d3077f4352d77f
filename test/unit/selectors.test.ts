import {SelectorError, matchesLabels, parseFieldSelector, parseLabelSelector} from '../sim/selectors.js'

describe('label selectors (the simulated apiserver)', () => {
  const labels = {app: 'web', tier: 'front', shard: '3'}
  it.each([
    ['app=web', true], ['app==web', true], ['app!=web', false], ['app!=db', true], ['missing!=x', true],
    ['app in (web, db)', true], ['app notin (web)', false], ['missing notin (x)', true],
    ['tier', true], ['!tier', false], ['!missing', true], ['shard>2', true], ['shard<3', false],
    ['app=web,tier=back', false], ['app=web,tier in (front,back)', true], ['', true],
  ])('%p matches: %p', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected)
  })

  it.each(['app=we b', 'app in (a', '=web', 'shard>x'])('rejects %p', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(SelectorError)
  })

  it('field selectors accept only the fields the apiserver supports for the type', () => {
    expect(parseFieldSelector('spec.nodeName=n1,status.phase!=Failed', ['spec.nodeName', 'status.phase'])).toEqual([
      {field: 'spec.nodeName', op: '=', value: 'n1'}, {field: 'status.phase', op: '!=', value: 'Failed'},
    ])
    expect(() => parseFieldSelector('spec.color=blue', ['spec.nodeName'])).toThrow('field label not supported: spec.color')
  })
})
