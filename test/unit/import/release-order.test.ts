import test from 'ava'
import { compareReleaseNames, findReleaseOutOfOrder, newestNewerThan, parseReleaseVersion } from '../../../lib/import/release-order.js'

test('release names read as project, numbers and tag', t => {
  t.deepEqual(parseReleaseVersion('zstd-1.5.5'), { project: 'zstd', numbers: ['1', '5', '5'], tag: [] })
  t.deepEqual(parseReleaseVersion('v1.5.5'), { project: '', numbers: ['1', '5', '5'], tag: [] })
  t.deepEqual(parseReleaseVersion('1.5.5'), { project: '', numbers: ['1', '5', '5'], tag: [] })
  t.deepEqual(parseReleaseVersion('express@4.18.2'), { project: 'express', numbers: ['4', '18', '2'], tag: [] })
  t.deepEqual(parseReleaseVersion('@scope/tool@0.1.0'), { project: '@scope/tool', numbers: ['0', '1', '0'], tag: [] })
  t.deepEqual(parseReleaseVersion('boost_1_84_0'), { project: 'boost', numbers: ['1', '84', '0'], tag: [] })
  t.deepEqual(parseReleaseVersion('node-v20.1.0'), { project: 'node', numbers: ['20', '1', '0'], tag: [] })
  t.deepEqual(parseReleaseVersion('python3-3.12.0'), { project: 'python3', numbers: ['3', '12', '0'], tag: [] })
  t.deepEqual(parseReleaseVersion('Python-3.12.0a1'), { project: 'python', numbers: ['3', '12', '0'], tag: ['a', '1'] })
  t.deepEqual(parseReleaseVersion('linux-6.1-rc3'), { project: 'linux', numbers: ['6', '1'], tag: ['rc', '3'] })
  t.deepEqual(parseReleaseVersion('jq-1.7rc1'), { project: 'jq', numbers: ['1', '7'], tag: ['rc', '1'] })
  t.deepEqual(parseReleaseVersion('1.0.0-alpha.beta'), { project: '', numbers: ['1', '0', '0'], tag: ['alpha', 'beta'] })
  t.deepEqual(parseReleaseVersion('1.0.0+build.5'), { project: '', numbers: ['1', '0', '0'], tag: [] })
  t.deepEqual(parseReleaseVersion('a-01.002'), { project: 'a', numbers: ['1', '2'], tag: [] })
})

test('names without a version at their end have none: they cannot be ordered', t => {
  for (const name of ['lz4-r131', 'nightly', 'v2@beta', 'r1', 'dev1.0', 'ec88557d7bbf02408cf0735a97d646b6c79a0444', '']) {
    t.is(parseReleaseVersion(name), undefined, name)
    t.is(compareReleaseNames(name, '1.0'), undefined, name)
    t.is(compareReleaseNames('1.0', name), undefined, name)
  }
})

test('numbers compare by value, a pre-release before its release', t => {
  t.true((compareReleaseNames('zstd-1.10', 'zstd-1.9') as number) > 0)
  t.true((compareReleaseNames('zstd-1.5.5', 'zstd-1.5.6') as number) < 0)
  t.true((compareReleaseNames('1.0.0-rc1', '1.0.0') as number) < 0)
  t.true((compareReleaseNames('jq-1.7rc2', 'jq-1.7rc10') as number) < 0)
  t.true((compareReleaseNames('Python-3.12.0a1', 'Python-3.12.0b1') as number) < 0)
  t.true((compareReleaseNames('1.0b1', '1.0rc1') as number) < 0)
  t.true((compareReleaseNames('1.0.0-alpha', '1.0.0-alpha.1') as number) < 0)
  t.true((compareReleaseNames('1.0.0-alpha.1', '1.0.0-alpha.beta') as number) < 0)
  t.true((compareReleaseNames('x-99999999999999999999', 'x-100000000000000000000') as number) < 0)
  t.is(compareReleaseNames('1.5', '1.5.0'), 0)
  t.is(compareReleaseNames('v1.5.5', '1.5.5'), 0)
  t.is(compareReleaseNames('1.0.0+a', '1.0.0+b'), 0)
})

test('names of two projects are not compared; a bare version is compared with any project', t => {
  t.is(compareReleaseNames('lodash@4.17.21', 'express@4.18.2'), undefined)
  t.is(compareReleaseNames('cut-1.3', 'proj-1.2'), undefined)
  t.true((compareReleaseNames('v1.5.6', 'zstd-1.5.5') as number) > 0)
  t.true((compareReleaseNames('ZSTD-1.5.5', 'zstd-1.5.6') as number) < 0)
})

test('findReleaseOutOfOrder names the first older release and the newest one before it', t => {
  t.deepEqual(findReleaseOutOfOrder(['a-1.0', 'a-1.2', 'a-1.3', 'a-1.1']), { older: 'a-1.1', newer: 'a-1.3' })
  t.deepEqual(findReleaseOutOfOrder(['a-1.0', 'b-2.0', 'a-1.1', 'b-1.0']), { older: 'b-1.0', newer: 'b-2.0' })
  t.is(findReleaseOutOfOrder(['a-1.0', 'nightly', 'a-1.1', 'b-0.1']), undefined)
  t.is(findReleaseOutOfOrder([]), undefined)
  t.is(newestNewerThan('a-1.0', ['a-0.9', 'a-1.1', 'a-1.2', 'b-5']), 'a-1.2')
  t.is(newestNewerThan('nightly', ['a-1.1']), undefined)
})
