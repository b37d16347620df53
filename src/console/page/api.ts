// The management API as the page calls it: the operator's key in the Authorization header of
// every call, kept in this browser tab's session storage (never in a URL, gone with the tab).

const KEY = 'courier.apiKey';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

/** Called when the key is refused (revoked, or expired): the page asks for one again. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export function unauthorized(): void {
  onUnauthorized();
}

export function authorization(): Record<string, string> {
  return { authorization: `Bearer ${storedKey() ?? ''}` };
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { ...authorization(), accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : null;
  if (!response.ok) {
    const { message, code } = (body ?? {}) as { message?: string; code?: string };
    if (response.status === 401) onUnauthorized();
    throw new ApiError(response.status, code ?? 'HTTP_' + response.status, message ?? response.statusText);
  }
  return body as T;
}

/** Every item of a paged list (`items` or another field, `next` cursor), up to `max`. */
export async function all<T>(path: string, field = 'items', max = 10_000): Promise<T[]> {
  const found: T[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page: Record<string, unknown> = await api(`${path}${separator}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    found.push(...(page[field] as T[]));
    cursor = page.next as string | null;
  } while (cursor !== null && found.length < max);
  return found;
}

export function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}
