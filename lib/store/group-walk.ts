/**
 * Walking the groups the packs hold, front to back by their headers: strictly (damage is an error), or
 * around damage for verify (a damaged pack or group is reported, and the walk goes on at the next group
 * the index names in that pack).
 */
import { VstoreError } from '../errors.js'
import { DEFAULT_GROUP_LIMITS, MAX_GROUP_HEADER_BYTE_LENGTH, decodeGroup, decodeGroupHeader, type GroupHeader } from '../group/frame.js'
import { PACK_HEADER_BYTE_LENGTH } from '../bytes/index.js'
import { packName } from './layout.js'
import type { PackSet } from './pack-set.js'

export interface WalkedGroup {
  readonly packId: number
  readonly groupOffset: number
  readonly header: GroupHeader
}

/** What a walk around damage is told and tells: the groups the index names, and each damaged pack or group. */
export interface DamageReport {
  /** Offsets of the groups the index names in a pack, ascending. */
  knownOffsets(packId: number): readonly number[]
  /** A pack that cannot be read at all (every group the index names in it is lost). */
  packLost(packId: number, error: VstoreError): void
  /** A damaged pack header: takes nothing with it, its groups are checked one by one. */
  packDamaged(packId: number, why: string): void
  groupLost(packId: number, groupOffset: number, error: unknown, where: string): void
}

/** Group headers of every pack, in pack order. @throws VSTORE_CORRUPT at the first damage. */
export async function* walkGroups(packs: PackSet): AsyncGenerator<WalkedGroup> {
  for (const packId of packs.packIds()) {
    const committed = packs.committedByteLength(packId) as number
    // A pack that cannot be read is an error even when it holds no group.
    if (packs.availableByteLength(packId) === undefined) await packs.read(packId, 0, 0, packName(packId))
    let offset = PACK_HEADER_BYTE_LENGTH
    while (offset < committed) {
      const where = `${packName(packId)}@${offset}`
      const header = decodeGroupHeader(await packs.read(packId, offset, Math.min(MAX_GROUP_HEADER_BYTE_LENGTH, committed - offset), packName(packId)), where, DEFAULT_GROUP_LIMITS)
      if (offset + header.headerByteLength + header.storedByteLength > committed) {
        throw new VstoreError('VSTORE_CORRUPT', 'group runs past the committed end of the pack', where)
      }
      yield { packId, groupOffset: offset, header }
      offset += header.headerByteLength + header.storedByteLength
    }
  }
}

/** Like walkGroups, but damage is reported to `report` and does not end the walk. */
export async function* walkGroupsAroundDamage(packs: PackSet, report: DamageReport): AsyncGenerator<WalkedGroup> {
  for (const packId of packs.packIds()) {
    const committed = packs.committedByteLength(packId) as number
    const end = packs.availableByteLength(packId)
    const why = packs.damage(packId)
    if (end === undefined) {
      report.packLost(packId, new VstoreError('VSTORE_CORRUPT', why ?? 'the pack is not open', packName(packId)))
      continue
    }
    if (why !== undefined) report.packDamaged(packId, why)
    const known = report.knownOffsets(packId)
    let offset = PACK_HEADER_BYTE_LENGTH
    while (offset < committed) {
      const where = `${packName(packId)}@${offset}`
      let header: GroupHeader
      try {
        if (offset >= end) throw new VstoreError('VSTORE_CORRUPT', `the pack ends at ${end} bytes, before this group`, where)
        header = decodeGroupHeader(await packs.read(packId, offset, Math.min(MAX_GROUP_HEADER_BYTE_LENGTH, end - offset), where), where, DEFAULT_GROUP_LIMITS)
        if (offset + header.headerByteLength + header.storedByteLength > end) {
          throw new VstoreError('VSTORE_CORRUPT', `the group runs past the end of the pack (${end} bytes)`, where)
        }
      } catch (error) {
        report.groupLost(packId, offset, error, where)
        const next = known.find(known => known > offset)
        if (next === undefined) break
        offset = next
        continue
      }
      yield { packId, groupOffset: offset, header }
      offset += header.headerByteLength + header.storedByteLength
    }
  }
}

/** The stored bytes of a group a walk found (its header read and bounds checked there). */
export function readGroupBytes(packs: PackSet, group: WalkedGroup): Promise<Uint8Array> {
  const { packId, groupOffset, header } = group
  return packs.read(packId, groupOffset, header.headerByteLength + header.storedByteLength, `${packName(packId)}@${groupOffset}`)
}

/** The decoded content of a group a walk found. */
export async function readGroupContent(packs: PackSet, group: WalkedGroup): Promise<Uint8Array> {
  return (await decodeGroup(await readGroupBytes(packs, group), `${packName(group.packId)}@${group.groupOffset}`, DEFAULT_GROUP_LIMITS)).content
}
