import { useEffect, useState } from 'preact/hooks';
import { dispositionFileName, downloadLink, tokenRefused } from './text';

/**
 * Sign-in and data: the token lives in sessionStorage (this tab only, gone when it closes);
 * every request carries it as a bearer header. A 401 forgets it and shows the sign-in form.
 */

const KEY = 'vigil.token';

/**
 * `/#token=<token>` (on load, or typed into the address bar of an open tab): keep the token,
 * then remove it from the address bar and the history.
 */
export const takeTokenFromAddress = (): void => {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m?.[1]) return;
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  setToken(decodeURIComponent(m[1]));
};

/** This tab's token, else the one this browser keeps (signed in with "Keep me signed in"). */
export const getToken = (): string | null =>
  sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);

/**
 * Sign in: the token is this tab's (sessionStorage, gone when it closes); with `remember`, this
 * browser's instead (localStorage), for every tab until one signs out, so a link opened in a new
 * tab (from an alert message) needs no sign-in.
 */
export const setToken = (token: string, remember = false): void => {
  refusal = undefined;
  if (remember) {
    // Not also this tab's: a sign-out in another tab must end this one too.
    sessionStorage.removeItem(KEY);
    localStorage.setItem(KEY, token.trim());
  } else sessionStorage.setItem(KEY, token.trim());
  notify();
};

/** Why the last token was forgotten, when the API refused it (the sign-in form says so). */
let refusal: string | undefined;
export const refusedReason = (): string | undefined => refusal;

/**
 * Forget a token: this tab's, and the browser's when it is that one (a refused `#token=` link
 * must not sign the other tabs out of a kept token that works).
 */
const forget = (reason: string, token: string | null): void => {
  refusal = reason;
  if (sessionStorage.getItem(KEY) === token) sessionStorage.removeItem(KEY);
  if (localStorage.getItem(KEY) === token) localStorage.removeItem(KEY);
  notify();
};

/** Sign out: this tab and, when the browser keeps a token, every tab. */
export const signOut = (): void => {
  refusal = undefined;
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  notify();
};

// Another tab signed in with "Keep me signed in", or signed out: this one follows at once.
addEventListener('storage', (e) => {
  if (e.key === KEY || e.key === null) notify();
});

const listeners = new Set<() => void>();
const notify = (): void => {
  for (const l of listeners) l();
};

/** Re-render when the token changes (sign-in, sign-out, a 401). */
export const useSignedIn = (): boolean => {
  const signedIn = getToken() !== null;
  const [, bump] = useState(0);
  useEffect(() => {
    const l = () => bump((n) => n + 1);
    listeners.add(l);
    // Effects run after the paint: a token that came in between (a `#token=` link opened
    // while the page was loading) told no listener yet.
    if ((getToken() !== null) !== signedIn) l();
    return () => void listeners.delete(l);
  }, []);
  return signedIn;
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const request = async (path: string, accept?: string): Promise<Response> => {
  const token = getToken();
  const res = await fetch(path, {
    headers: { authorization: `Bearer ${token ?? ''}`, ...(accept ? { accept } : {}) },
    cache: 'no-store',
  });
  if (res.ok) return res;
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (tokenRefused(res.status, body)) {
    const message = 'The token was refused. Sign in again.';
    forget(message, token);
    throw new ApiError(res.status, message);
  }
  throw new ApiError(res.status, body?.error?.message ?? `${res.status} ${res.statusText}`);
};

export const getJson = async <T>(path: string): Promise<T> =>
  (await request(path)).json() as Promise<T>;

/**
 * Files behind the token (a raw report, a screenshot) need the bearer header, so they are
 * fetched and handed over as a download, saved as `name` or else as the server names it
 * (`Content-Disposition`). A file too large for the API's answer (a raw report on AWS) comes
 * as a short-lived link to S3, opened as is: fetch could not read S3's answer (no CORS), and S3
 * serves it as an attachment, so the page stays.
 */
export const download = async (path: string, name?: string): Promise<void> => {
  const res = await request(path, 'application/json, */*;q=0.5');
  const blob = await res.blob();
  const link = await downloadLink(blob.type, () => blob.text());
  if (link) {
    const a = document.createElement('a');
    a.href = link;
    a.click();
    return;
  }
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download =
    name ??
    dispositionFileName(res.headers.get('content-disposition')) ??
    (path.split('?')[0]?.split('/').at(-1) || 'download');
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
};

/** Live pages poll this often: a probe going down shows within its interval plus this. */
export const LIVE_MS = 3000;
const QUIET_MS = 30_000;

export interface Loaded<T> {
  data?: T;
  /** When `data` arrived (ISO): what a failed refresh leaves on the page is that old. */
  at?: string;
  error?: ApiError | Error;
}

/**
 * GET `path` now and again every `live ? LIVE_MS : QUIET_MS` while the tab is visible; `null`
 * fetches nothing. Keeps the last good answer while a refresh fails.
 */
export const usePoll = <T>(path: string | null, live = false): Loaded<T> => {
  const [state, setState] = useState<Loaded<T>>({});
  useEffect(() => {
    setState({});
    if (path === null) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      if (document.visibilityState !== 'hidden') {
        try {
          const data = await getJson<T>(path);
          if (!stopped) setState({ data, at: new Date().toISOString() });
        } catch (error) {
          if (!stopped) setState((s) => ({ ...s, error: error as Error }));
        }
      }
      if (!stopped) timer = setTimeout(load, live ? LIVE_MS : QUIET_MS);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [path, live]);
  return state;
};

/** Path segments are encoded: names from reports never change the route or the API path. */
export const seg = (s: string): string => encodeURIComponent(s);

export const qs = (params: Record<string, string | number | undefined>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};
