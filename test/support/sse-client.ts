/** A minimal Server-Sent Events reader over fetch, for tests: frames in arrival order. */
export interface SseFrame {
  id?: string;
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape; the tests read it field by field and assert exact values
  data: any;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** The next frame (comments skipped), or an error after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseFrame>;
  /** Resolves when the server has ended the stream. */
  ended: Promise<void>;
  /** Comment lines seen so far (heartbeats). */
  comments: string[];
  close(): void;
}

export async function openSse(url: string, init: RequestInit = {}): Promise<SseConnection> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const frames: SseFrame[] = [];
  const waiters: Array<() => void> = [];
  const comments: string[] = [];
  let done = false;
  const wake = () => waiters.splice(0).forEach((w) => w());

  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(piece, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const frame: Partial<SseFrame> = {};
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) frame.id = line.slice(4);
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (frame.event !== undefined || data.length) {
            frames.push({ id: frame.id, event: frame.event ?? 'message', data: data.length ? JSON.parse(data.join('\n')) : undefined });
          }
          wake();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      done = true;
      wake();
    }
  })();

  return {
    status: response.status,
    headers: response.headers,
    comments,
    ended,
    async next(timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (frames.length === 0) {
        if (done) throw new Error('stream ended');
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error('no SSE frame within timeout');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return frames.shift()!;
    },
    close: () => controller.abort(),
  };
}
