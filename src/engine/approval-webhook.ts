/**
 * Asking for an approval by webhook (`spec.approvals[].webhook`): when a run reaches a stage that
 * waits for an approval, handoff POSTs `{ runId, plan, stage, role, approveCommand }` as JSON to the
 * URL, once per run, stage and role (a call that was delivered is not repeated on resume; one that
 * failed is tried again the next time the run waits). The call is bounded in time, never follows a
 * redirect, and never fails the run: a failure is logged and recorded as an `approval-webhook`
 * event, and the approval can still be given with `handoff approve`.
 *
 * Only the URL's origin is recorded (events, audit, logs): webhook URLs often carry a token in
 * their path or query (Slack, Teams), and the plan is reviewed in the open while the trail travels.
 */
import { messageOf } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';

export const APPROVAL_WEBHOOK_TIMEOUT_MS = 5000;

export interface ApprovalRequestBody {
  runId: string;
  plan: string;
  stage: string;
  role: string;
  approveCommand: string;
}

export interface WebhookCallResult {
  url: string;
  delivered: boolean;
  status: number | null;
  error: string | null;
  elapsedMs: number;
}

export interface PostApprovalOptions {
  url: string;
  body: ApprovalRequestBody;
  redactor: Redactor;
  logger: Logger;
  /** Aborts the call (the wait ended: approval given, run paused or aborted). */
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** What may be recorded of a webhook URL: its origin, never its path, query or credentials. */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(an invalid URL)';
  }
}

export function approveCommand(runId: string, stage: string, role: string): string {
  return `handoff approve ${runId} --stage ${stage} --as NAME --role ${role}`;
}

/** POSTs the approval request. Never throws: the result says whether it was delivered (a 2xx answer). */
export async function postApprovalWebhook(options: PostApprovalOptions): Promise<WebhookCallResult> {
  const timeoutMs = options.timeoutMs ?? APPROVAL_WEBHOOK_TIMEOUT_MS;
  const origin = webhookOrigin(options.url);
  const started = Date.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const done = (delivered: boolean, status: number | null, error: string | null): WebhookCallResult => {
    const result = {
      url: origin,
      delivered,
      status,
      error: error === null ? null : options.redactor.redact(error.split(options.url).join(origin)),
      elapsedMs: Date.now() - started,
    };
    const fields = {
      url: origin,
      stage: options.body.stage,
      role: options.body.role,
      status,
      elapsedMs: result.elapsedMs,
    };
    if (delivered) options.logger.info('approval webhook delivered', fields);
    else
      options.logger.warn(
        `approval webhook not delivered: ${result.error ?? 'unknown error'}; the approval can still be given with ${options.body.approveCommand}`,
        fields,
      );
    return result;
  };
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'handoff' },
      body: JSON.stringify(options.body),
      redirect: 'manual',
      signal,
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return done(true, response.status, null);
    return done(false, response.status, `${origin} answered HTTP ${response.status}`);
  } catch (error) {
    if (timeout.aborted) return done(false, null, `${origin} did not answer within ${timeoutMs} ms`);
    if (options.signal?.aborted) return done(false, null, 'cancelled: the wait for the approval ended first');
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return done(false, null, `${origin} could not be reached: ${messageOf(error)}${cause}`);
  }
}
