/** Session links: parsed from the fragment, and always asked about before use (issue 12, finding 8). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { linkQuestion, parseSessionLink, sessionLink } from '../../../web/src/links.js';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

describe('parseSessionLink', () => {
  test('a link with both parts', () => {
    assert.deepEqual(parseSessionLink(`#session=${A}&token=ast_x%2By`), { kind: 'session', sessionId: A, token: 'ast_x+y' });
  });
  test('no link: empty, other fragments', () => {
    for (const hash of ['', '#', '#top', '#view=sessions']) assert.deepEqual(parseSessionLink(hash), { kind: 'none' });
  });
  test('a link missing a part is invalid', () => {
    for (const hash of [`#session=${A}`, '#token=ast_x', `#session=&token=ast_x`, `#session=${A}&token=`]) {
      assert.deepEqual(parseSessionLink(hash), { kind: 'invalid' }, hash);
    }
  });
});

describe('linkQuestion', () => {
  const link = { sessionId: B, token: 'ast_b' };
  test('asks when the tab holds no session', () => {
    const question = linkQuestion(link, null);
    assert.equal(
      question,
      `Open session ${B} from this link? Whoever made the link can read everything written in that session: open it only if you trust where it came from.`,
    );
  });
  test('asks, naming the session left, when the tab is in another one', () => {
    assert.equal(
      linkQuestion(link, { sessionId: A, token: 'ast_a' }),
      `Open session ${B} from this link? This tab leaves session ${A}. Whoever made the link can read everything written in that session: open it only if you trust where it came from.`,
    );
  });
  test('does not ask when the link is the session and token already open', () => {
    assert.equal(linkQuestion(link, { sessionId: B.toUpperCase(), token: 'ast_b' }), null);
  });
  test('asks when the same session comes with another token', () => {
    assert.match(linkQuestion(link, { sessionId: B, token: 'ast_other' }) ?? '', /^Open session /);
  });
});

describe('sessionLink', () => {
  test('the fragment carries the id and the encoded token; nothing in the query', () => {
    const href = sessionLink('http://127.0.0.1:3000', '/', A, 'ast_a+b/c');
    assert.equal(href, `http://127.0.0.1:3000/#session=${A}&token=ast_a%2Bb%2Fc`);
    assert.deepEqual(parseSessionLink(new URL(href).hash), { kind: 'session', sessionId: A, token: 'ast_a+b/c' });
  });
});
