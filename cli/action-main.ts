import { runAction } from './action';
import { errorCommand } from './feedback/annotations';

/** Process entry of the GitHub Action (built into action/dist/index.mjs). */
runAction(process.env, process.env.GITHUB_WORKSPACE ?? process.cwd()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stdout.write(`${errorCommand('Vigil', message)}\n`);
    process.exitCode = 1;
  },
);
