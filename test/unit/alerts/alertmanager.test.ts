import { describe, expect, it } from 'vitest';
import {
  alertmanagerEvents,
  alertmanagerObservation,
} from '../../../functions/core/alerts/alertmanager';
import {
  MAX_ALERTS_PER_REQUEST,
  parseAlertmanagerPayload,
} from '../../../functions/core/alerts/alertmanager-payload';
import { observationFromEvent } from '../../../functions/core/alerts/sources';
import { parseConfig } from '../../../functions/core/config';
import { type AlertmanagerAlertDetail, parseBusEvent } from '../../../functions/core/events';

const body = (v: unknown) => Buffer.from(JSON.stringify(v));
const alert = (over: Record<string, unknown> = {}) => ({
  status: 'firing',
  labels: { alertname: 'HighLatency', job: 'api' },
  annotations: { description: 'p99 over 1 s' },
  startsAt: '2026-12-03T10:00:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  fingerprint: 'abc123',
  ...over,
});
const payload = (alerts: unknown[]) => ({
  version: '4',
  receiver: 'vigil',
  status: 'firing',
  alerts,
});
const ctx = { project: 'shop', correlationId: 'c-1', ingestedAt: '2026-12-03T10:00:05.000Z' };

const detail = (over: Record<string, unknown> = {}): AlertmanagerAlertDetail => {
  const [event] = alertmanagerEvents(parseAlertmanagerPayload(body(payload([alert(over)]))), ctx);
  return event?.detail as AlertmanagerAlertDetail;
};

describe('Alertmanager webhook payload', () => {
  it('refuses what is not a version 4 webhook, saying where', () => {
    expect(() => parseAlertmanagerPayload(Buffer.from('{'))).toThrow(/not JSON/);
    expect(() => parseAlertmanagerPayload(body([]))).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(/\(version "4"\): Invalid input: expected object/),
        location: { path: 'body' },
      }),
    );
    expect(() => parseAlertmanagerPayload(body({ ...payload([]), version: '3' }))).toThrow(
      /version/,
    );
    expect(() => parseAlertmanagerPayload(body(payload([alert({ fingerprint: '../x' })])))).toThrow(
      /alerts\.0\.fingerprint/,
    );
    expect(() =>
      parseAlertmanagerPayload(
        body(payload(Array.from({ length: MAX_ALERTS_PER_REQUEST + 1 }, () => alert()))),
      ),
    ).toThrow(/alerts/);
    expect(() =>
      alertmanagerEvents(
        parseAlertmanagerPayload(body(payload([alert({ labels: { project: '../etc' } })]))),
        ctx,
      ),
    ).toThrow(/project name is invalid/);
  });

  it('names the first malformed field of an alert, by its path, and drops unknown fields', () => {
    const refusal = (v: unknown) => {
      try {
        parseAlertmanagerPayload(body(v));
      } catch (e) {
        return { message: (e as Error).message, location: (e as { location?: unknown }).location };
      }
      throw new Error('accepted');
    };
    const prefix = 'Not an Alertmanager webhook payload (version "4"): ';
    expect(refusal(payload([alert({ labels: { job: 'api', le: 0.5 } })]))).toEqual({
      message: `${prefix}alerts.0.labels.le: Invalid input: expected string, received number`,
      location: { path: 'body.alerts.0.labels.le' },
    });
    expect(refusal(payload([alert(), alert({ annotations: ['x'] })]))).toEqual({
      message: `${prefix}alerts.1.annotations: Invalid input: expected record, received array`,
      location: { path: 'body.alerts.1.annotations' },
    });
    // The first problem in field order: status before startsAt before fingerprint.
    expect(refusal(payload([alert({ status: 'pending', startsAt: '', fingerprint: 1 })]))).toEqual({
      message: `${prefix}alerts.0.status: Invalid option: expected one of "firing"|"resolved"`,
      location: { path: 'body.alerts.0.status' },
    });
    expect(refusal(payload([alert({ startsAt: '', fingerprint: 1 })])).message).toBe(
      `${prefix}alerts.0.startsAt: Too small: expected string to have >=1 characters`,
    );
    expect(refusal(payload([null])).message).toBe(
      `${prefix}alerts.0: Invalid input: expected object, received null`,
    );
    expect(refusal({ ...payload([]), receiver: null }).message).toBe(
      `${prefix}receiver: Invalid input: expected string, received null`,
    );
    expect(refusal({ version: '4', status: 'firing' }).message).toBe(
      `${prefix}alerts: Invalid input: expected array, received undefined`,
    );
    // What may be left out has defaults; what is unknown is dropped.
    const { labels: _, annotations: __, endsAt: ___, ...bare } = alert({ extra: true });
    expect(parseAlertmanagerPayload(body({ ...payload([bare]), receiver: undefined }))).toEqual({
      version: '4',
      receiver: '',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: {},
          annotations: {},
          startsAt: '2026-12-03T10:00:00Z',
          endsAt: '',
          fingerprint: 'abc123',
        },
      ],
    });
  });

  it('bounds label values and keeps only http(s) links', () => {
    const d = detail({
      labels: { alertname: 'x'.repeat(5000), project: 'shop/web' },
      generatorURL: 'javascript:alert(1)',
    });
    expect(d.alert.labels.alertname?.length).toBe(1024);
    expect(d.metadata.project).toBe('shop/web');
    expect(d.alert).not.toHaveProperty('generatorURL');
    // The event is a valid bus event of its own kind.
    const [event] = alertmanagerEvents(parseAlertmanagerPayload(body(payload([alert()]))), {
      ...ctx,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    if (!event) throw new Error('no event');
    const known = parseBusEvent({
      source: event.source,
      'detail-type': event.detailType,
      detail: event.detail,
    });
    const obs = observationFromEvent(known, 'evt-1', parseConfig({ project: 'shop' }));
    expect(obs).toMatchObject({ checkKey: 'alertmanager:abc123', source: 'alertmanager' });
  });
});

