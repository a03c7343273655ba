import { VigilError } from '../errors';

/**
 * Alertmanager's webhook payload (version "4"), checked by hand rather than with zod: the alert
 * function reaches this module at init (through `alertmanager.ts`), and zod alone costs it
 * about a tenth of its init. The messages are those zod gave (`path: message`, the first
 * problem in the payload's field order); unknown fields are dropped.
 *
 * Everything in the payload is hostile: sizes are bounded here, and the messages escape the
 * text (core/alerts/messages.ts).
 */

/** Alerts per request at most (Alertmanager's `max_alerts` trims a group; 0 means all). */
export const MAX_ALERTS_PER_REQUEST = 1000;
/** Labels or annotations per alert, and characters per name or value, kept. */
const MAX_ENTRIES = 64;
const MAX_VALUE_CHARS = 1024;

export const clip = (s: string, max = MAX_VALUE_CHARS): string =>
  s.length <= max ? s : `${s.slice(0, max - 1)}…`;

type Status = 'firing' | 'resolved';

export interface AlertmanagerAlert {
  status: Status;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  fingerprint: string;
}

export interface AlertmanagerPayload {
  version: '4';
  receiver: string;
  status: Status;
  alerts: AlertmanagerAlert[];
  externalURL?: string;
}

type Path = readonly (string | number)[];

const refuse = (path: Path, message: string): never => {
  const at = path.join('.');
  throw new VigilError(
    'bad_request',
    `Not an Alertmanager webhook payload (version "4"): ${at ? `${at}: ` : ''}${message}`,
    { path: `body${at ? `.${at}` : ''}` },
  );
};

const typeOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
const expected = (what: string, v: unknown): string =>
  `Invalid input: expected ${what}, received ${typeOf(v)}`;

const isRecord = (v: unknown): v is Record<string, unknown> => typeOf(v) === 'object';

const object = (v: unknown, path: Path): Record<string, unknown> =>
  isRecord(v) ? v : refuse(path, expected('object', v));

const string = (v: unknown, path: Path): string =>
  typeof v === 'string' ? v : refuse(path, expected('string', v));

/** An optional string field `key` of the object at `path`: absent when `undefined`. */
const optional = (key: string, v: unknown, path: Path): { [key: string]: string } =>
  v === undefined ? {} : { [key]: string(v, [...path, key]) };

const status = (v: unknown, path: Path): Status =>
  v === 'firing' || v === 'resolved'
    ? v
    : refuse(path, 'Invalid option: expected one of "firing"|"resolved"');

/** Labels or annotations: every value a string; the first entries kept, clipped. */
const strings = (v: unknown, path: Path): Record<string, string> => {
  if (v === undefined) return {};
  if (!isRecord(v)) return refuse(path, expected('record', v));
  // `__proto__` (an own key after JSON.parse) is ignored, as zod's record did.
  const entries = Object.entries(v).filter(([k]) => k !== '__proto__');
  for (const [k, value] of entries) string(value, [...path, k]);
  return Object.fromEntries(
    entries.slice(0, MAX_ENTRIES).map(([k, value]) => [clip(k, 128), clip(value as string)]),
  );
};

const nonEmpty = (v: unknown, path: Path): string => {
  const s = string(v, path);
  return s.length > 0 ? s : refuse(path, 'Too small: expected string to have >=1 characters');
};

const fingerprint = (v: unknown, path: Path): string => {
  const s = string(v, path);
  return /^[A-Za-z0-9]{1,64}$/.test(s)
    ? s
    : refuse(path, 'an Alertmanager fingerprint (hex, at most 64 characters)');
};

/** An alert, its fields checked in the order of the webhook's documentation (as zod did). */
const alert = (v: unknown, path: Path): AlertmanagerAlert => {
  const a = object(v, path);
  const at = (key: string): Path => [...path, key];
  return {
    status: status(a.status, at('status')),
    labels: strings(a.labels, at('labels')),
    annotations: strings(a.annotations, at('annotations')),
    startsAt: nonEmpty(a.startsAt, at('startsAt')),
    endsAt: a.endsAt === undefined ? '' : string(a.endsAt, at('endsAt')),
    ...optional('generatorURL', a.generatorURL, path),
    fingerprint: fingerprint(a.fingerprint, at('fingerprint')),
  };
};

/** The body as a payload, or a `bad_request` naming what is wrong and where. */
export const parseAlertmanagerPayload = (body: Uint8Array): AlertmanagerPayload => {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new VigilError('bad_request', 'The body is not JSON: send Alertmanager webhook JSON.');
  }
  const p = object(json, []);
  if (p.version !== '4') refuse(['version'], 'Invalid input: expected "4"');
  const receiver = p.receiver === undefined ? '' : string(p.receiver, ['receiver']);
  const payloadStatus = status(p.status, ['status']);
  if (!Array.isArray(p.alerts)) return refuse(['alerts'], expected('array', p.alerts));
  if (p.alerts.length > MAX_ALERTS_PER_REQUEST) {
    refuse(['alerts'], `Too big: expected array to have <=${MAX_ALERTS_PER_REQUEST} items`);
  }
  const alerts = p.alerts.map((a: unknown, i) => alert(a, ['alerts', i]));
  return {
    version: '4',
    receiver,
    status: payloadStatus,
    alerts,
    ...optional('externalURL', p.externalURL, []),
  };
};
