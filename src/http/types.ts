/** The Fastify instance as every plugin and route sees it: route types inferred from the TypeBox schemas. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/**
 * Marks a plugin as one that configures the instance it is registered on (its hooks, parsers,
 * handlers and decorators apply to every route), instead of a child context of its own: what
 * fastify-plugin does, through Fastify's documented `skip-override` symbol.
 */
export function unencapsulated<Plugin extends (app: App, options: never) => Promise<void>>(name: string, plugin: Plugin): Plugin {
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: name });
}
