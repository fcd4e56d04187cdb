/** What an async iterable yields before it throws, and what it throws (undefined when it ends). */
export async function untilError<T>(items: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const seen: T[] = []
  try {
    for await (const item of items) seen.push(item)
  } catch (error) {
    return { items: seen, error }
  }
  return { items: seen, error: undefined }
}
