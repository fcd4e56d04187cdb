/** Shows a writing command's progress on stderr: a live line on a terminal, or JSON lines. */
import cliProgress from 'cli-progress'
import type { InsertProgress } from '../vstore.js'

/** What an import shows while it runs. */
export interface ProgressView {
  update(progress: InsertProgress): void
  stop(): void
}

const MB = 1e6

function rate(byteLength: number, startedMs: number, nowMs: number): string {
  const seconds = (nowMs - startedMs) / 1000
  return seconds > 0 ? (byteLength / MB / seconds).toFixed(1) : '0.0'
}

/**
 * A live line on a terminal (cli-progress, redrawn at most 5 times a second): while reading, texts and
 * MB in with the input rate; while writing, a bar over the new bytes with MB/s, the store's growth and
 * an ETA. Nothing when `stream` is not a terminal.
 */
export function terminalProgress(stream: NodeJS.WriteStream, clock: () => number = () => performance.now()): ProgressView {
  if (!stream.isTTY) return { update() {}, stop() {} }
  const started = clock()
  let writingStarted: number | undefined
  let latest: InsertProgress | undefined
  const bar = new cliProgress.SingleBar({
    stream,
    fps: 5,
    etaBuffer: 50,
    hideCursor: true,
    clearOnComplete: false,
    format: (options, params, payload: { progress?: InsertProgress }) => {
      const p = payload.progress
      if (p === undefined) return 'starting'
      const now = clock()
      const head = `${p.textCount} texts, ${(p.rawByteLength / MB).toFixed(1)} MB in`
      if (p.phase === 'reading') return `reading  ${head} (${rate(p.rawByteLength, started, now)} MB/s), ${p.newTextCount} new`
      const barText = (options.barCompleteString ?? '').slice(0, Math.round(params.progress * (options.barsize ?? 30)))
        + (options.barIncompleteString ?? '').slice(0, (options.barsize ?? 30) - Math.round(params.progress * (options.barsize ?? 30)))
      const eta = params.eta > 0 && Number.isFinite(params.eta) ? `${Math.round(params.eta)} s` : '-'
      return `writing  ${barText} ${Math.round(params.progress * 100)}% | ${p.writtenTextCount}/${p.newTextCount} new texts, `
        + `${rate(p.writtenRawByteLength, writingStarted ?? started, now)} MB/s | store +${(p.storedByteLength / MB).toFixed(2)} MB | ETA ${eta}`
    },
  }, cliProgress.Presets.shades_classic)
  bar.start(1, 0, { progress: undefined })
  return {
    update(progress) {
      latest = progress
      if (progress.phase === 'reading') {
        bar.update(0, { progress })
        return
      }
      if (writingStarted === undefined) {
        writingStarted = clock()
        bar.setTotal(Math.max(1, progress.newRawByteLength))
      }
      bar.update(progress.writtenRawByteLength, { progress })
    },
    stop() {
      if (latest !== undefined) bar.update({ progress: latest })
      bar.stop()
    },
  }
}

/** Progress as JSON lines (at most one a second, and the last), for machines. */
export function jsonProgress(write: (line: string) => void, clock: () => number = () => performance.now()): ProgressView {
  let last = -Infinity
  let latest: InsertProgress | undefined
  return {
    update(progress) {
      latest = progress
      const now = clock()
      if (now - last < 1000) return
      last = now
      write(`${JSON.stringify({ event: 'progress', ...progress })}\n`)
    },
    stop() {
      if (latest !== undefined) write(`${JSON.stringify({ event: 'progress', ...latest })}\n`)
    },
  }
}
