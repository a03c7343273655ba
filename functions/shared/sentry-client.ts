import {
  linkedErrorsIntegration,
  makeNodeTransport,
  NodeClient,
  defaultStackParser as nodeStackParser,
  Scope,
} from '@sentry/aws-serverless';

type BeforeSend = NonNullable<ConstructorParameters<typeof NodeClient>[0]['beforeSend']>;

/**
 * A Sentry client for `dsn` in a scope of its own (see sentry.ts for why there is no
 * `Sentry.init()`). A module of its own so that sentry.ts loads the SDK with `import()` only when
 * an event must be sent: importing only these names keeps the rest of the SDK out of the bundle.
 */
export const newSentryScope = (dsn: string, beforeSend: BeforeSend): Scope => {
  const client = new NodeClient({
    dsn,
    transport: makeNodeTransport,
    stackParser: nodeStackParser,
    integrations: [linkedErrorsIntegration()],
    sendDefaultPii: false,
    skipOpenTelemetrySetup: true,
    environment: process.env.VIGIL_STAGE ?? 'local',
    sendClientReports: false,
    beforeSend,
    maxBreadcrumbs: 0,
  });
  const scope = new Scope();
  scope.setClient(client);
  client.init();
  return scope;
};
