import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchorsOf, docFiles, linksOf, parseMarkdown, ROOT, readDoc, slug } from './markdown';

/** Every relative link and anchor in README.md and docs/ points at something that exists. */

const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

const anchorCache = new Map<string, Set<string>>();
const anchorsIn = (file: string): Set<string> => {
  const anchors = anchorCache.get(file) ?? anchorsOf(readDoc(file));
  anchorCache.set(file, anchors);
  return anchors;
};

describe('GitHub anchors', () => {
  it.each([
    ['Reporting from CI: `vigil report`', 'reporting-from-ci-vigil-report'],
    ['`GET /v1/health`', 'get-v1health'],
    [
      'The regression detector: `npm run bench:detector`',
      'the-regression-detector-npm-run-benchdetector',
    ],
    ['Run ids and retried uploads', 'run-ids-and-retried-uploads'],
    ['Nothing lost, nothing duplicated: `--verify`', 'nothing-lost-nothing-duplicated---verify'],
    ['Secrets in headers: `{{secret:NAME}}`', 'secrets-in-headers-secretname'],
    ['snake_case and [a link](x.md)', 'snake_case-and-a-link'],
  ])('%s -> #%s', (heading, expected) => {
    expect(slug(heading)).toBe(expected);
  });

  it('numbers repeated headings and ignores headings inside code blocks', () => {
    const text = '# A\n## Setup\n```sh\n# not a heading\n```\n## Setup\n<a id="custom"></a>';
    expect([...anchorsOf(text)]).toEqual(['a', 'setup', 'setup-1', 'custom']);
  });

  it('reads links outside code only', () => {
    const text = 'See [x](a.md#b) and `[y](c.md)`.\n```md\n[z](d.md)\n```\n![img](e.png "title")';
    expect(linksOf(text).map((l) => l.target)).toEqual(['a.md#b', 'e.png']);
  });

  it('takes the markers above a code block and strips list indentation', () => {
    const { blocks } = parseMarkdown(
      '<!-- example: x -->\n<!-- config -->\n  ```ts\n  a: 1\n  ```',
    );
    expect(blocks).toEqual([
      { lang: 'ts', body: 'a: 1', line: 3, markers: { example: 'x', config: '' } },
    ]);
  });
});

describe.each(docFiles())('links in %s', (file) => {
  it('point at files and anchors that exist', () => {
    const broken: string[] = [];
    for (const { target, line } of linksOf(readDoc(file))) {
      if (EXTERNAL.test(target)) continue;
      const [path = '', anchor] = target.split('#', 2);
      const resolved = path ? normalize(join(dirname(file), decodeURI(path))) : file;
      const where = `${file}:${line} -> ${target}`;
      if (relative(ROOT, join(ROOT, resolved)).startsWith('..')) {
        broken.push(`${where}: outside the repository`);
        continue;
      }
      if (!existsSync(join(ROOT, resolved))) {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!resolved.endsWith('.md') || statSync(join(ROOT, resolved)).isDirectory()) {
        broken.push(`${where}: anchor on a file that is not Markdown`);
        continue;
      }
      if (!anchorsIn(resolved).has(anchor))
        broken.push(`${where}: no heading with this anchor in ${resolved}`);
    }
    expect(broken).toEqual([]);
  });
});
