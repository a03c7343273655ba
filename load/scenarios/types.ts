/** One request to send. Bodies are built once; only the path (run id) changes per request. */
export interface RequestSpec {
  method: 'GET' | 'POST';
  /** Path and query, e.g. `/v1/results?project=p&runId=r`. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The run id in the query, so answers can be matched to what Vigil stored. */
  runId?: string;
}

export interface Scenario {
  name: string;
  /** One line for the summary, e.g. the body mix. */
  description: string;
  next(): RequestSpec;
}
