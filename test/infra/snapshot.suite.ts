import { beforeAll, describe, expect, it } from 'vitest';
import { stageConfig, synthesize } from './synth';

/**
 * A snapshot of the synthesized dev template, so any infrastructure change shows up as a
 * reviewable diff. Only what changes without an infrastructure change is normalised away:
 * asset hashes (they follow the function code) and `VIGIL_CONFIG_JSON` (it follows every
 * config edit; its content is tested in stack.suite.ts). Logical IDs are kept.
 */

const ASSET_HASH = '<asset-hash>';
const ASSET_KEY = '<asset-key>';
const ASSET_BUCKET = '<asset-bucket>';
const CONFIG_JSON = '<vigil-config-json>';

/** A content hash as CDK writes it into asset keys, metadata and parameter names. */
const HEX_HASH = /[0-9a-f]{64}/g;
/** Legacy-synthesizer parameters: `AssetParameters<hash>S3Bucket<8 hex>` and the like. */
const ASSET_PARAMETER =
  /AssetParameters[0-9a-f]{64}(S3Bucket|S3VersionKey|ArtifactHash)[0-9A-F]{8}/g;
/** The bootstrap assets bucket, named after the qualifier, account and region. */
const ASSET_BUCKET_NAME = /^cdk-[a-z0-9]+-assets-/;

const normaliseString = (value: string, key: string | undefined): string => {
  if (key === 'S3Key' && /\.(zip|json)$/.test(value)) return ASSET_KEY;
  if (ASSET_BUCKET_NAME.test(value)) return ASSET_BUCKET;
  return value
    .replace(ASSET_PARAMETER, `AssetParameters${ASSET_HASH}$1`)
    .replace(HEX_HASH, ASSET_HASH);
};

/** A copy of the template with machine- and code-dependent values replaced by placeholders. */
const normalise = (value: unknown, key?: string): unknown => {
  if (key === 'VIGIL_CONFIG_JSON') return CONFIG_JSON;
  if (key === 'VIGIL_CONFIG_SHA256') return `${CONFIG_JSON} hash`;
  if (key?.startsWith('aws:asset:')) return ASSET_HASH;
  if (typeof value === 'string') return normaliseString(value, key);
  if (Array.isArray(value)) return value.map((item) => normalise(item));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [normaliseString(k, undefined), normalise(v, k)]),
    );
  }
  return value;
};

describe('dev stack template', () => {
  let template: unknown;

  // Synthesis in the hook (60 s budget): on a busy 2-core machine it can outlast a test's 20 s.
  beforeAll(async () => {
    template = normalise((await synthesize('dev', await stageConfig())).template.toJSON());
  });

  it('matches the snapshot', () => {
    expect(template).toMatchSnapshot();
  });
});
