/**
 * The small JSONPath subset probe assertions accept: `$`, `.name`, `[0]` and `['odd key']`,
 * e.g. `$.checks[0]['db status']`. No wildcards, filters or recursive descent: a path names
 * exactly one value. Only own properties are followed, so `$.constructor` or `$.__proto__`
 * never reach into the prototype chain; names apply to objects and indexes to arrays only.
 */

export type PathSegment = { kind: 'name'; name: string } | { kind: 'index'; index: number };

export interface Selection {
  found: boolean;
  value?: unknown;
}

const NAME = /^\.([A-Za-z_$][\w$-]*)/;
const INDEX = /^\[(\d+)\]/;
const QUOTED = /^\['([^']*)'\]/;

/** Split a path into segments; throws on anything outside the subset. */
export const parsePath = (path: string): PathSegment[] => {
  if (!path.startsWith('$')) throw new Error(`JSON path "${path}" must start with $`);
  const segments: PathSegment[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    const name = NAME.exec(rest);
    if (name?.[1] !== undefined) {
      segments.push({ kind: 'name', name: name[1] });
      rest = rest.slice(name[0].length);
      continue;
    }
    const index = INDEX.exec(rest);
    if (index?.[1] !== undefined) {
      segments.push({ kind: 'index', index: Number(index[1]) });
      rest = rest.slice(index[0].length);
      continue;
    }
    const quoted = QUOTED.exec(rest);
    if (quoted?.[1] !== undefined) {
      segments.push({ kind: 'name', name: quoted[1] });
      rest = rest.slice(quoted[0].length);
      continue;
    }
    throw new Error(`JSON path "${path}" is not supported at "${rest}": use $.a.b[0]['c d']`);
  }
  return segments;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at `path` in `doc` (a parsed JSON document). */
export const select = (doc: unknown, path: string): Selection => {
  let current: unknown = doc;
  for (const segment of parsePath(path)) {
    if (segment.kind === 'index') {
      if (!Array.isArray(current) || segment.index >= current.length) return { found: false };
      current = current[segment.index];
    } else {
      if (!isPlainObject(current) || !Object.hasOwn(current, segment.name)) return { found: false };
      current = current[segment.name];
    }
  }
  return { found: true, value: current };
};
