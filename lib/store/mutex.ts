/** One task at a time: `run` waits for the tasks before it (whether they succeeded or failed), then runs its own. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve()

  async run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task)
    this.tail = result.catch(() => undefined)
    return result
  }
}
