import test from 'ava'
import { VstoreError } from '../../../lib/errors.js'
import { DEFAULT_STORE_OPTIONS, MAX_STORABLE_TEXT_BYTE_LENGTH, resolveSettings, type StoreOptions } from '../../../lib/store/settings.js'

test('the defaults resolve, with the codec they name', t => {
  const settings = resolveSettings({})
  t.is(settings.codec, DEFAULT_STORE_OPTIONS.codec)
  t.is(settings.codecInstance.name, 'brotli')
  t.is(resolveSettings({ create: true, readOnly: true, maxTextByteLength: 0 }).maxTextByteLength, 0)
})

test('every value out of its range, and an unknown codec, is VSTORE_USAGE before anything is opened', t => {
  const bad: StoreOptions[] = [
    { largeTextFactor: -1 }, { maxRebuildByteLength: -1 }, { maxRebuildByteLength: 2 * 1024 ** 3 }, { maxBaseDepth: 17 }, { maxBaseDepth: 1.5 },
    { maxTextByteLength: MAX_STORABLE_TEXT_BYTE_LENGTH + 1 }, { maxContentByteLength: 0 }, { maxReadByteLength: -5 }, { readChunkByteLength: 1.5 },
    { maxPackByteLength: Number.NaN }, { minCopyByteLength: 15 }, { codec: 'bogus' }, { codec: 'brotli:12' },
    { autoPackFactor: 1 }, { indexBlockByteLength: 1023 }, { indexBlockByteLength: 4 * 1024 * 1024 + 1 }, { indexBlockByteLength: 4096.5 },
  ]
  for (const options of bad) t.throws(() => resolveSettings(options), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, JSON.stringify(options))
})

test('minCopyByteLength may be as short as the matcher\'s block', t => {
  t.is(resolveSettings({ minCopyByteLength: 16 }).minCopyByteLength, 16)
})
