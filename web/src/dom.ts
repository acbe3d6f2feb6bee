/** Small DOM helpers. Text is only ever set with textContent: nothing from a server is markup. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node as T;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { className?: string; text?: string; attributes?: Record<string, string> } = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attributes ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Says `text` once to screen readers through the page's one polite live region. */
export function announce(text: string): void {
  const region = byId('announcer');
  // Emptied first so that the same sentence twice in a row is read twice.
  region.textContent = '';
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/**
 * Runs `action` while `button` says it is busy. The button is marked `aria-disabled`, not
 * `disabled`: a disabled button drops the keyboard focus to the page, an aria-disabled one keeps
 * it (and a second press is ignored).
 */
export async function whileBusy(button: HTMLButtonElement, action: () => Promise<void>): Promise<void> {
  if (isBusy(button)) return;
  button.setAttribute('aria-disabled', 'true');
  try {
    await action();
  } finally {
    button.removeAttribute('aria-disabled');
  }
}

export const isBusy = (button: HTMLElement): boolean => button.getAttribute('aria-disabled') === 'true';

/** Marks a button usable or not with aria-disabled, so that it keeps the focus either way. */
export function setAvailable(button: HTMLButtonElement, available: boolean): void {
  if (available) button.removeAttribute('aria-disabled');
  else button.setAttribute('aria-disabled', 'true');
}

/**
 * Disables controls for good (a session that is over). Focus inside them moves to `refuge`
 * first (an element with tabindex="-1" that says what happened), so it is never lost.
 */
export function disableControls(
  controls: Iterable<HTMLButtonElement | HTMLTextAreaElement | HTMLInputElement | HTMLSelectElement>,
  refuge: HTMLElement,
): void {
  const list = [...controls];
  if (list.some((control) => control === document.activeElement)) refuge.focus();
  for (const control of list) control.disabled = true;
}
