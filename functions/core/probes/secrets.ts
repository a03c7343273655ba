import { VigilError } from '../errors.js';

/**
 * `{{secret:NAME}}` placeholders in probe header values. The resolved values go to the
 * target only: they are never logged, never put in an event, and error messages name the
 * secret, never its value.
 */

/** Port: reads one secret by name (env vars locally, Secrets Manager on AWS). */
export interface SecretResolver {
  /** The secret's value; throws a `SecretError` naming the secret when it cannot be read. */
  resolve(name: string): Promise<string>;
}

/** A secret that is not defined or cannot be read. The message never contains a value. */
export class SecretError extends VigilError {
  readonly secret: string;
  /** Whether reading it again may succeed (false: nothing can change while the process runs). */
  readonly retryable: boolean;

  constructor(secret: string, message: string, retryable = true) {
    super('unavailable', message);
    this.name = 'SecretError';
    this.secret = secret;
    this.retryable = retryable;
  }
}

/** Secrets Manager names allow letters, digits and `/_+=.@-`; so do placeholders. */
export const SECRET_PLACEHOLDER = /\{\{\s*secret:([A-Za-z0-9/_+=.@-]+)\s*\}\}/g;

/**
 * What looks like a placeholder but is not one, or undefined: `{{ secret: X }}`, `{{secret:X}`,
 * `{{secrets:X}}`, `${secret:X}`, `secret:X}}`, `{{var.X}}` would otherwise be sent literally,
 * without a word. The valid `{{secret:NAME}}` (and, where steps resolve them, `{{vars.NAME}}`)
 * are taken out first; what is left may hold no `{{` and nothing like a `{secret:` opening or a
 * `secret:NAME}` ending (a lone `}}` may close a JSON body). Says which fragment (at most 40
 * characters) and the spelling to use.
 */
export const placeholderTypo = (value: string, vars: RegExp | undefined): string | undefined => {
  let rest = value.replace(SECRET_PLACEHOLDER, '');
  if (vars) rest = rest.replace(vars, '');
  const at = rest.search(/\{\{|[{$]\s*\{?\s*secrets?\s*:|\bsecrets?:[A-Za-z0-9/_+=.@-]+\}/i);
  if (at === -1) return undefined;
  const fragment = rest.slice(at, at + 40).replace(/(\}\}?).*$/s, '$1');
  return (
    `${JSON.stringify(fragment)} is not a placeholder and would be sent as written: write ` +
    `{{secret:NAME}}${vars ? ' or {{vars.NAME}}' : ''} (NAME: letters, digits and /_+=.@-)`
  );
};

/** The secret names a template refers to, in order, without duplicates. */
export const secretNames = (value: string): string[] => [
  ...new Set(Array.from(value.matchAll(SECRET_PLACEHOLDER), (m) => m[1] ?? '')),
];

/** Replace every `{{secret:NAME}}` in `value` with the secret's value. */
export const resolveTemplate = async (value: string, resolver: SecretResolver): Promise<string> => {
  const names = secretNames(value);
  if (names.length === 0) return value;
  const values = new Map<string, string>();
  for (const name of names) values.set(name, await resolver.resolve(name));
  return value.replace(SECRET_PLACEHOLDER, (_match, name: string) => values.get(name) ?? '');
};

export interface ResolvedHeaders {
  headers: Record<string, string>;
  /** The secret values that went into the headers, to scrub from anything reported. */
  secrets: string[];
}

/** Resolve every header value of a probe; each secret is read once. */
export const resolveHeaders = async (
  headers: Readonly<Record<string, string>>,
  resolver: SecretResolver,
): Promise<ResolvedHeaders> => {
  const cache = new Map<string, string>();
  const cached: SecretResolver = {
    resolve: async (name) => {
      const hit = cache.get(name);
      if (hit !== undefined) return hit;
      const value = await resolver.resolve(name);
      cache.set(name, value);
      return value;
    },
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers))
    out[key] = await resolveTemplate(value, cached);
  return { headers: out, secrets: [...cache.values()] };
};

/** Secrets shorter than this are not scrubbed: replacing "1" everywhere would garble text. */
export const MIN_REDACTED_LENGTH = 4;

/** A character as a JSON `\uXXXX` escape, in lower- or upper-case hex. */
const uEscape = (c: string, upper: boolean): string => {
  const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
  return `\\u${upper ? hex.toUpperCase() : hex}`;
};

/**
 * The spellings of a secret in what a server sends back: as sent, JSON-escaped (PHP also
 * escapes `/` as `\/`; others every character but letters and digits as `\uXXXX`), and
 * URL-encoded. A JSON body is also read decoded (`redactedJson`): no list covers every escape.
 */
const echoedForms = (secret: string): string[] => {
  const json = JSON.stringify(secret).slice(1, -1);
  const escaped = (upper: boolean) => secret.replace(/[^A-Za-z0-9]/g, (c) => uEscape(c, upper));
  return [
    ...new Set([
      secret,
      json,
      json.replaceAll('/', '\\/'),
      escaped(false),
      escaped(true),
      encodeURIComponent(secret),
    ]),
  ];
};

/**
 * A JSON text whose decoded strings (keys too) hold a secret, written again with each secret
 * replaced; `undefined` when it is no JSON or holds none. The target chose the escapes
 * (`\u0064` for `d`): only the decoded text tells.
 */
const redactedJson = (text: string, secrets: readonly string[]): string | undefined => {
  if (!/^\s*[[{"]/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  let found = false;
  const scrub = (s: string): string => {
    let out = s;
    for (const secret of secrets) out = out.split(secret).join('***');
    if (out !== s) found = true;
    return out;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [scrub(k), walk(x)]));
    return v;
  };
  const out = walk(value);
  return found ? JSON.stringify(out) : undefined;
};

/**
 * Replace each secret value in `text` with `***`, however the text spells it (`echoedForms`;
 * a JSON text is also read decoded and written again when it holds one).
 */
export const redactSecrets = (text: string, secrets: readonly string[]): string => {
  // Longest first, so a secret that contains another is replaced whole.
  const kept = secrets
    .filter((s) => s.length >= MIN_REDACTED_LENGTH)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of kept)
    for (const form of echoedForms(secret)) out = out.split(form).join('***');
  return (kept.length > 0 && redactedJson(out, kept)) || out;
};
