/**
 * One delivery attempt (SPEC §11): POST the event with `webhookId` and `eventId`, signed when
 * the webhook names a secret. A 2xx within the timeout is success; anything else (another
 * status, a redirect, which is never followed, a network error, the timeout) is a failure
 * described for the delivery log, never with a secret in it.
 */
import { isAgentSecretEnvName } from '../domain/agent.js';
import { eventIdOf, type Delivery } from '../domain/webhook.js';
import { describeCause } from '../agents/upstream.js';
import type { OutboundRequest } from './guard.js';
import { SIGNATURE_HEADER, signBody } from './signature.js';
import { isoInstant } from '../domain/instant.js';

/** The body of a delivery: the event object as every channel shows it, plus the two ids. */
function deliveryBody(d: Delivery): string {
  return JSON.stringify({
    type: d.type,
    sessionId: d.sessionId,
    seq: d.seq,
    at: isoInstant(d.at),
    data: d.data,
    webhookId: d.webhookId,
    eventId: eventIdOf(d),
  });
}

export type AttemptResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

/** How much of a receiver's answer is read (and then dropped) before the connection is closed instead. */
const MAX_ANSWER_BYTES = 64 * 1024;

const timedOut = (timeoutMs: number): AttemptResult => ({ ok: false, status: null, error: `no answer within ${timeoutMs / 1000} s` });

/** Where and how to send: the webhook's id, target and secret variable. */
export interface Target {
  webhookId: string;
  url: string;
  secretEnv: string | null;
}

export async function attemptDelivery(d: Delivery, webhook: Target, request: OutboundRequest, timeoutMs: number): Promise<AttemptResult> {
  const body = deliveryBody(d);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'agent-sessions',
    'x-webhook-id': webhook.webhookId,
    'x-event-id': eventIdOf(d),
    'x-event-type': d.type,
  };
  let secret: string | undefined;
  if (webhook.secretEnv !== null) {
    secret = isAgentSecretEnvName(webhook.secretEnv) ? process.env[webhook.secretEnv] : undefined;
    // Never sent unsigned: the receiver may rely on the signature. Retried, so that setting the
    // variable (and restarting) lets the queue go on.
    if (!secret) return { ok: false, status: null, error: "the webhook's signing secret is not configured" };
    headers[SIGNATURE_HEADER] = signBody(body, secret);
  }
  // The whole exchange, answer read included, within the timeout. A timer of its own rather than
  // AbortSignal.timeout, whose timer would outlive every quick answer by the whole timeout.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const signal = controller.signal;
  try {
    const response = await request(webhook.url, { method: 'POST', headers, body, signal });
    // Read up to a limit, so the connection can be reused, and dropped. The request's signal
    // cuts a stalled answer short; dump() then ends quietly, so it is asked afterwards.
    await response.body.dump({ limit: MAX_ANSWER_BYTES });
    if (signal.aborted) return timedOut(timeoutMs);
    const status = response.statusCode;
    if (status >= 200 && status < 300) return { ok: true, status };
    return { ok: false, status, error: `HTTP ${status}` };
  } catch (error) {
    if (signal.aborted) return timedOut(timeoutMs);
    return { ok: false, status: null, error: describeCause(error, secret ? [secret] : []) };
  } finally {
    clearTimeout(timer);
  }
}
