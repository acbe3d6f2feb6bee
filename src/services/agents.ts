/** Agents: the built-in ELIZA, agents loaded from files at start-up, and the /api/agents CRUD. */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { builtInElizaAgent, type Agent, type ProviderConfig } from '../domain/agent.js';
import { AppError, agentNotFound } from '../domain/errors.js';
import type { JsonObject } from '../domain/json.js';
import type { TimeoutConfigPatch } from '../domain/session.js';
import { isUuid } from '../domain/validation.js';
import type { Store } from '../store/store.js';
import type { SessionService } from './sessions.js';

export interface AgentInput {
  id?: string;
  name: string;
  system?: string;
  provider: ProviderConfig;
  sessionDefaults?: TimeoutConfigPatch;
  metadata?: JsonObject;
}

export type AgentPatch = Partial<Omit<AgentInput, 'id'>>;

/** Checks an agent definition read from a file; throws an AppError naming the problem. */
export type AgentValidator = (value: unknown) => AgentInput;

export class AgentService {
  constructor(
    private readonly store: Store,
    private readonly sessions: SessionService,
    private readonly clock: Clock,
  ) {}

  /** An empty database gets the built-in ELIZA agent. */
  async seedBuiltIn(): Promise<boolean> {
    if ((await this.store.countAgents()) > 0) return false;
    const eliza = builtInElizaAgent(this.clock.now());
    try {
      await this.store.insertAgent(eliza);
      return true;
    } catch (error) {
      // Another instance starting at the same moment seeded it first.
      if (await this.store.getAgent(eliza.id)) return false;
      throw error;
    }
  }

  /**
   * Loads every `*.json` file of `dir` as an agent (created, or updated when its id exists).
   * A file without an id gets one derived from its name, so restarts do not duplicate it.
   */
  async loadFromDirectory(dir: string, validate: AgentValidator): Promise<Agent[]> {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    const loaded: Agent[] = [];
    for (const file of files) {
      let input: AgentInput;
      try {
        input = validate(JSON.parse(await readFile(join(dir, file), 'utf8')));
      } catch (error) {
        const reason = error instanceof AppError ? (error.details ?? error.message) : (error as Error).message;
        throw new Error(`Agent file ${join(dir, file)} is invalid: ${reason}`);
      }
      const id = input.id ?? uuidFromName(`agents-dir:${file}`);
      const existing = await this.store.getAgent(id);
      loaded.push(existing ? await this.update(id, input) : await this.create({ ...input, id }));
    }
    return loaded;
  }

  async create(input: AgentInput): Promise<Agent> {
    const now = this.clock.now();
    const id = input.id ?? randomUUID();
    if (await this.store.getAgent(id)) throw new AppError('CONFLICT', 'An agent with this id already exists', 'id');
    const agent: Agent = {
      id,
      name: input.name,
      system: input.system ?? '',
      provider: input.provider,
      sessionDefaults: input.sessionDefaults ?? {},
      metadata: input.metadata ?? {},
      createdAt: now,
      updatedAt: now,
    };
    await this.store.insertAgent(agent);
    return agent;
  }

  async get(id: string): Promise<Agent> {
    const agent = isUuid(id) ? await this.store.getAgent(id) : undefined;
    if (!agent) throw agentNotFound(id);
    return agent;
  }

  list(): Promise<Agent[]> {
    return this.store.listAgents();
  }

  async update(id: string, patch: AgentPatch): Promise<Agent> {
    const current = await this.get(id);
    const next: Agent = {
      ...current,
      name: patch.name ?? current.name,
      system: patch.system ?? current.system,
      provider: patch.provider ?? current.provider,
      sessionDefaults: patch.sessionDefaults ?? current.sessionDefaults,
      metadata: patch.metadata ?? current.metadata,
      updatedAt: this.clock.now(),
    };
    await this.store.updateAgent(next);
    return next;
  }

  /** Refuses while the agent has active sessions, unless forced: then those are ended first. */
  async delete(id: string, force: boolean): Promise<void> {
    const agent = await this.get(id);
    const active = await this.store.activeSessionIdsOfAgent(agent.id, this.clock.now());
    if (active.length > 0 && !force) {
      throw new AppError('CONFLICT', `Agent has ${active.length} active session(s); end them first or use ?force=true`, 'activeSessions', {
        activeSessions: active.length,
      });
    }
    for (const sessionId of active) await this.sessions.delete(sessionId).catch(ignoreGone);
    await this.store.deleteAgent(agent.id);
  }
}

const ignoreGone = (error: unknown) => {
  if (!(error instanceof AppError && error.code === 'SESSION_NOT_FOUND')) throw error;
};

/** A stable UUID (version 5 layout) derived from a name. */
function uuidFromName(name: string): string {
  const hex = createHash('sha1').update(name).digest('hex').slice(0, 32).split('');
  hex[12] = '5';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
