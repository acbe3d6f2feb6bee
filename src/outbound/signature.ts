/**
 * The signature both kinds of outgoing webhook carry (agent webhooks, SPEC §2; event webhooks,
 * SPEC §11) when a secret is configured: an HMAC-SHA256 of the exact body, hex, in one header.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-signature-256';

export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}
