import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { bodyBytes, withBodyBytes } from '../../functions/shared/http';

const event = (over: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 =>
  ({ rawPath: '/v1/results', isBase64Encoded: false, ...over }) as APIGatewayProxyEventV2;

describe('request bodies', () => {
  it('hands local mode its bytes as they are, and base64 only to a reader of event.body', () => {
    const bytes = Buffer.from('<testsuite name="é"/>');
    const e = withBodyBytes(event(), bytes);
    // The very buffer: no base64 encoding and decoding of the report on the way.
    expect(bodyBytes(e)).toBe(bytes);
    // The event still reads as API Gateway's for a binary body.
    expect(e.isBase64Encoded).toBe(true);
    expect(Buffer.from(e.body ?? '', 'base64').equals(bytes)).toBe(true);
    expect(JSON.parse(JSON.stringify(e)).body).toBe(bytes.toString('base64'));
  });

  it('leaves an empty body absent', () => {
    const e = withBodyBytes(event(), Buffer.alloc(0));
    expect(e.body).toBeUndefined();
    expect(e.isBase64Encoded).toBe(false);
    expect(bodyBytes(e).byteLength).toBe(0);
  });

  it("reads API Gateway's bodies: base64 or text", () => {
    expect(bodyBytes(event({ body: 'aGk=', isBase64Encoded: true })).toString()).toBe('hi');
    expect(bodyBytes(event({ body: 'hé', isBase64Encoded: false })).toString()).toBe('hé');
    expect(bodyBytes(event()).byteLength).toBe(0);
  });
});
