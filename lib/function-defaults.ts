import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ArnFormat, Duration, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { BuildOptions } from 'esbuild';
import type { VigilConfig } from '../functions/core/config';
import { configJsonHash } from '../functions/core/config-access';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../functions/core/metrics/catalog';
import { SIDE_FILES } from '../functions/core/side-files';
import type { StageSettings } from './config';

/** The repository root: handlers are referred to by entry path below it, never imported. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Absolute path of a handler entry, e.g. `functionEntry('ingest')`. */
export const functionEntry = (name: string): string =>
  fileURLToPath(new URL(`../functions/${name}/index.ts`, import.meta.url));

export const FUNCTION_RUNTIME = Runtime.NODEJS_22_X;

/**
 * ESM bundles have no `require`; CommonJS dependencies bundled into them (e.g. the X-Ray SDK
 * under the Powertools tracer) still call it for Node built-ins. This defines it.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __vigilCreateRequire } from 'node:module'; " +
  'const require = __vigilCreateRequire(import.meta.url);';

/** What NodejsFunction names the bundle of an ESM function (Lambda loads it with `import()`). */
export const BUNDLE_FILE = 'index.mjs';

/**
 * esbuild options of every Vigil function; `bundle.test.ts` and the cold-start bench build
 * with the same object (`esbuildLikeNodejsFunction`, `bundleLikeNodejsFunction`).
 *
 * - ESM: what Powertools and the AWS SDK v3 ship as their primary format (`module` main
 *   field first), and it allows top-level await in handlers later. Needs the banner above.
 *   (CommonJS output was measured with `npm run bench:cold-start` on Node 22: init 12–15 ms
 *   shorter, but init + first invocation the same within 5 ms: the work moves, it does not go.)
 * - The AWS SDK is bundled rather than taken from the runtime: the function runs exactly
 *   the SDK version the tests ran against, and the minified bundle initialises 2–3× faster
 *   than the SDK loaded from node_modules.
 * - After bundling, the source map keeps only Vigil's own sources (scripts/trim-source-map.ts):
 *   with `--enable-source-maps` Node reads and parses the whole map at every cold start, and
 *   ~90% of it is dependencies (~10 ms of init).
 */
export const BUNDLING = {
  minify: true,
  sourceMap: true,
  // Stack traces need the mappings only; embedding the sources would triple the map.
  sourcesContent: false,
  target: 'node22',
  format: OutputFormat.ESM,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  bundleAwsSDK: true,
  // The ordinary import() of each side file leaves the bundle (functions/core/side-files.ts).
  define: { VIGIL_SIDE_FILES: 'true' },
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    // Trim the source map, build the side files beside the bundle (scripts/after-bundling.ts).
    afterBundling: (inputDir: string, outputDir: string) => [
      `cd "${inputDir}" && node --import tsx scripts/after-bundling.ts "${outputDir}"`,
    ],
  },
} satisfies BundlingOptions;

/** After-bundling commands of the ingest function: the single-file CLI beside the handler. */
export const cliAfterBundling = (inputDir: string, outputDir: string): string[] => [
  `cd "${inputDir}" && node --import tsx scripts/build-cli.ts --out "${outputDir}/vigil.mjs"`,
];

/** The esbuild options NodejsFunction derives from `BUNDLING` (for building outside CDK). */
export const esbuildOptions = (): BuildOptions & { external: string[] } => ({
  bundle: true,
  platform: 'node',
  target: BUNDLING.target,
  format: BUNDLING.format === OutputFormat.ESM ? 'esm' : 'cjs',
  minify: BUNDLING.minify,
  sourcemap: BUNDLING.sourceMap,
  sourcesContent: BUNDLING.sourcesContent,
  mainFields: [...BUNDLING.mainFields],
  banner: { js: BUNDLING.banner },
  define: BUNDLING.define,
  external: BUNDLING.bundleAwsSDK ? [] : ['@aws-sdk/*'],
  logLevel: 'warning',
});

/**
 * Build the side files (functions/core/side-files.ts) into `outdir`, beside a bundle: each
 * self-contained, with the bundles' esbuild options, without a source map (they hold
 * dependencies, whose mappings the bundles' maps leave out too).
 */
export const buildSideFiles = async (outdir: string): Promise<void> => {
  const { build } = await import('esbuild');
  await build({
    ...esbuildOptions(),
    sourcemap: false,
    entryPoints: Object.fromEntries(
      Object.entries(SIDE_FILES).map(([name, entry]) => [name, join(REPO_ROOT, entry)]),
    ),
    outdir,
    // `<name>.mjs`, as sideFileUrl names them.
    outExtension: { '.js': '.mjs' },
  });
};

/**
 * The esbuild step of `bundleLikeNodejsFunction`: every entry into
 * `<outdir>/<name>/<BUNDLE_FILE>` (returned by name), in one build.
 */
