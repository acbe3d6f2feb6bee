/**
 * The one parser of `text/event-stream` in the app (the event stream of a session and the
 * answer of a streamed send both use it), as the HTML standard defines the format: lines end in
 * CRLF, LF or CR; `:` starts a comment; `data` lines join with LF; a blank line dispatches the
 * frame; a frame without data is not dispatched; `id` sets the last event id even then. Pure: it
 * takes text and returns frames, so it is tested without a network or a browser.
 */
export interface SseFrame {
  /** The last event id as of this frame (what `Last-Event-ID` should repeat). */
  id: string;
  event: string;
  data: string;
}

export class SseParser {
  private buffer = '';
  private started = false;
  private event = '';
  private data: string[] = [];
  /** The last event id seen in the stream, dispatched or not. */
  lastEventId = '';

  /** Takes the next piece of decoded text; returns the frames it completed, in order. */
  push(text: string): SseFrame[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buffer += text;
    const frames: SseFrame[] = [];
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end < 0) break;
      // A CR at the very end may be the first half of a CRLF: wait for the next piece.
      if (this.buffer[end] === '\r' && end === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, end);
      const crlf = this.buffer[end] === '\r' && this.buffer[end + 1] === '\n';
      this.buffer = this.buffer.slice(end + (crlf ? 2 : 1));
      const frame = this.line(line);
      if (frame) frames.push(frame);
    }
    return frames;
  }

  /**
   * The end of the stream. A lone CR still buffered ends its line; a frame that was not ended
   * by a blank line is discarded, as the standard says.
   */
  end(): SseFrame[] {
    const frames = this.buffer.endsWith('\r') ? this.push('\n') : [];
    this.buffer = '';
    this.event = '';
    this.data = [];
    return frames;
  }

  private line(line: string): SseFrame | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    // `retry` and unknown fields are ignored: reconnection timing is the client's own.
    return undefined;
  }

  private dispatch(): SseFrame | undefined {
    const { event, data } = this;
    this.event = '';
    this.data = [];
    if (data.length === 0) return undefined;
    return { id: this.lastEventId, event: event || 'message', data: data.join('\n') };
  }
}

/** A frame's data as JSON, or undefined when it is not JSON. */
export function frameJson(frame: SseFrame): unknown {
  try {
    return JSON.parse(frame.data) as unknown;
  } catch {
    return undefined;
  }
}
