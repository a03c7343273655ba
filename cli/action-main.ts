import { runAction } from './action';
import { escapeData } from './feedback/annotations';
import { oneLine } from './feedback/answer';

/** Process entry of the GitHub Action (built into action/dist/index.mjs). */
runAction(process.env, process.env.GITHUB_WORKSPACE ?? process.cwd()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stdout.write(`::error title=Vigil::${escapeData(oneLine(message, 1000))}\n`);
    process.exitCode = 1;
  },
);
