/**
 * Paging of the session list. The server pages by `offset` today; SPEC §12 adds `nextCursor`
 * (null on the last page). When an answer carries `nextCursor`, the next page is asked for with
 * `cursor`; otherwise with `offset`. "Previous" returns to the page requests already made.
 */
export type PageRequest = { kind: 'offset'; offset: number } | { kind: 'cursor'; cursor: string };

export const FIRST_PAGE: PageRequest = { kind: 'offset', offset: 0 };

export interface PagedAnswer {
  total: number;
  limit: number;
  offset: number;
  nextCursor?: string | null;
  sessions: readonly unknown[];
}

/** The request for the page after `answer`, or null on the last page. */
export function nextPage(answer: PagedAnswer, current: PageRequest): PageRequest | null {
  if (answer.nextCursor !== undefined) {
    return typeof answer.nextCursor === 'string' && answer.nextCursor !== '' ? { kind: 'cursor', cursor: answer.nextCursor } : null;
  }
  const start = current.kind === 'offset' ? current.offset : answer.offset;
  const next = start + answer.sessions.length;
  return answer.sessions.length > 0 && next < answer.total ? { kind: 'offset', offset: next } : null;
}

/** The query parameters that ask for a page. */
export function pageParams(page: PageRequest): Record<string, string> {
  return page.kind === 'cursor' ? { cursor: page.cursor } : { offset: String(page.offset) };
}

/** Where the list is: the requests that led to the current page, and how many rows came before. */
export class Pager {
  private trail: Array<{ page: PageRequest; start: number }> = [{ page: FIRST_PAGE, start: 0 }];
  private next: PageRequest | null = null;
  private shown = 0;

  get current(): PageRequest {
    return this.trail[this.trail.length - 1]!.page;
  }

  get hasPrevious(): boolean {
    return this.trail.length > 1;
  }

  get hasNext(): boolean {
    return this.next !== null;
  }

  /** Takes the answer to the current request. */
  answered(answer: PagedAnswer): void {
    this.next = nextPage(answer, this.current);
    this.shown = answer.sessions.length;
  }

  /** Moves to the next page; returns its request, or null when there is none. */
  forward(): PageRequest | null {
    if (!this.next) return null;
    const start = this.trail[this.trail.length - 1]!.start + this.shown;
    this.trail.push({ page: this.next, start });
    this.next = null;
    return this.current;
  }

  /** Back to the previous page; returns its request, or null on the first page. */
  back(): PageRequest | null {
    if (this.trail.length < 2) return null;
    this.trail.pop();
    this.next = null;
    return this.current;
  }

  /** New filters: the first page again. */
  reset(): void {
    this.trail = [{ page: FIRST_PAGE, start: 0 }];
    this.next = null;
    this.shown = 0;
  }

  /** "1–50 of 120" (rows are counted from 1), "0 of 0" for an empty list. */
  range(total: number): string {
    if (this.shown === 0) return `0 of ${total}`;
    const start = this.trail[this.trail.length - 1]!.start;
    return `${start + 1}–${start + this.shown} of ${total}`;
  }
}
