/**
 * `ipgate/node`: the gate in front of a plain `node:http` request listener
 * (also `node:https`, and `node:http2` in compatibility mode), and in front
 * of the server's `upgrade` listener, which request listeners never see.
 *
 * ```ts
 * const gate = createGate(configFromEnv());
 * const server = http.createServer(guard(gate, app));
 * server.on('upgrade', guardUpgrade(gate, onUpgrade));
 * server.listen(8080);
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Gate, Verdict } from '../gate.js';
import {
  checkFunction,
  checkGate,
  checkNodeRequest,
  checkOptionsObject,
  DENIED_JSON,
  DENIED_TEXT,
  deniedHeaders,
  finishDenied,
  isThenable,
  type NodeRequest,
  type NodeResponse,
  prefersJson,
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
  return finishAfter(
    () => onDenied(req, res, verdict),
    () => finishDenied(req, res),
  );
}

/**
 * finishAfter calls `hook`, then `finish` once the hook is done: at once,
 * or when its promise settles. `finish` runs even when the hook throws or
 * rejects, and the error is thrown on after it.
 */
function finishAfter(hook: () => unknown, finish: () => void): unknown {
  let result: unknown;
  try {
    result = hook();
  } catch (error) {
    finish();
    throw error;
  }
  if (!isThenable(result)) return finish();
  return Promise.resolve(result).then(finish, (error: unknown) => {
    finish();
    throw error;
  });
}

/**
 * UpgradeDeniedHandler is called for a denied upgrade instead of the
 * default answer, with the raw socket. If it returns (or its promise
 * settles) with the socket still open for writing, the default 403 is sent
 * and the socket closed, so a hook that only logs is enough; one that
 * answers itself ends the socket.
 */
export type UpgradeDeniedHandler = (
  req: IncomingMessage,
  socket: Duplex,
  verdict: Verdict,
) => unknown;

/** GuardUpgradeOptions are the options of `guardUpgrade`. */
export interface GuardUpgradeOptions {
  /** onDenied answers or observes a denied upgrade; see UpgradeDeniedHandler. */
  onDenied?: UpgradeDeniedHandler;
}

/**
 * guardUpgrade returns a listener for a server's `upgrade` event (a
 * WebSocket handshake, say) that asks `gate` about each upgrade request
 * before `handler` sees it. Node hands upgrades to that event and never to
 * the request listener, so `guard` (or a framework's middleware) alone
 * leaves them open.
 *
 * A denied upgrade never reaches `handler`: it gets the same 403 as a
 * denied request, written on the socket, which is then closed; or whatever
 * `options.onDenied` answers. Every upgrade request carries its verdict as
 * `req.ipgate`. The cookie policy does not apply: an upgrade has no
 * response object to apply it to.
 *
 * An error thrown by `onDenied` is thrown on after the 403 has been sent.
 * Throws ERR_INVALID_OPTION at once for a `gate`, `handler` or `onDenied`
 * of the wrong type.
 */
export function guardUpgrade(
  gate: Gate,
  handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown,
  options: GuardUpgradeOptions = {},
): (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown {
  checkGate('guardUpgrade', gate);
  checkFunction('guardUpgrade', 'handler', handler);
  checkOptionsObject('guardUpgrade', options);
  const { onDenied } = options;
  if (onDenied !== undefined) checkFunction('guardUpgrade', 'onDenied', onDenied);

  return function guardedUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): unknown {
    const verdict = checkNodeRequest(gate, req);
    req.ipgate = verdict;
    if (verdict.allowed) return handler(req, socket, head);
    if (onDenied === undefined) return refuseUpgrade(req, socket);
    return finishAfter(
      () => onDenied(req, socket, verdict),
      () => refuseUpgrade(req, socket),
    );
  };
}

/**
 * refuseUpgrade writes the denial on an upgrade's socket and closes it,
 * unless the socket is already closed or ended.
 */
function refuseUpgrade(req: IncomingMessage, socket: Duplex): void {
  if (socket.destroyed || socket.writableEnded) return;
  const isJson = prefersJson(req.headers.accept);
  const body = isJson ? DENIED_JSON : DENIED_TEXT;
  const lines = Object.entries(deniedHeaders(isJson, body)).map(
    ([key, value]) => `${key}: ${value}`,
  );
  // A client that hangs up first must not turn into an unhandled error.
  socket.on('error', ignore);
  socket.end(`HTTP/1.1 403 Forbidden\r\n${lines.join('\r\n')}\r\nconnection: close\r\n\r\n${body}`);
}

function ignore(): void {}
