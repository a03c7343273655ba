/** The part of autocannon 8's programmatic API that load/engine.ts uses (it ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface RequestData {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }

  interface RequestStep {
    setupRequest?: (req: RequestData, context: Record<string, unknown>) => RequestData;
    onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
  }

  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    overallRate?: number;
    timeout?: number;
    requests?: RequestStep[];
  }

  interface Instance extends EventEmitter, PromiseLike<unknown> {
    stop(): void;
  }

  function autocannon(opts: Options): Instance;
  export default autocannon;
}
