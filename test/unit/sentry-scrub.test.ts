import type { ErrorEvent } from '@sentry/node';
import { describe, expect, it } from 'vitest';
import { defaultTags, scrubEvent } from '../../functions/shared/sentry';

/** What leaves for Sentry: no credentials, bodies or users; tags read from any trigger. */

describe('scrubEvent', () => {
  it('keeps only the URL and method of a request, and redacts credentials anywhere', () => {
    // Prepare
    const event = {
      type: undefined,
      request: {
        url: 'https://api.example/v1/results',
        method: 'POST',
        headers: { authorization: 'Bearer abc' },
        data: '{"secret":1}',
        cookies: { s: '1' },
      },
      user: { ip_address: '10.0.0.1' },
      extra: {
        headers: { Authorization: 'Bearer top', 'X-Api-Key': 'k' },
        log: ['sent Basic dXNlcjpwYXNz to the proxy'],
      },
    } as unknown as ErrorEvent;

    // Act
    const scrubbed = scrubEvent(event);

    // Assess
    expect(scrubbed.request).toEqual({ url: 'https://api.example/v1/results', method: 'POST' });
    expect(scrubbed.user).toBeUndefined();
    expect(scrubbed.extra).toEqual({
      headers: { Authorization: '[redacted]', 'X-Api-Key': '[redacted]' },
      log: ['sent Basic [redacted] to the proxy'],
    });
  });

  it('leaves an empty request when it has neither URL nor method', () => {
    // Act
    const scrubbed = scrubEvent({
      type: undefined,
      request: { data: 'x' },
    } as unknown as ErrorEvent);

    // Assess
    expect(scrubbed.request).toEqual({});
  });
});

describe('defaultTags', () => {
  it('reads nothing from an event that is not an object or an unreadable SNS message', () => {
    expect(defaultTags('text', { error: new Error('x') })).toEqual({});
    expect(
      defaultTags(
        { Records: [{ Sns: { Message: '{not json' } }], headers: 'none' },
        { result: { headers: {} } },
      ),
    ).toEqual({});
  });

  it('takes the correlation id from the request header, whatever its case', () => {
    expect(
      defaultTags(
        { headers: { 'X-Correlation-Id': 'c-1' }, queryStringParameters: { project: 'shop' } },
        { error: new Error('x') },
      ),
    ).toEqual({ correlation_id: 'c-1', project: 'shop' });
  });
});
