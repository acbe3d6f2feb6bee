import { SseParser, type SseFrame } from './parser.js';

/**
 * Reads a `text/event-stream` response body to its end, handing each frame to `onFrame` as it
 * arrives. Decoding is streamed, so a UTF-8 character split across network reads stays whole.
 * Returns the parser, whose `lastEventId` is where a reconnection resumes.
 */
export async function readEventStream(
  response: Response,
  onFrame: (frame: SseFrame) => void,
  parser = new SseParser(),
): Promise<SseParser> {
  if (!response.body) return parser;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const frame of parser.push(decoder.decode(value, { stream: true }))) onFrame(frame);
    }
    for (const frame of parser.push(decoder.decode())) onFrame(frame);
    for (const frame of parser.end()) onFrame(frame);
  } finally {
    reader.releaseLock();
  }
  return parser;
}
