/**
 * Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure-style proxies, vLLM, Ollama,
 * llama.cpp, LiteLLM, …) through the official client, streaming. The request is the agent's
 * system prompt, the session's recent history and the new message; the key comes from the
 * environment variable the agent names, at call time, and is never stored or logged.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ProviderConfig } from '../domain/agent.js';
import { AgentError, type AgentProvider, type ReplyExtras, type ReplyRequest } from './provider.js';
import { abortReason, agentFailure, describeCause, isUnreachable, secretFromEnv } from './upstream.js';

export type OpenAIConfig = Extract<ProviderConfig, { type: 'openai' }>;

export interface OpenAIProviderOptions {
  /** Upper bound for the client's own request timeout; the reply's deadline is enforced by Replies. */
  timeoutMs: number;
  /** The HTTP client (OUTBOUND_DENY_PRIVATE); the SDK's default fetch unless given. */
  fetch?: typeof globalThis.fetch;
}

/** The chat messages sent for a reply: system prompt, history oldest first, the new message last. */
function chatMessages(request: Pick<ReplyRequest, 'agent' | 'history' | 'message'>): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  if (request.agent.system.trim() !== '') messages.push({ role: 'system', content: request.agent.system });
  for (const earlier of request.history) {
    messages.push(earlier.isAgent ? { role: 'assistant', content: earlier.content } : { role: 'user', content: earlier.content });
  }
  messages.push({ role: 'user', content: request.message.content });
  return messages;
}

/** Reasoning text some compatible servers stream beside the answer (DeepSeek, vLLM, Ollama). */
function reasoningOf(delta: ChatCompletionChunk.Choice.Delta): string | undefined {
  const extra = delta as { reasoning_content?: unknown; reasoning?: unknown };
  const value = extra.reasoning_content ?? extra.reasoning;
  return typeof value === 'string' ? value : undefined;
}

export function openaiProvider(config: OpenAIConfig, options: OpenAIProviderOptions): AgentProvider {
  return {
    async *reply(request: ReplyRequest): AsyncGenerator<string, ReplyExtras> {
      const apiKey = config.apiKeyEnv === undefined ? undefined : secretFromEnv(config.apiKeyEnv, 'API key');
      const client = new OpenAI({
        baseURL: config.baseUrl,
        // Without apiKeyEnv no Authorization header is sent at all (local servers need none); the
        // placeholder only keeps the client from falling back to OPENAI_API_KEY.
        apiKey: apiKey ?? 'unused',
        defaultHeaders: apiKey === undefined ? { Authorization: null } : undefined,
        // Ambient OPENAI_* variables belong to whoever set them, not to this agent's endpoint.
        organization: null,
        project: null,
        webhookSecret: null,
        // Replies owns retries (there are none: a failed reply is reported) and the deadline.
        maxRetries: 0,
        timeout: options.timeoutMs,
        // The client would otherwise print unparsable stream data to the console.
        logLevel: 'off',
        // A redirect would re-send the system prompt and the conversation somewhere the operator
        // did not name (another origin included): it is answered as the failure it is, as the
        // webhook provider does ("The model endpoint answered HTTP 307").
        fetchOptions: { redirect: 'manual' },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });

      let thought = '';
      let finished = false;
      try {
        const stream = await client.chat.completions.create(
          {
            model: config.model,
            messages: chatMessages(request),
            stream: true,
            ...(config.temperature === undefined ? {} : { temperature: config.temperature }),
            // max_tokens rather than max_completion_tokens: the one every compatible server knows.
            ...(config.maxTokens === undefined ? {} : { max_tokens: config.maxTokens }),
          },
          { signal: request.signal },
        );
        for await (const chunk of stream) {
          const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0];
          if (!choice) continue;
          const delta = choice.delta ?? {};
          const reasoning = reasoningOf(delta);
          if (reasoning) thought += reasoning;
          if (typeof delta.content === 'string' && delta.content !== '') yield delta.content;
          else if (typeof delta.refusal === 'string' && delta.refusal !== '') yield delta.refusal;
          if (choice.finish_reason) finished = true;
        }
      } catch (error) {
        throw translate(error, request.signal, apiKey);
      }
      // The client ends its stream quietly when aborted; an abort is still not a reply.
      if (request.signal.aborted) throw abortReason(request.signal);
      // A connection closed before any choice finished is a truncated reply, not a short one.
      if (!finished) throw agentFailure('AGENT_FAILED', 'The model endpoint ended its stream before the reply was complete');
      return thought === '' ? {} : { thought };
    },
  };
}

function translate(error: unknown, signal: AbortSignal, apiKey: string | undefined) {
  if (signal.aborted) return abortReason(signal);
  if (error instanceof AgentError) return error;
  const cause = new Error(describeCause(error, apiKey ? [apiKey] : []));
  if (error instanceof APIUserAbortError) return abortReason(signal);
  if (error instanceof APIConnectionTimeoutError) {
    return agentFailure('AGENT_TIMEOUT', 'The model endpoint did not answer in time', cause);
  }
  if (error instanceof APIConnectionError) {
    return agentFailure('AGENT_UNAVAILABLE', 'The model endpoint could not be reached', cause);
  }
  if (error instanceof APIError) {
    return error.status === undefined
      ? agentFailure('AGENT_FAILED', 'The model endpoint reported an error in its stream', cause)
      : agentFailure('AGENT_FAILED', `The model endpoint answered HTTP ${error.status}`, cause);
  }
  if (error instanceof SyntaxError) {
    return agentFailure('AGENT_FAILED', 'The model endpoint sent a malformed stream', cause);
  }
  if (isUnreachable(error)) {
    return agentFailure('AGENT_FAILED', 'The model endpoint dropped the connection before the reply was complete', cause);
  }
  return agentFailure('AGENT_FAILED', 'The model endpoint failed', cause);
}
