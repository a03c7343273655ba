/**
 * The alert check key of a probe or a heartbeat: what its observations, alert state and
 * incidents are keyed on (`probe:<project>/<name>`, `heartbeat:<project>/<name>`).
 */
export const checkKey = (kind: 'probe' | 'heartbeat', project: string, name: string): string =>
  `${kind}:${project}/${name}`;
