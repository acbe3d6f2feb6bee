/** /api/keys: create (the key is in this answer and nowhere else, ever), list and revoke. */
import { Type } from 'typebox';
import { forbidden } from '../../auth/authenticator.js';
import { validationError } from '../../domain/errors.js';
import { NAME_MAX_LENGTH, toKeyView } from '../../auth/keys.js';
import { grants, SCOPES } from '../../auth/scopes.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import { Literals } from '../schemas.js';
import type { App } from '../types.js';

const tags = ['keys'];
const ScopeSchema = Literals(SCOPES);
const NullableDateTime = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

const CreateKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: NAME_MAX_LENGTH, description: 'What the key is for' }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, uniqueItems: true }),
    expiresAt: Type.Optional(NullableDateTime('When the key stops working; absent or null: never')),
  },
  { additionalProperties: false },
);

const KeyFields = {
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(ScopeSchema),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: NullableDateTime('Null: never expires'),
};

const CreatedKey = Type.Object({ ...KeyFields, key: Type.String({ description: 'The secret. Shown only in this answer.' }) });
const KeyView = Type.Object({
  ...KeyFields,
  prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
  lastUsedAt: NullableDateTime('Null: never used'),
});
const KeyIdParams = Type.Object({ keyId: Type.String() });

const rule = { auth: { scope: 'keys:manage' as const } };

export async function keyRoutes(app: App, deps: Deps): Promise<void> {
  const { apiKeys } = deps;

  app.post(
    '/',
    {
      config: rule,
      schema: {
        tags,
        summary: 'Create an API key',
        description: 'A key can hand out only scopes it holds itself, and no key that outlives it.',
        operationId: 'createApiKey',
        body: CreateKeyBody,
        response: responses({ 201: CreatedKey }, [400, 413, 415]),
      },
    },
    async (request, reply) => {
      const { name, scopes } = request.body;
      // The schema's date-time format already refuses a text that names no instant (a leap second).
      const expiresAt = request.body.expiresAt == null ? null : Date.parse(request.body.expiresAt);
      if (expiresAt !== null && !Number.isFinite(expiresAt))
        throw validationError('expiresAt: must be a date-time that names a real instant');
      const principal = request.principal;
      if (principal?.kind === 'key') {
        const beyond = scopes.filter((s) => !grants(principal.scopes, s));
        if (beyond.length > 0) throw forbidden(`A key cannot grant scopes it does not hold: ${beyond.join(', ')}`);
        if (principal.expiresAt !== null && (expiresAt === null || expiresAt > principal.expiresAt)) {
          throw forbidden(
            `A key cannot create a key that outlives it: expiresAt must be at most ${new Date(principal.expiresAt).toISOString()}`,
          );
        }
      }
      const created = await apiKeys.create({ name, scopes, expiresAt });
      const { prefix: _prefix, lastUsedAt: _lastUsedAt, ...view } = toKeyView(created.record);
      return reply.status(201).send({ ...view, key: created.key });
    },
  );

  app.get(
    '/',
    {
      config: rule,
      schema: {
        tags,
        summary: 'List API keys (never their secrets)',
        operationId: 'listApiKeys',
        response: responses({ 200: Type.Object({ keys: Type.Array(KeyView) }) }, []),
      },
    },
    async () => ({ keys: (await apiKeys.list()).map(toKeyView) }),
  );

  app.delete(
    '/:keyId',
    {
      config: rule,
      schema: {
        tags,
        summary: 'Revoke an API key',
        operationId: 'revokeApiKey',
        params: KeyIdParams,
        response: responses({ 200: Type.Object({ success: Type.Literal(true) }) }, [404]),
      },
    },
    async (request) => {
      await apiKeys.revoke(request.params.keyId);
      return { success: true as const };
    },
  );
}
