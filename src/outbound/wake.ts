/**
 * The fan-out as the rest of the code sees it, with one addition: every publish (events this
 * instance has just committed) also wakes the delivery worker, so their deliveries are
 * attempted at once instead of at the next poll.
 */
import type { Fanout } from '../realtime/fanout.js';

export function wakingFanout<F extends Fanout>(fanout: F, wake: () => void): F {
  return new Proxy(fanout, {
    get(target, property) {
      if (property === 'publish') {
        return (events: Parameters<Fanout['publish']>[0]) => {
          target.publish(events);
          if (events.length > 0) wake();
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