describe('Alertmanager alert → observation', () => {
  it('fires at once when firing, with severity, where and what from labels and annotations', () => {
    expect(alertmanagerObservation(detail(), 'evt-1')).toMatchObject({
      id: 'am:abc123:firing:2026-12-03T10:00:00Z',
      checkKey: 'alertmanager:abc123',
      ok: false,
      at: '2026-12-03T10:00:00.000Z',
      severity: 'critical',
      title: 'Alertmanager HighLatency on api',
      target: 'alertname=HighLatency, job=api',
      error: 'p99 over 1 s',
      correlationId: 'c-1',
      policy: { failureThreshold: 1, recoveryThreshold: 1 },
      tags: ['alertmanager', 'alertname:HighLatency'],
    });
    const bare = alertmanagerObservation(
      detail({ labels: { severity: 'warning' }, annotations: { runbook_url: 'https://rb/x' } }),
      'evt-2',
    );
    expect(bare).toMatchObject({
      severity: 'warning',
      title: 'Alertmanager alert',
      error: 'alert is firing',
      runbookUrl: 'https://rb/x',
    });
  });

  it('passes when resolved, at its end (or when received, without one)', () => {
    const resolved = alertmanagerObservation(
      detail({ status: 'resolved', endsAt: '2026-12-03T10:04:00Z' }),
      'evt-3',
    );
    expect(resolved).toMatchObject({ ok: true, at: '2026-12-03T10:04:00.000Z' });
    expect(resolved).not.toHaveProperty('error');
    const noEnd = alertmanagerObservation(detail({ status: 'resolved', endsAt: 'soon' }), 'e');
    expect(noEnd.at).toBe(ctx.ingestedAt);
    const uncorrelated = { ...detail(), metadata: { ...detail().metadata, correlationId: '' } };
    expect(alertmanagerObservation(uncorrelated as AlertmanagerAlertDetail, 'evt-4')).toMatchObject(
      { correlationId: 'evt-4' },
    );
  });
});
