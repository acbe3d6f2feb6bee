import type { JsonObject } from './json.js';
import { isoInstant } from './instant.js';

export const ATTACHMENT_TYPES = ['image', 'file', 'audio', 'video', 'document'] as const;

export interface Attachment {
  type: (typeof ATTACHMENT_TYPES)[number];
  url: string;
  name?: string;
  size?: number;
  mimeType?: string;
}

export interface Message {
  id: string;
  sessionId: string;
  content: string;
  authorId: string;
  isAgent: boolean;
  createdAt: number;
  metadata: JsonObject;
  attachments: Attachment[];
  /** For an agent reply: the user message it answers. */
  inReplyTo: string | null;
}

/** The Message object of SPEC §2. */
export interface MessageView {
  id: string;
  content: string;
  authorId: string;
  isAgent: boolean;
  createdAt: string;
  metadata: JsonObject;
  attachments: Attachment[];
}

export function toMessageView(message: Message): MessageView {
  return {
    id: message.id,
    content: message.content,
    authorId: message.authorId,
    isAgent: message.isAgent,
    createdAt: isoInstant(message.createdAt),
    metadata: message.metadata,
    attachments: message.attachments,
  };
}