const esbuildLikeNodejsFunction = async (
  entries: Readonly<Record<string, string>>,
  outdir: string,
  externalModules: readonly string[],
): Promise<Record<string, string>> => {
  // Loaded here only: synthesis never needs it (NodejsFunction runs esbuild itself).
  const { build } = await import('esbuild');
  // One build for all (same output as one per entry without code splitting, and faster).
  const [base, ext] = BUNDLE_FILE.split('.') as [string, string];
  await build({
    ...esbuildOptions(),
    external: [...externalModules],
    entryPoints: Object.fromEntries(
      Object.entries(entries).map(([name, entry]) => [`${name}/${base}`, entry]),
    ),
    outdir,
    outExtension: { '.js': `.${ext}` },
  });
  return Object.fromEntries(
    Object.keys(entries).map((name) => [name, join(outdir, name, BUNDLE_FILE)]),
  );
};

/** Run after-bundling commands as NodejsFunction does: with bash, from the repository root. */
export const runBundlingCommands = async (commands: readonly string[]): Promise<void> => {
  const run = promisify(execFile);
  for (const command of commands) await run('bash', ['-c', command], { cwd: REPO_ROOT });
};

/**
 * Bundle handlers outside CDK exactly as NodejsFunction does: esbuild with `esbuildOptions()`,
 * then `BUNDLING`'s after-bundling commands, each into `<outdir>/<name>/<BUNDLE_FILE>`
 * (returned by name). For the cold-start bench and bundle.test.ts.
 *
 * `externalModules` as VigilFunction's prop (it replaces the default externals); in one build
 * it applies to every entry, which changes nothing for an entry that imports none of them.
 * The commands run for the bundles in `withCommands` only (each is a process of its own).
 */
export const bundleLikeNodejsFunction = async (
  entries: Readonly<Record<string, string>>,
  outdir: string,
  externalModules: readonly string[] = esbuildOptions().external,
  withCommands: readonly string[] = Object.keys(entries),
): Promise<Record<string, string>> => {
  const files = await esbuildLikeNodejsFunction(entries, outdir, externalModules);
  // The commands of different functions are independent: run them side by side.
  await Promise.all(
    withCommands.map((name) =>
      runBundlingCommands(BUNDLING.commandHooks.afterBundling(REPO_ROOT, join(outdir, name))),
    ),
  );
  return files;
};

/**
 * An expression (for an ES module script, e.g. `node --input-type=module -e`) that loads a
 * bundle as Lambda's Node.js runtime does: `import()` for `.mjs`, `require()` for `.js` without
 * a `"type": "module"` package.json. (`import()` of a CommonJS file would also pay for Node's
 * scan of its exports, which Lambda never does.)
 */
export const lambdaLoadSnippet = (file: string): string =>
  file.endsWith('.mjs')
    ? `await import(${JSON.stringify(pathToFileURL(file).href)})`
    : `(await import('node:module')).createRequire(import.meta.url)(${JSON.stringify(file)})`;

/**
 * Where a stage's `{{secret:NAME}}` references live in Secrets Manager: `vigil/<stage>/NAME`
 * (the functions' `SECRETS_PREFIX`).
 */
export const secretsPrefixFor = (stage: string): string => `vigil/${stage}/`;

/**
 * Let a function read the stage's referenced secrets (`secretsmanager:GetSecretValue` on
 * `secret:vigil/<stage>/*`, the `*` also covering the random suffix Secrets Manager appends)
 * and set its `SECRETS_PREFIX`. Returns the ARN as cdk-nag prints it (for acknowledgements).
 */
export const grantStageSecretsRead = (fn: VigilFunction, stage: string): string => {
  const prefix = secretsPrefixFor(stage);
  fn.function.addEnvironment('SECRETS_PREFIX', prefix);
  return grantSecretRead(fn.function, `${prefix}*`);
};

/**
 * Let a function read the secrets named `resourceName` (`secretsmanager:GetSecretValue`; a
 * trailing `*` or `-*` covers the random suffix Secrets Manager appends). Returns the ARN as
 * cdk-nag prints it, for acknowledgements.
 */
export const grantSecretRead = (fn: NodejsFunction, resourceName: string): string => {
  const stack = Stack.of(fn);
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    }),
  );
  return nagArn(stack, resourceName);
};

/** A Secrets Manager secret ARN as cdk-nag prints it (pseudo parameters as `<AWS::Name>`). */
const nagArn = (stack: Stack, resourceName: string): string => {
  const part = (value: string, pseudo: string): string =>
    Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
  return (
    `arn:${part(stack.partition, 'Partition')}:secretsmanager:${part(stack.region, 'Region')}:` +
    `${part(stack.account, 'AccountId')}:secret:${resourceName}`
  );
};

/** Name of the optional secret holding a stage's Sentry DSN: `vigil/<stage>/SENTRY_DSN`. */
export const sentryDsnSecretNameFor = (stage: string): string =>
  `${secretsPrefixFor(stage)}SENTRY_DSN`;

