import { z } from 'zod';

/**
 * The CloudWatch Embedded Metric Format specification as a validator: the structure of
 * the `_aws` metadata, the unit list, the limits (30 dimensions per set, 100 metrics per
 * directive, 100 values per metric) and the rule that every referenced dimension is a
 * string member and every metric a number (or array of numbers) at the root.
 */
const UNITS = [
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
] as const;

const directive = z.object({
  Namespace: z.string().min(1).max(1024),
  Dimensions: z.array(z.array(z.string().min(1).max(250)).max(30)),
  Metrics: z
    .array(
      z.object({
        Name: z.string().min(1).max(1024),
        Unit: z.enum(UNITS).optional(),
        StorageResolution: z.union([z.literal(1), z.literal(60)]).optional(),
      }),
    )
    .max(100),
});

const root = z.looseObject({
  _aws: z.object({
    Timestamp: z.number().int().nonnegative(),
    CloudWatchMetrics: z.array(directive).min(1),
  }),
});

export const validateEmf = (line: string): string[] => {
  const doc = JSON.parse(line) as Record<string, unknown>;
  const parsed = root.safeParse(doc);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const problems: string[] = [];
  for (const d of parsed.data._aws.CloudWatchMetrics) {
    for (const set of d.Dimensions)
      for (const name of set)
        if (typeof doc[name] !== 'string')
          problems.push(`dimension ${name} is not a string member`);
    for (const m of d.Metrics) {
      const v = doc[m.Name];
      const ok =
        typeof v === 'number' ||
        (Array.isArray(v) && v.length <= 100 && v.every((x) => typeof x === 'number'));
      if (!ok) problems.push(`metric ${m.Name} has no numeric value`);
    }
  }
  return problems;
};
