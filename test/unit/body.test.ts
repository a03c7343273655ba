import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeText, decompress, firstInvalidUtf8 } from '../../functions/core/ingest/body';

const LIMIT = 1024;

describe('decompress', () => {
  it('passes plain bodies through', () => {
    expect(decompress(Buffer.from('<a/>'), undefined, LIMIT).toString()).toBe('<a/>');
    expect(decompress(Buffer.from('<a/>'), 'identity', LIMIT).toString()).toBe('<a/>');
  });

  it('gunzips with or without the Content-Encoding header', () => {
    const gz = gzipSync('<testsuite/>');
    expect(decompress(gz, 'gzip', LIMIT).toString()).toBe('<testsuite/>');
    expect(decompress(gz, undefined, LIMIT).toString()).toBe('<testsuite/>');
  });

  it('rejects a body over the limit before and after decompression (zip bomb)', () => {
    expect(() => decompress(Buffer.alloc(LIMIT + 1), undefined, LIMIT)).toThrow(
      expect.objectContaining({ code: 'payload_too_large', status: 413 }),
    );
    const bomb = gzipSync(Buffer.alloc(1024 * 1024));
    expect(bomb.byteLength).toBeLessThan(LIMIT * 2);
    expect(() => decompress(bomb, 'gzip', LIMIT * 2)).toThrow(
      /decompressed body is larger than the limit/,
    );
  });

  it('rejects corrupt gzip and unknown encodings with clear errors', () => {
    expect(() => decompress(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'gzip', LIMIT)).toThrow(
      expect.objectContaining({
        code: 'invalid_report',
        message: expect.stringContaining('not valid gzip'),
      }),
    );
    expect(() => decompress(Buffer.from('x'), 'br', LIMIT)).toThrow(
      expect.objectContaining({ code: 'unsupported_format', status: 415 }),
    );
  });
});

describe('decodeText', () => {
  it('decodes UTF-8 and strips a BOM', () => {
    expect(decodeText(Buffer.from('\uFEFF<a>›</a>'))).toBe('<a>›</a>');
  });

  it('decodes UTF-16 with a BOM', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<a/>', 'utf16le')]);
    expect(decodeText(le)).toBe('<a/>');
    const be = Buffer.from(le.subarray(2)).swap16();
    expect(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toBe('<a/>');
  });

  it('rejects invalid UTF-8 and says where', () => {
    const bad = Buffer.concat([
      Buffer.from('<testsuite name="'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"/>'),
    ]);
    expect(() => decodeText(bad)).toThrow(
      expect.objectContaining({
        code: 'invalid_report',
        location: { offset: 17 },
        message: expect.stringContaining('offset 17'),
      }),
    );
  });

  it('finds the first bad byte for each kind of broken sequence', () => {
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xff]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xe2, 0x82]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0x80]))).toBe(4);
    expect(firstInvalidUtf8(Buffer.from('ok'))).toBe(2);
  });
});
