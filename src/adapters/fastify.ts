/**
 * `ipgate/fastify`: the gate as a Fastify plugin.
 *
 * ```ts
 * const app = fastify();
 * await app.register(plugin, { gate: createGate(configFromEnv()) });
 * ```
 */
import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
} from 'fastify';
import type { Gate, Verdict } from '../gate.js';
import {
  asError,
  checkFunction,
  checkGate,
  checkNodeRequest,
  checkOptionsObject,
  DENIED_JSON,
  DENIED_TEXT,
  deniedHeaders,
  isThenable,
  prefersJson,
} from './shared.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** ipgate is the gate's verdict for this request, set by `ipgate/fastify`. */
    ipgate: Verdict | null;
  }
}

/**
 * DeniedHandler is called for a denied request instead of the default
 * answer. If it returns (or its promise resolves) without having sent a
 * reply, the default 403 is sent, so a hook that only logs is enough.
 * Returning the reply itself counts as returning. A promise that resolves
 * to the reply, as an async function's `return reply` does, waits for the
 * reply to be sent, as in Fastify's own hooks.
 */
export type DeniedHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  verdict: Verdict,
) => unknown;

/** PluginOptions are the options `plugin` is registered with. */
export interface PluginOptions {
  /** gate is the Gate that decides; required. */
  gate: Gate;
  /** onDenied answers or observes a denied request; see DeniedHandler. */
  onDenied?: DeniedHandler;
}

/**
 * plugin adds an `onRequest` hook that asks the gate about every request of
 * the instance it is registered on, including those that match no route.
 * It does not create an encapsulated context (as `fastify-plugin` would
 * arrange), so registered at the root it covers every route, also those of
 * plugins registered before or after it. Register it before anything that
 * adds `onRequest` hooks: Fastify runs them in the order they were added,
 * so earlier ones see, and may answer, denied requests. `onRequest` runs
 * before body parsing, validation and handlers, so a denied request reaches
 * none of them: it gets a 403 or whatever `onDenied` sends. Every request carries its verdict as
 * `request.ipgate`; an allowed one goes through `gate.secure`, which may
 * answer with a redirect to HTTPS instead.
 *
 * An error thrown or rejected by `onDenied` goes to Fastify's error handler.
 * Registration fails with ERR_INVALID_OPTION for a missing `gate` or an
 * `onDenied` of the wrong type.
 */
export const plugin: FastifyPluginCallback<PluginOptions> = function ipgate(
  fastify: FastifyInstance,
  options: PluginOptions,
  done: (error?: Error) => void,
): void {
  // A callback plugin reports failure through done: avvio does not catch.
  try {
    checkOptionsObject('ipgate/fastify', options);
    checkGate('ipgate/fastify', options.gate);
    if (options.onDenied !== undefined) {
      checkFunction('ipgate/fastify', 'onDenied', options.onDenied);
    }
  } catch (error) {
    done(error as Error);
    return;
  }

  if (!fastify.hasRequestDecorator('ipgate')) fastify.decorateRequest('ipgate', null);
  fastify.addHook('onRequest', hook(options.gate, options.onDenied));
  done();
};

// Fastify's plugin protocol: skip-override keeps the hook on the instance
// registering the plugin rather than in a new child context.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'ipgate',
  [Symbol.for('plugin-meta')]: { name: 'ipgate', fastify: '5.x' },
});

export default plugin;

/** hook builds the onRequest hook for `gate`. */
function hook(gate: Gate, onDenied: DeniedHandler | undefined): onRequestHookHandler {
  return function ipgateOnRequest(request, reply, done): void {
    const verdict = checkNodeRequest(gate, request.raw);
    request.ipgate = verdict;
    if (!verdict.allowed) {
      deny(request, reply, verdict, done, onDenied);
      return;
    }

    // A redirect was written to the raw response: Fastify must not reply.
    if (gate.secure(request.raw, reply.raw)) reply.hijack();
    done();
  };
}

/**
 * deny answers a denied request, through `onDenied` when there is one.
 * Fastify stops the request's lifecycle once the reply is sent, so `done`
 * is only called with an error.
 */
function deny(
  request: FastifyRequest,
  reply: FastifyReply,
  verdict: Verdict,
  done: (error?: Error) => void,
  onDenied: DeniedHandler | undefined,
): void {
  if (onDenied === undefined) {
    sendDenied(request, reply);
    return;
  }

  const isAnswered = watchSend(reply);
  const finish = (): void => {
    if (!isAnswered()) sendDenied(request, reply);
  };
  let result: unknown;
  try {
    result = onDenied(request, reply, verdict);
  } catch (error) {
    done(asError(error));
    return;
  }
  // A reply is thenable, settling only once it has been sent: returned
  // unsent (`reply.header(...)` returns it), it would hold the request open.
  if (result === reply || !isThenable(result)) {
    finish();
    return;
  }
  Promise.resolve(result).then(finish, (error: unknown) => done(asError(error)));
}

/**
 * watchSend returns a function that reports whether `reply` has been sent,
 * hijacked or at least handed to `reply.send`. NOTE: `reply.sent` alone turns
 * true only once the response has ended, which an asynchronous `onSend` hook
 * can delay past the return of `onDenied`; sending a second time then would
 * write the response twice.
 */
function watchSend(reply: FastifyReply): () => boolean {
  let isCalled = false;
  const send = reply.send;
  reply.send = function watchedSend(this: FastifyReply, payload?: unknown) {
    isCalled = true;
    return send.call(this, payload);
  };
  return () => isCalled || reply.sent || reply.raw.headersSent;
}

/** sendDenied replies 403 with the shared neutral body. */
function sendDenied(request: FastifyRequest, reply: FastifyReply): void {
  const isJson = prefersJson(request.headers.accept);
  const body = isJson ? DENIED_JSON : DENIED_TEXT;
  reply.code(403).headers(deniedHeaders(isJson, body)).send(body);
}
