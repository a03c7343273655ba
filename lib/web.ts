import { Validations } from 'aws-cdk-lib';
import { type HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import type { StageSettings } from './config';
import { functionEntry, VigilFunction } from './function-defaults';

export interface WebProps {
  /** The stage's HTTP API: the dashboard is served from the same origin as the API it reads. */
  readonly api: HttpApi;
  /** Ingest and read-only tokens: a badge that is not public needs one of them. */
  readonly tokensSecret: ISecret;
  readonly readTokensSecret: ISecret;
  readonly settings: StageSettings;
  readonly config: VigilConfig;
}

/**
 * After bundling the web function: build the dashboard into `web/` next to its bundle, where
 * functions/web/index.ts reads it.
 */
export const buildDashboardInto = (inputDir: string, outputDir: string): string[] => [
  `cd "${inputDir}" && node --import tsx scripts/build-web.ts "${outputDir}/web"`,
];

/**
 * The dashboard, the public status page and the SVG badges: one small function behind the
 * stage's HTTP API on `GET` and `HEAD` of `/`, `/assets/{proxy+}`, `/status` and
 * `/v1/badges/{proxy+}` (HEAD answered as GET without the body). The dashboard's files
 * (web/build.ts) are built into the function's bundle directory; the page then
 * reads the API on the same origin with the user's token (no CORS, no second domain). The status
 * page and badges read the status table: grant it with `StatusHistory.grantRead`.
 */
export class Web extends Construct {
  readonly handler: VigilFunction;

  constructor(scope: Construct, id: string, props: WebProps) {
    super(scope, id);
    this.handler = new VigilFunction(this, 'Handler', {
      entry: functionEntry('web'),
      description: `Vigil ${props.settings.stage}: dashboard files, status page and badges`,
      settings: props.settings,
      config: props.config,
      memorySizeMb: 256,
      timeoutSeconds: 10,
      environment: {
        TOKENS_SECRET_ARN: props.tokensSecret.secretArn,
        READ_TOKENS_SECRET_ARN: props.readTokensSecret.secretArn,
      },
      afterBundling: buildDashboardInto,
    });
    props.tokensSecret.grantRead(this.handler.function);
    props.readTokensSecret.grantRead(this.handler.function);

    const integration = new HttpLambdaIntegration('WebIntegration', this.handler.function);
    for (const path of ['/', '/assets/{proxy+}', '/status', '/v1/badges/{proxy+}']) {
      for (const route of props.api.addRoutes({
        path,
        // HEAD as GET without the body (the handler answers it): uptime checkers often send it.
        methods: [HttpMethod.GET, HttpMethod.HEAD],
        integration,
      })) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Public by design: the dashboard shell and its hashed assets hold no data (the page ' +
            'reads the API with the bearer token the user signs in with), the status page shows ' +
            'only what the config makes public, and the web function itself checks the token ' +
            'for every badge the config does not list as public.',
        });
      }
    }
  }
}
