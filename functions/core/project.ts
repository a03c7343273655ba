/**
 * The project-name rule, one definition for everything that takes a project name: ingest
 * accepts it, the history API looks it up.
 */
export const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/]{0,127}$/;

/** The rule in words, for error messages. */
export const PROJECT_NAME_RULE =
  'letters, digits, . _ - / (max 128), starting with a letter or digit';
