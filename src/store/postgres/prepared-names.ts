/**
 * Names for statements run as prepared statements on the pool's connections, one per distinct
 * SQL text: a connection parses and plans a named statement once, and afterwards only binds and
 * executes it, where an unnamed one is parsed and planned on every run. The texts are the few
 * shapes of a write (how many events, which options); beyond `capacity` of them, one runs
 * unnamed rather than growing the connections' statement caches without bound.
 */
export class PreparedNames {
  private readonly names = new Map<string, string>();

  constructor(
    private readonly prefix: string,
    private readonly capacity = 32,
  ) {}

  /** The statement's name, for pg's query config (none beyond capacity). */
  of(text: string): { name?: string } {
    let name = this.names.get(text);
    if (name === undefined) {
      if (this.names.size >= this.capacity) return {};
      name = `${this.prefix}_${this.names.size}`;
      this.names.set(text, name);
    }
    return { name };
  }
}
