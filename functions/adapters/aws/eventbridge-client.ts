import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { tracer } from './xray-tracer';

let client: EventBridgeClient | undefined;

/**
 * The process's EventBridge client (see clients.ts), created on first use, in a module of its own
 * that imports nothing from clients.ts: `busPublisher` (lambda-entry.ts) loads it with `import()`
 * at the first publish, so the EventBridge SDK is not evaluated at init.
 */
export const eventBridge = (): EventBridgeClient => {
  client ??= tracer.captureAWSv3Client(new EventBridgeClient({}));
  return client;
};
