/**
 * The little of the DOM that the functions given to page.evaluate, page.waitForFunction and
 * page.$$eval use: they run in the page, while the project compiles without the DOM library.
 * The suites only ask for elements that the screen under test has, so a query answers an
 * element and an element's text is a string, as the tests read them.
 */
export interface PageElement {
  id: string;
  tagName: string;
  textContent: string;
  /** The `data-*` attributes the tests read. */
  dataset: { messageId: string; sessionId: string };
  src: string;
  scrollTop: number;
  readonly scrollHeight: number;
  readonly clientHeight: number;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { top: number; bottom: number };
  querySelector(selector: string): PageElement;
  querySelectorAll(selector: string): PageElement[];
  closest(selector: string): PageElement | null;
  matches(selector: string): boolean;
  click(): void;
}

export interface PageDocument {
  readonly activeElement: PageElement;
  readonly body: PageElement;
  readonly documentElement: PageElement;
  readonly images: { readonly length: number };
  readonly scripts: PageElement[];
  readonly location: { readonly hash: string };
  querySelector(selector: string): PageElement;
  querySelectorAll(selector: string): PageElement[];
}

export interface PageStorage {
  readonly length: number;
  getItem(key: string): string | null;
}

/** The page's window, with what the tests plant on it: a hostile text's mark, what was announced. */
export interface PageWindow {
  __pwned?: unknown;
  __said: string[];
}

export type PageMutationObserver = new (callback: () => void) => {
  observe(target: PageElement, options: { childList?: boolean; characterData?: boolean; subtree?: boolean }): void;
};
