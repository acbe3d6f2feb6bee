/**
 * The optimistic writes of one instance to one session, one after another: each starts from the
 * state the previous one stored (write-bases.ts). Concurrent requests of the same instance on
 * the same session would otherwise all write on the same basis, and all but one would find the
 * version moved and go round again. Other instances' writes are caught by the version.
 */
const settle = (): void => {};

export class SessionTurns {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(id);
    const result = previous === undefined ? work() : previous.then(work);
    const tail = result.then(settle, settle);
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return result;
  }

  /** Sessions with a write under way (a test's view: the map empties when they are done). */
  get size(): number {
    return this.tails.size;
  }
}
