import { isVigilError, type VigilError } from '../../functions/core/errors';

/** The VigilError thrown by `fn`, failing the test when nothing or something else is thrown. */
export const errorOf = (fn: () => unknown): VigilError => {
  try {
    fn();
  } catch (e) {
    if (isVigilError(e)) return e;
    throw e;
  }
  throw new Error('expected a VigilError, nothing was thrown');
};
