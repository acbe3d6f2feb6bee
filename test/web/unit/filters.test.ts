/** The list's filters as query parameters, and when the metadata filter is offered. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FilterError, listQuery, NO_FILTERS, supportsMetadataFilter } from '../../../web/src/sessions/filters.js';
import { FIRST_PAGE } from '../../../web/src/sessions/paging.js';

const USER = '11111111-1111-4111-8111-11111111AAAA';
const AGENT = '00000000-0000-4000-8000-000000000001';

describe('listQuery', () => {
  test('only the filters that are set, the status always, the page and the limit', () => {
    assert.equal(listQuery(NO_FILTERS, FIRST_PAGE, 20, false).toString(), 'status=active&limit=20&offset=0');
    const query = listQuery(
      { ...NO_FILTERS, agentId: AGENT, userId: ` ${USER} `, status: 'all' },
      { kind: 'cursor', cursor: 'c/2' },
      20,
      false,
    );
    assert.deepEqual(
      [...query],
      [
        ['agentId', AGENT],
        ['userId', USER.toLowerCase()],
        ['status', 'all'],
        ['limit', '20'],
        ['cursor', 'c/2'],
      ],
    );
  });

  test('a user id that is not a UUID is refused here, naming the field', () => {
    assert.throws(
      () => listQuery({ ...NO_FILTERS, userId: 'bob' }, FIRST_PAGE, 20, false),
      (error: unknown) => error instanceof FilterError && error.field === 'userId',
    );
  });

  test('metadata.<key>=<value> only when the server supports it, and only valid keys', () => {
    const filters = { ...NO_FILTERS, metadataKey: 'tenant', metadataValue: 'a b&c' };
    assert.equal(listQuery(filters, FIRST_PAGE, 20, false).has('metadata.tenant'), false);
    const query = listQuery(filters, FIRST_PAGE, 20, true);
    assert.equal(query.get('metadata.tenant'), 'a b&c');
    assert.match(query.toString(), /metadata\.tenant=a\+b%26c/);
    assert.throws(() => listQuery({ ...filters, metadataKey: 'a.b' }, FIRST_PAGE, 20, true), FilterError);
    assert.throws(() => listQuery({ ...filters, metadataKey: 'x'.repeat(65) }, FIRST_PAGE, 20, true), FilterError);
  });
});

describe('supportsMetadataFilter', () => {
  const doc = (parameters: unknown) => ({ paths: { '/api/messaging/sessions': { get: { parameters } } } });

  test('no: the list documents agentId, userId, status, limit, offset only', () => {
    const today = doc(['agentId', 'userId', 'status', 'limit', 'offset'].map((name) => ({ in: 'query', name })));
    assert.equal(supportsMetadataFilter(today), false);
  });

  test('yes: a metadata query parameter is listed', () => {
    assert.equal(
      supportsMetadataFilter(
        doc([
          { in: 'query', name: 'status' },
          { in: 'query', name: 'metadata.{key}' },
        ]),
      ),
      true,
    );
    assert.equal(supportsMetadataFilter(doc([{ in: 'query', name: 'metadata', style: 'deepObject' }])), true);
  });

  test('anything malformed is a no', () => {
    for (const value of [null, undefined, 'x', {}, { paths: {} }, doc('x'), doc([{ in: 'path', name: 'metadata' }]), doc([null])]) {
      assert.equal(supportsMetadataFilter(value), false);
    }
  });
});
