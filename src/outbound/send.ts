/**
 * One delivery attempt (SPEC §11): POST the event with `webhookId` and `eventId`, signed when
 * the webhook names a secret. A 2xx within the timeout is success; anything else (another
 * status, a redirect, which is never followed, a network error, the timeout) is a failure
 * described for the delivery log, never with a secret in it.
 */
import { isAgentSecretEnvName } from '../domain/agent.js';
import { eventIdOf, type Delivery } from '../domain/webhook.js';
import { describeCause } from '../agents/upstream.js';
import type { OutboundFetch } from './guard.js';
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

/** How much of a receiver's answer is read (and then dropped) before the connection is let go. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Where and how to send: the webhook's id, target and secret variable. */
export interface Target {
  webhookId: string;
  url: string;
  secretEnv: string | null;
}

export async function attemptDelivery(d: Delivery, webhook: Target, fetch: OutboundFetch, timeoutMs: number): Promise<AttemptResult> {
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
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(webhook.url, { method: 'POST', headers, body, redirect: 'manual', signal });
    await drain(response);
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, status: response.status, error: `HTTP ${response.status}` };
  } catch (error) {
    if (signal.aborted) return { ok: false, status: null, error: `no answer within ${timeoutMs / 1000} s` };
    return { ok: false, status: null, error: describeCause(error, secret ? [secret] : []) };
  }
}

/** Reads the answer up to a limit, so the connection can be reused, and drops it. */
async function drain(response: Response): Promise<void> {
  if (!response.body) return;
  let size = 0;
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.byteLength;
      if (size > MAX_ANSWER_BYTES) return void (await reader.cancel());
    }
  } finally {
    reader.releaseLock();
  }
}
