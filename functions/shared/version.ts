/** The Vigil version, reported by the health endpoint. CDK injects it at bundle time. */
export const VERSION = process.env.VIGIL_VERSION ?? '0.1.0';
