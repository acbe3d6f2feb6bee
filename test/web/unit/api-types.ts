/**
 * Type-level check, run by `npm run typecheck` (tsconfig.test.json): the shapes the web app reads
 * (web/src/api/types.ts, built on the server's domain view types) have exactly the fields of the
 * route schemas the server validates and serialises with: the same names, nested the same way,
 * optional in the same places. A field renamed, added, removed or made optional on either side
 * fails the type check. Field *types* are compared only down to "a value": TypeBox's static
 * types of some schemas are looser than the domain's (metadata is `object`, literal unions built
 * from arrays are `never`), so comparing them exactly would compare nothing useful.
 */
import type { Static } from 'typebox';
import type * as Web from '../../../web/src/api/types.js';
import type * as Schemas from '../../../src/http/schemas.js';

/** Free-form JSON (metadata) and attachments are compared by their presence only. */
type Opaque = 'metadata' | 'attachments';
type Shape<T> = [T] extends [string | number | boolean | null | undefined]
  ? 'value'
  : T extends readonly (infer E)[]
    ? Array<Shape<E>>
    : T extends object
      ? { [K in keyof T]: K extends Opaque ? 'opaque' : Shape<T[K]> }
      : 'value';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only when A and B have the same shape. */
const sameShape = <A, B>(ok: Same<Shape<A>, Shape<B>>): boolean => ok;

export const checked = [
  sameShape<Web.SessionInfo, Static<typeof Schemas.SessionInfo>>(true),
  sameShape<Web.MessageView, Static<typeof Schemas.Message>>(true),
  sameShape<Web.HistoryPage, Static<typeof Schemas.HistoryPage>>(true),
  sameShape<Web.SessionStatus, Static<typeof Schemas.SessionStatus>>(true),
  sameShape<Web.SendMessageResponse, Static<typeof Schemas.SendMessageResponse>>(true),
  sameShape<Web.SessionEvent, Static<typeof Schemas.SessionEvent>>(true),
  sameShape<Web.SessionList, Static<typeof Schemas.SessionList>>(true),
  sameShape<Web.ErrorEnvelope, Static<typeof Schemas.ErrorEnvelope>>(true),
];
