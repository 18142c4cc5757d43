/**
 * `ipgate/node`: the gate in front of a plain `node:http` request listener
 * (also `node:https`, and `node:http2` in compatibility mode).
 *
 * ```ts
 * const gate = createGate(configFromEnv());
 * http.createServer(guard(gate, app)).listen(8080);
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gate, Verdict } from '../gate.js';
import {
  checkFunction,
  checkGate,
  checkNodeRequest,
  checkOptionsObject,
  finishDenied,
  isThenable,
  type NodeRequest,
  type NodeResponse,
  sendDenied,
} from './shared.js';

export type { NodeRequest, NodeResponse } from './shared.js';

/**
 * DeniedHandler is called for a denied request instead of the default
 * answer. If it returns (or its promise settles) without having started the
 * response, the default 403 is sent, so a hook that only logs is enough.
 */
export type DeniedHandler<Req, Res> = (req: Req, res: Res, verdict: Verdict) => unknown;

/** GuardOptions are the options of `guard`. */
export interface GuardOptions<Req extends NodeRequest, Res extends NodeResponse> {
  /** onDenied answers or observes a denied request; see DeniedHandler. */
  onDenied?: DeniedHandler<Req, Res>;
}

/**
 * guard returns a request listener that asks `gate` about each request
 * before `handler` sees it. A denied request never reaches `handler`: it gets
 * a 403 (see `sendDenied`) or whatever `options.onDenied` answers. Every
 * request carries its verdict as `req.ipgate`; an allowed one goes through
 * `gate.secure` (which may answer with a redirect to HTTPS instead), then
 * reaches `handler`, whose return value the listener returns.
 *
 * An error thrown by `onDenied` is thrown on after the 403 has been sent,
 * as an error in any listener would be. Throws ERR_INVALID_OPTION at once
 * for a `gate`, `handler` or `onDenied` of the wrong type.
 */
export function guard<
  Req extends NodeRequest = IncomingMessage,
  Res extends NodeResponse = ServerResponse,
>(
  gate: Gate,
  handler: (req: Req, res: Res) => unknown,
  options: GuardOptions<Req, Res> = {},
): (req: Req, res: Res) => unknown {
  checkGate('guard', gate);
  checkFunction('guard', 'handler', handler);
  checkOptionsObject('guard', options);
  const { onDenied } = options;
  if (onDenied !== undefined) checkFunction('guard', 'onDenied', onDenied);

  return function guarded(req: Req, res: Res): unknown {
    const verdict = checkNodeRequest(gate, req);
    req.ipgate = verdict;
    if (!verdict.allowed) return deny(req, res, verdict, onDenied);

    // The cookie policy is written for node:http; http2's compatibility
    // objects offer the same methods it uses.
    if (gate.secure(req as IncomingMessage, res as ServerResponse)) return undefined;
    return handler(req, res);
  };
}

/** deny answers a denied request, through `onDenied` when there is one. */
function deny<Req extends NodeRequest, Res extends NodeResponse>(
  req: Req,
  res: Res,
  verdict: Verdict,
  onDenied: DeniedHandler<Req, Res> | undefined,
): unknown {
  if (onDenied === undefined) return sendDenied(req, res);

  let result: unknown;
  try {
    result = onDenied(req, res, verdict);
  } catch (error) {
    finishDenied(req, res);
    throw error;
  }
  if (!isThenable(result)) return finishDenied(req, res);
  return Promise.resolve(result).then(
    () => finishDenied(req, res),
    (error: unknown) => {
      finishDenied(req, res);
      throw error;
    },
  );
}
