import { runAction } from './action';

/** Process entry of the GitHub Action (built into action/dist/index.mjs). */
runAction(process.env, process.env.GITHUB_WORKSPACE ?? process.cwd()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stdout.write(
      `::error title=Vigil::${message.replace(/%/g, '%25').replace(/\r?\n/g, ' ')}\n`,
    );
    process.exitCode = 1;
  },
);
