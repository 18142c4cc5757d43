/**
 * `ipgate/express`: the gate as Connect-style middleware, for Express and
 * any framework that calls `(req, res, next)`.
 *
 * ```ts
 * const app = express();
 * app.use(middleware(createGate(configFromEnv()))); // before anything else
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gate, Verdict } from '../gate.js';
import {
  asError,
  checkFunction,
  checkGate,
  checkNodeRequest,
  checkOptionsObject,
  finishDenied,
  isThenable,
  sendDenied,
} from './shared.js';

/** NextFunction is Connect's `next`: call with an error to skip to error handlers. */
export type NextFunction = (error?: unknown) => void;

/** Middleware is a Connect-style middleware function. */
export type Middleware<Req extends IncomingMessage, Res extends ServerResponse> = (
  req: Req,
  res: Res,
  next: NextFunction,
) => void;

/**
 * DeniedHandler is called for a denied request instead of the default
 * answer. If it returns (or its promise resolves) without having started the
 * response, the default 403 is sent, so a hook that only logs is enough.
 */
export type DeniedHandler<Req, Res> = (req: Req, res: Res, verdict: Verdict) => unknown;

/** MiddlewareOptions are the options of `middleware`. */
export interface MiddlewareOptions<Req extends IncomingMessage, Res extends ServerResponse> {
  /** onDenied answers or observes a denied request; see DeniedHandler. */
  onDenied?: DeniedHandler<Req, Res>;
}

/**
 * middleware returns a middleware that asks `gate` about each request. Use
 * it first, before body parsers, static files and routes: a denied request
 * gets a 403 (or whatever `options.onDenied` answers) and `next` is never
 * called, so nothing after it runs. Every request carries its verdict as
 * `req.ipgate`; an allowed one goes through `gate.secure`, which may answer
 * with a redirect to HTTPS, before `next()`. Mounted under a path, it judges
 * the whole path (`req.originalUrl`), not the part below the mount point.
 *
 * An error thrown or rejected by `onDenied` goes to `next(error)`, so the
 * application's error handlers answer, and the routes still never run.
 * Throws ERR_INVALID_OPTION at once for a `gate` or `onDenied` of the wrong
 * type.
 */
export function middleware<
  Req extends IncomingMessage = IncomingMessage,
  Res extends ServerResponse = ServerResponse,
>(gate: Gate, options: MiddlewareOptions<Req, Res> = {}): Middleware<Req, Res> {
  checkGate('middleware', gate);
  checkOptionsObject('middleware', options);
  const { onDenied } = options;
  if (onDenied !== undefined) checkFunction('middleware', 'onDenied', onDenied);

  return function ipgate(req: Req, res: Res, next: NextFunction): void {
    const verdict = checkNodeRequest(gate, req);
    req.ipgate = verdict;
    if (!verdict.allowed) {
      deny(req, res, verdict, next, onDenied);
    } else if (!gate.secure(req, res)) {
      next();
    }
  };
}

/** deny answers a denied request, through `onDenied` when there is one. */
function deny<Req extends IncomingMessage, Res extends ServerResponse>(
  req: Req,
  res: Res,
  verdict: Verdict,
  next: NextFunction,
  onDenied: DeniedHandler<Req, Res> | undefined,
): void {
  if (onDenied === undefined) {
    sendDenied(req, res);
    return;
  }

  let result: unknown;
  try {
    result = onDenied(req, res, verdict);
  } catch (error) {
    next(asError(error));
    return;
  }
  if (!isThenable(result)) {
    finishDenied(req, res);
    return;
  }
  Promise.resolve(result).then(
    () => finishDenied(req, res),
    (error: unknown) => next(asError(error)),
  );
}
