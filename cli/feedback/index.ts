import { appendFile as fsAppendFile } from 'node:fs/promises';
import { annotationLines } from './annotations';
import {
  commentMarker,
  detectForge,
  type Forge,
  ForgeError,
  forgeVariablesMissing,
  setCommitStatus,
  upsertComment,
} from './forge';
import { dashboardUrl, type FeedbackContext, overallGate, renderMarkdown, title } from './markdown';

/**
 * After the reports are sent: annotations and the job summary on GitHub Actions, and on
 * request (`--comment`, `--status`) the pull/merge request comment and the commit status.
 * Nothing here changes the exit code: each failure is one warning line.
 */

export interface FeedbackRequest {
  comment: boolean;
  status: boolean;
  /** Annotations go to stdout; not in --json mode, where stdout is JSON lines. */
  annotations: boolean;
}

export interface FeedbackDeps {
  env: NodeJS.ProcessEnv;
  fetch: typeof fetch;
  appendFile?: (path: string, text: string) => Promise<void>;
  out: (line: string) => void;
  err: (line: string) => void;
  /**
   * Where the annotations (workflow commands) go, as they are: `out` may neutralise a line that
   * starts with `::` (the CLI's does: report text must not become a command). Default `out`.
   */
  command?: (line: string) => void;
}

const why = (e: unknown): string =>
  e instanceof ForgeError ? e.message : e instanceof Error ? e.message : String(e);

export const giveFeedback = async (
  ctx: FeedbackContext,
  request: FeedbackRequest,
  deps: FeedbackDeps,
): Promise<void> => {
  const { env } = deps;
  const onGitHub = env.GITHUB_ACTIONS === 'true';
  if (onGitHub && request.annotations)
    for (const line of annotationLines(ctx.delivered, env.GITHUB_WORKSPACE))
      (deps.command ?? deps.out)(line);

  const markdown = renderMarkdown(ctx);
  const summaryFile = env.GITHUB_STEP_SUMMARY?.trim();
  if (summaryFile) {
    try {
      await (deps.appendFile ?? fsAppendFile)(summaryFile, markdown);
    } catch (e) {
      deps.err(`⚠ Vigil: could not write the job summary: ${why(e)}`);
    }
  }

  if (!request.comment && !request.status) return;
  const forge: Forge | undefined = await detectForge(env);
  if (!forge) {
    const missing = forgeVariablesMissing(env);
    deps.err(
      missing.length > 0
        ? `⚠ Vigil: --comment and --status need ${missing.join(' and ')} (set by the CI), not set here; skipped`
        : '⚠ Vigil: --comment and --status work on GitHub Actions and GitLab CI only; skipped',
    );
    return;
  }
  if (request.comment) {
    try {
      const done = await upsertComment(
        forge,
        deps.fetch,
        commentMarker(ctx.project, ctx.suite),
        markdown,
      );
      deps.out(`Vigil: ${forge.kind === 'github' ? 'pull' : 'merge'} request comment ${done}`);
    } catch (e) {
      deps.err(
        `⚠ Vigil: no ${forge.kind === 'github' ? 'pull' : 'merge'} request comment: ${why(e)}`,
      );
    }
  }
  if (request.status) {
    const gate = overallGate(ctx);
    const first = ctx.delivered.find((d) => d.runId);
    const failed = ctx.delivered.filter((d) => d.gate === 'fail').length;
    // Vigil being down under --allow-unreachable must not block merges: no red status for it.
    const excused = ctx.problems.length === (ctx.allowedUnreachable ?? 0);
    const description =
      ctx.problems.length > 0 && gate !== 'fail'
        ? excused
          ? `${ctx.problems.length} report(s) not recorded (Vigil unreachable)`
          : `${ctx.problems.length} report(s) got no verdict`
        : gate === 'fail'
          ? `gate failed in ${failed} of ${ctx.delivered.length} report(s)`
          : gate === 'pass'
            ? 'gate passed'
            : 'no gate applied';
    const state = gate === 'fail' ? 'failure' : excused ? 'success' : 'error';
    try {
      await setCommitStatus(forge, deps.fetch, {
        state,
        context: `vigil/${ctx.project}${ctx.suite ? `/${ctx.suite}` : ''}`,
        description: `${title(ctx)}: ${description}`,
        ...(first?.runId
          ? { targetUrl: dashboardUrl(ctx.endpoint, ctx.project, first.runId) }
          : {}),
      });
      deps.out(`Vigil: commit status ${state}: ${description}`);
    } catch (e) {
      deps.err(`⚠ Vigil: no commit status: ${why(e)}`);
    }
  }
};
