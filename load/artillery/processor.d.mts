/** Types of processor.mjs, for the tests that call it (Artillery itself loads the .mjs). */

type Next = (error?: Error) => void;
interface Events {
  emit(type: string, name: string, value?: number): void;
}

export interface ArtilleryBody {
  format: string;
  suite: string;
  contentType: string;
  plain: Buffer;
  gzipped: Buffer;
  weight: number;
}

export const BODIES: ArtilleryBody[];
export function junitXml(targetBytes?: number): string;
export function jestJson(): string;
export function lcovInfo(): string;
export function istanbulSummary(): string;
export function vigilIngestRequest(
  requestParams: { url: string; headers?: Record<string, string>; body?: unknown },
  context: { vars: Record<string, unknown> },
  events: Events,
  next: Next,
): void;
export function vigilCheckAnswer(
  requestParams: unknown,
  response: { statusCode: number },
  context: unknown,
  events: Events,
  next: Next,
): void;
