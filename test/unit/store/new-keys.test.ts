/**
 * isNewKey against stored hashes that are whole (they name the content) or short checks (store format 3,
 * texts under 16 KiB), where only the texts themselves can say that a re-inserted key is the same.
 */
import test from 'ava'
import { INSERT_WORDS, isNewKey } from '../../../lib/store/new-keys.js'
import { hashText } from '../../../lib/store/text-hash.js'

const key = { file: 'f', rev: 'r2' }
const whole = hashText(new TextEncoder().encode('some text\n'))
const parents = ['r1']
const parentKnown = async () => true

test('a stored key with a whole hash is the same key when the hashes are equal, without a look at the texts', async t => {
  let asked = 0
  const sameContent = async () => { asked++; return false }
  t.false(await isNewKey(key, { hash: whole, parents }, { hash: whole, parents }, parentKnown, INSERT_WORDS, sameContent))
  t.is(asked, 0)
})

test('a stored short check that matches asks for the texts: equal is the same key, different is VSTORE_EXISTS', async t => {
  const check = whole.subarray(0, 4)
  t.false(await isNewKey(key, { hash: whole, parents }, { hash: check, parents }, parentKnown, INSERT_WORDS, async () => true))
  await t.throwsAsync(isNewKey(key, { hash: whole, parents }, { hash: check, parents }, parentKnown, INSERT_WORDS, async () => false), { code: 'VSTORE_EXISTS', message: INSERT_WORDS.otherContent })
})

test('a stored short check that differs is VSTORE_EXISTS without a look at the texts; other parents are VSTORE_EXISTS too', async t => {
  let asked = 0
  const sameContent = async () => { asked++; return true }
  const other = Uint8Array.from(whole.subarray(0, 4), (byte, i) => (i === 3 ? byte ^ 0x80 : byte))
  await t.throwsAsync(isNewKey(key, { hash: whole, parents }, { hash: other, parents }, parentKnown, INSERT_WORDS, sameContent), { code: 'VSTORE_EXISTS' })
  t.is(asked, 0)
  await t.throwsAsync(isNewKey(key, { hash: whole, parents }, { hash: whole, parents: ['r0'] }, parentKnown, INSERT_WORDS, sameContent), { code: 'VSTORE_EXISTS' })
})

test('a new key needs its parents known', async t => {
  t.true(await isNewKey(key, { hash: whole, parents }, undefined, parentKnown, INSERT_WORDS))
  await t.throwsAsync(isNewKey(key, { hash: whole, parents }, undefined, async () => false, INSERT_WORDS), { code: 'VSTORE_MISSING_PARENT' })
})
