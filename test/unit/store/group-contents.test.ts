/**
 * GroupContents, the decoded groups a writer keeps between reads: kept by pack and offset, the longer prefix
 * wins, the least lately used go first past the budget, and a removed pack's groups are forgotten.
 */
import test from 'ava'
import { GroupContents } from '../../../lib/store/text-reader.js'

const at = (packId: number, groupOffset = 8) => ({ packId, groupOffset })
const bytes = (length: number, fill = 1) => new Uint8Array(length).fill(fill)

test('a kept prefix serves reads that need no more of it; a longer one replaces it, a shorter one does not', t => {
  const contents = new GroupContents(1000)
  contents.put(at(1), bytes(100))
  t.is(contents.get(at(1), 100)?.length, 100)
  t.is(contents.get(at(1), 101), undefined, 'a read that needs more decodes again')
  t.is(contents.get(at(1, 9), 1), undefined, 'another group of the same pack')
  contents.put(at(1), bytes(200, 2))
  t.is(contents.get(at(1), 150)?.[0], 2)
  contents.put(at(1), bytes(50, 3))
  t.is(contents.get(at(1), 150)?.[0], 2, 'the longer prefix stays')
})

test('past the budget the groups used least lately go first; one over half the budget is not kept; forget drops a pack\'s groups', t => {
  const contents = new GroupContents(1000)
  contents.put(at(1), bytes(300))
  contents.put(at(2), bytes(300))
  contents.put(at(3), bytes(300))
  t.truthy(contents.get(at(1), 1))
  contents.put(at(4), bytes(300))
  t.is(contents.get(at(2), 1), undefined, 'pack 2 was used least lately')
  for (const packId of [1, 3, 4]) t.truthy(contents.get(at(packId), 1), `pack ${packId}`)
  contents.put(at(5), bytes(501))
  t.is(contents.get(at(5), 1), undefined)
  contents.put(at(3, 500), bytes(10))
  contents.forget([3])
  t.is(contents.get(at(3), 1), undefined)
  t.is(contents.get(at(3, 500), 1), undefined)
  t.truthy(contents.get(at(4), 1))
})
