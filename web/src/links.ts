/**
 * Session links: `#session=<id>&token=<ast_…>` opens one session with its token. The fragment
 * never reaches a server, but a link is as powerful as its token, and its author can read what
 * is typed into the session it opens: so the app always asks before using one (issue 12,
 * finding 8), whether or not this tab is in a session already. Pure.
 */
export type SessionLink = { kind: 'none' } | { kind: 'invalid' } | { kind: 'session'; sessionId: string; token: string };

export function parseSessionLink(hash: string): SessionLink {
  if (hash.length < 2 || !hash.startsWith('#')) return { kind: 'none' };
  const params = new URLSearchParams(hash.slice(1));
  if (!params.has('session') && !params.has('token')) return { kind: 'none' };
  const sessionId = params.get('session') ?? '';
  const token = params.get('token') ?? '';
  return sessionId !== '' && token !== '' ? { kind: 'session', sessionId, token } : { kind: 'invalid' };
}

/**
 * The question to ask before opening the link, or null when nothing would change (the link is
 * for the session this tab already has open with that token).
 */
export function linkQuestion(
  link: { sessionId: string; token: string },
  current: { sessionId: string; token: string } | null,
): string | null {
  if (current && current.sessionId.toLowerCase() === link.sessionId.toLowerCase() && current.token === link.token) return null;
  const leaving =
    current && current.sessionId.toLowerCase() !== link.sessionId.toLowerCase() ? ` This tab leaves session ${current.sessionId}.` : '';
  return (
    `Open session ${link.sessionId} from this link?${leaving}` +
    ' Whoever made the link can read everything written in that session: open it only if you trust where it came from.'
  );
}

/** The link that reopens a session in another tab. */
export function sessionLink(origin: string, pathname: string, sessionId: string, token: string): string {
  const url = new URL(pathname, origin);
  url.hash = `session=${encodeURIComponent(sessionId)}&token=${encodeURIComponent(token)}`;
  return url.href;
}