/** Lambda caps all environment variables of a function at 4 KB together. */
const MAX_CONFIG_JSON_BYTES = 3 * 1024;

export interface VigilFunctionProps {
  /** Absolute path of the handler entry (see `functionEntry`). */
  readonly entry: string;
  readonly description: string;
  readonly settings: StageSettings;
  /** Serialised into `VIGIL_CONFIG_JSON`. */
  readonly config: VigilConfig;
  /**
   * Variables on top of the common ones (stage, config, Powertools settings).
   * @default - only the common variables
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Commands run after the shared ones once the bundle is built (see `BUNDLING`).
   * @default - none
   */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
  /** @default 512 */
  readonly memorySizeMb?: number;
  /** /tmp size. @default 512 (Lambda's default) */
  readonly ephemeralStorageMb?: number;
  /** @default Architecture.ARM_64 */
  readonly architecture?: Architecture;
  /**
   * Packages left out of the bundle (they must then be put beside it by `afterBundling`).
   * @default - none: everything is bundled
   */
  readonly externalModules?: string[];
  /** @default 29 (just under API Gateway's 30 s integration limit) */
  readonly timeoutSeconds?: number;
  /**
   * Reserved concurrency: an upper bound on parallel invocations (and a floor of capacity).
   * @default - none (the account's unreserved pool)
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Vigil Lambda function with the shared defaults: Node.js 22 on arm64, X-Ray tracing, an
 * explicit log group with the stage's retention, and a role that may write only to that log
 * group (no AWSLambdaBasicExecutionRole, whose log permissions span every log group).
 */
export class VigilFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: IRole;

  constructor(scope: Construct, id: string, props: VigilFunctionProps) {
    super(scope, id);
    const { settings } = props;
    const configJson = JSON.stringify(props.config);
    if (Buffer.byteLength(configJson) > MAX_CONFIG_JSON_BYTES) {
      throw new Error(
        `The Vigil config is ${Buffer.byteLength(configJson)} bytes as JSON; Lambda environment ` +
          `variables are limited to 4 KB in total, so VIGIL_CONFIG_JSON must stay under ` +
          `${MAX_CONFIG_JSON_BYTES} bytes.`,
      );
    }

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });

    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grantWrite(role);
    this.role = role;

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: props.architecture ?? Architecture.ARM_64,
      memorySize: props.memorySizeMb ?? 512,
      ...(props.ephemeralStorageMb === undefined
        ? {}
        : { ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMb) }),
      timeout: Duration.seconds(props.timeoutSeconds ?? 29),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      tracing: Tracing.ACTIVE,
      role,
      logGroup: this.logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: fileURLToPath(new URL('../package-lock.json', import.meta.url)),
      bundling: {
        ...BUNDLING,
        mainFields: [...BUNDLING.mainFields],
        ...(props.externalModules ? { externalModules: props.externalModules } : {}),
        commandHooks: {
          ...BUNDLING.commandHooks,
          afterBundling: (inputDir: string, outputDir: string) => [
            ...BUNDLING.commandHooks.afterBundling(inputDir, outputDir),
            ...(props.afterBundling?.(inputDir, outputDir) ?? []),
          ],
        },
      },
      environment: {
        // Stack traces point at the TypeScript sources (the bundle ships a source map).
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: settings.logLevel,
        VIGIL_STAGE: settings.stage,
        VIGIL_CONFIG_JSON: configJson,
        // The function skips validating the config again while it has this hash.
        VIGIL_CONFIG_SHA256: configJsonHash(configJson),
        // Read only when the first error must be reported; a missing secret leaves Sentry off.
        SENTRY_DSN_SECRET_ID: sentryDsnSecretNameFor(settings.stage),
        // OpenTelemetry export, when the config names a collector (off otherwise).
        ...(props.config.telemetry
          ? { OTEL_EXPORTER_OTLP_ENDPOINT: props.config.telemetry.otlpEndpoint }
          : {}),
        ...props.environment,
      },
    });

    const sentrySecretArn = grantSecretRead(
      this.function,
      `${sentryDsnSecretNameFor(settings.stage)}-*`,
    );

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason:
          'The runtime is pinned on purpose (FUNCTION_RUNTIME with the matching esbuild target ' +
          'in BUNDLING) so a CDK upgrade never changes it silently; moving on is a reviewed change.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only X-Ray (tracing ACTIVE: xray:PutTraceSegments, xray:PutTelemetryRecords) uses ' +
          'Resource *; X-Ray has no resource-level permissions.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${sentrySecretArn}]`,
        reason:
          'The optional Sentry DSN secret is created by the user as vigil/<stage>/SENTRY_DSN; ' +
          'Secrets Manager appends a random suffix to its ARN, so the read covers that one ' +
          'name followed by the suffix (-*).',
      },
    );
  }
}
