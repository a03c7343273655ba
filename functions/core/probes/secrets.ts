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

const regexLiteral = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
/** `[aA]` for each hex letter: an escape matches in either case. */
const anyCase = (digits: string): string =>
  digits.replace(/[a-f]/g, (c) => `[${c}${c.toUpperCase()}]`);

/** Short escapes a server may write for a character: JSON's, HTML's, a form's `+`. */
const SHORT_ESCAPES: Readonly<Record<string, readonly string[]>> = {
  '"': ['\\"', '&quot;'],
  '\\': ['\\\\'],
  '/': ['\\/'],
  '&': ['&amp;'],
  '<': ['&lt;'],
  '>': ['&gt;'],
  "'": ['&apos;'],
  '\n': ['\\n'],
  '\r': ['\\r'],
  '\t': ['\\t'],
  ' ': ['+'],
};

const UTF8 = new TextEncoder();

/**
 * The ways one character of a secret comes back in what a server writes: as sent, or escaped
 * by JSON (`\u002B`, `\/`), a URL (`%2b`, UTF-8 bytes) or HTML (`&#43;`, `&#x2B;`, `&amp;`).
 */
const characterPattern = (ch: string): string => {
  const code = ch.codePointAt(0) ?? 0;
  const units = Array.from({ length: ch.length }, (_, i) => ch.charCodeAt(i));
  const bytes = [...UTF8.encode(ch)];
  // Escapes first: a text `abcd\\` is the secret `abcd\` escaped whole, not it plus a `\`.
  const forms = [
    ...(SHORT_ESCAPES[ch] ?? []).map(regexLiteral),
    units.map((u) => `\\\\u${anyCase(hex(u, 4))}`).join(''),
    bytes.map((b) => `%${anyCase(hex(b, 2))}`).join(''),
    `&#0*${code};`,
    `&#[xX]0*${anyCase(hex(code, 1))};`,
    regexLiteral(ch),
  ];
  return `(?:${forms.join('|')})`;
};

/** Each secret's pattern, made once (a probe's secrets are scrubbed at every check). */
const patterns = new Map<string, RegExp>();
const patternOf = (secret: string): RegExp => {
  let re = patterns.get(secret);
  if (!re) {
    if (patterns.size >= 256) patterns.clear();
    re = new RegExp(Array.from(secret, characterPattern).join(''), 'g');
    patterns.set(secret, re);
  }
  return re;
};

/**
 * Replace each secret value in `text` with `***`, however the text spells it: as sent, or with
 * any of its characters escaped the way JSON, URLs or HTML escape them (a target that echoes a
 * header in JSON writes `/` as `\/`, `+` as `\u002B`). Base64 and other transformations are not
 * recognized. The rest of the text is left exactly as it was.
 */
export const redactSecrets = (text: string, secrets: readonly string[]): string => {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  for (const secret of ordered)
    if (secret.length >= MIN_REDACTED_LENGTH) out = out.replace(patternOf(secret), '***');
  return out;
};
