/**
 * OUTBOUND_DENY_PRIVATE (SPEC §11): requests to agents' providers and to webhooks may not reach
 * loopback, private, link-local or unique-local addresses. The check is made on the address a
 * connection is actually made to, inside the HTTP client's connector: a literal address before
 * connecting, a name on each address its lookup gives (no second resolution can differ: the
 * connection uses exactly that answer), and the socket's remote address once connected. A DNS
 * name that resolves, or re-resolves, to such an address is refused like the address itself.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, fetch as undiciFetch, request as undiciRequest, type Dispatcher } from 'undici';

/** ipaddr.js range names refused; `unspecified` (0.0.0.0, ::) reaches this host too. */
const DENIED_RANGES = new Set(['loopback', 'private', 'linkLocal', 'uniqueLocal', 'unspecified']);

/** Whether `address` (an IP literal, IPv4-mapped IPv6 included) is one the setting refuses. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!ipaddr.isValid(bare)) return false;
  return DENIED_RANGES.has(ipaddr.process(bare).range());
}

class OutboundRefusedError extends Error {
  readonly code = 'OUTBOUND_REFUSED';
  constructor(readonly address: string) {
    super(`refused to connect to ${address}: a loopback, private, link-local or unique-local address (OUTBOUND_DENY_PRIVATE)`);
    this.name = 'OutboundRefusedError';
  }
}

/** dns.lookup, answering an error when any address it finds is refused. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return (callback as (e: Error) => void)(error);
    const list = addresses;
    const refused = list.find((a) => isPrivateAddress(a.address));
    if (refused) return (callback as (e: Error) => void)(new OutboundRefusedError(refused.address));
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0]!;
    callback(null, first.address, first.family);
  });
};

/** A connector that refuses what the setting refuses, at every step of making a connection. */
function guardedConnector(): buildConnector.connector {
  const connect = buildConnector({ lookup: guardedLookup });
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && isPrivateAddress(host)) return callback(new OutboundRefusedError(host), null);
    return connect(options, (error, socket) => {
      if (error) return callback(error, null);
      const remote = socket.remoteAddress;
      if (remote === undefined || isPrivateAddress(remote)) {
        socket.destroy();
        return callback(new OutboundRefusedError(remote ?? host), null);
      }
      return callback(null, socket);
    });
  };
}

type OutboundFetch = typeof globalThis.fetch;

/** One request, as undici's `request` makes it: redirects are never followed. */
export type OutboundRequest = (
  url: string,
  options: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<Dispatcher.ResponseData>;

export interface OutboundClient {
  fetch: OutboundFetch;
  /**
   * The same connections through undici's `request`: the webhook deliveries' client, a fraction
   * of fetch's work per request (no WHATWG Request, Response and streams), which counts at a
   * thousand deliveries a second.
   */
  request: OutboundRequest;
  /** Closes the pooled connections. */
  close(): Promise<void>;
}

/**
 * undici's fetch and request, through a dispatcher of their own that enforces the setting when
 * it is on, and keeps connections alive between requests to the same origin.
 */
export function outboundClient(denyPrivate: boolean): OutboundClient {
  const dispatcher: Dispatcher = new Agent(denyPrivate ? { connect: guardedConnector() } : {});
  const fetch = (input: Parameters<OutboundFetch>[0], init?: Parameters<OutboundFetch>[1]) =>
    undiciFetch(input, { ...(init as object), dispatcher });
  const request: OutboundRequest = (url, options) => undiciRequest(url, { ...options, dispatcher });
  return { fetch, request, close: () => dispatcher.close() };
}
