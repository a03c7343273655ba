/**
 * Where a JSON text first stops being valid JSON. V8's `JSON.parse` errors no longer carry a
 * position, so on the error path (only) this small iterative validator finds the offset the
 * user should look at. It follows RFC 8259 and never recurses, so deep nesting is harmless.
 */

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings may not contain raw control characters
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const LITERAL = /true|false|null/y;

type Expect =
  | 'value'
  | 'value-or-close'
  | 'key'
  | 'key-or-close'
  | 'colon'
  | 'comma-or-close'
  | 'end';

export const jsonErrorOffset = (text: string): number => {
  const stack: ('{' | '[')[] = [];
  let expect: Expect = 'value';
  let i = 0;
  const afterValue = (): Expect => (stack.length === 0 ? 'end' : 'comma-or-close');
  const match = (re: RegExp): boolean => {
    re.lastIndex = i;
    if (!re.test(text)) return false;
    i = re.lastIndex;
    return true;
  };
  while (i <= text.length) {
    while (i < text.length && WS.has(text[i] ?? '')) i++;
    if (i === text.length) return expect === 'end' ? -1 : i;
    const c = text[i];
    const top = stack.at(-1);
    switch (expect) {
      case 'end':
        return i;
      case 'colon':
        if (c !== ':') return i;
        i++;
        expect = 'value';
        break;
      case 'comma-or-close':
        if (c === ',') {
          i++;
          expect = top === '{' ? 'key' : 'value';
        } else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
          i++;
          stack.pop();
          expect = afterValue();
        } else return i;
        break;
      case 'key':
      case 'key-or-close':
        if (c === '}' && expect === 'key-or-close') {
          i++;
          stack.pop();
          expect = afterValue();
        } else if (c === '"' && match(STRING)) expect = 'colon';
        else return i;
        break;
      default:
        if (c === ']' && expect === 'value-or-close') {
          i++;
          stack.pop();
          expect = afterValue();
        } else if (c === '{' || c === '[') {
          stack.push(c);
          i++;
          expect = c === '{' ? 'key-or-close' : 'value-or-close';
        } else if ((c === '"' && match(STRING)) || match(NUMBER) || match(LITERAL))
          expect = afterValue();
        else return i;
    }
  }
  return text.length;
};
