/**
 * The chat view's Export (SPEC §12): the transcript is fetched with the Authorization header
 * (never a credential in a URL), then handed to the browser as a download under the name the
 * server gives in Content-Disposition.
 */
import { request, sessionPath, type Credential } from '../api/client.js';

export type ExportFormat = 'json' | 'ndjson' | 'markdown';

const EXTENSIONS: Record<ExportFormat, string> = { json: 'json', ndjson: 'ndjson', markdown: 'md' };

/** The file name of a Content-Disposition header, or the one the server would give. */
function exportFilename(disposition: string | null, sessionId: string, format: ExportFormat): string {
  const match = /filename="([^"\\/]+)"/.exec(disposition ?? '');
  return match?.[1] ?? `session-${sessionId}.${EXTENSIONS[format]}`;
}

export async function downloadTranscript(sessionId: string, format: ExportFormat, credential: Credential): Promise<string> {
  const response = await request('GET', sessionPath(sessionId, `/export?format=${format}`), {
    credential,
    headers: { accept: '*/*' },
  });
  const filename = exportFilename(response.headers.get('content-disposition'), sessionId, format);
  const url = URL.createObjectURL(await response.blob());
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = filename;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
  } finally {
    // After the click has been handled: the download keeps its own reference.
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return filename;
}
