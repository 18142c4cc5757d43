/**
 * Secure cookies: every Set-Cookie an application sends passes through one
 * rewrite that adds `Secure` in production and makes the cookie valid under
 * the rules browsers enforce (RFC 6265bis); plain-HTTP requests are
 * redirected to HTTPS the way PostHog's secure mode does.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { parseSetCookie } from 'cookie';
import { invalid, quote } from './errors.js';
import type { ProxyTrust } from './proxy-trust.js';

/**
 * CookieFix names one change rewriteSetCookie made to a cookie:
 *
 * - `add-secure`: the policy asked for Secure on every cookie;
 * - `add-secure-same-site-none`: SameSite=None without Secure;
 * - `add-secure-partitioned`: Partitioned without Secure;
 * - `add-secure-prefix`: a `__Secure-` or `__Host-` name without Secure;
 * - `remove-domain-host-prefix`: a `__Host-` cookie had a Domain;
 * - `set-path-host-prefix`: a `__Host-` cookie had no `Path=/`.
 *
 * A cookie gains Secure once, named by the first reason in this list.
 */
export type CookieFix =
  | 'add-secure'
  | 'add-secure-same-site-none'
  | 'add-secure-partitioned'
  | 'add-secure-prefix'
  | 'remove-domain-host-prefix'
  | 'set-path-host-prefix';

/** What rewriteSetCookie returns. */
export interface SetCookieRewrite {
  /** header is the Set-Cookie value to send; the input when nothing changed. */
  header: string;
  /** name is the cookie's name, as parsed by the `cookie` package. */
  name: string;
  /** changes lists what was changed, in the order CookieFix lists them. */
  changes: CookieFix[];
}

/** Options of rewriteSetCookie and secureCookies. */
export interface SecureCookiesOptions {
  /** addSecure adds Secure to every cookie; default true. */
  addSecure?: boolean;
  /** onChange hears of each cookie that a rewrite changed. */
  onChange?: (name: string, changes: readonly CookieFix[]) => void;
}

/** Options of isSecureRequest. */
export interface RequestSecurityOptions {
  /** behindProxy lets a trusted peer's X-Forwarded-Proto count. */
  behindProxy: boolean;
  /** trust decides which peers are proxies; null trusts none. */
  trust: Pick<ProxyTrust, 'isTrusted'> | null;
}

/** Options of a CookiePolicy; the gate builds them from its configuration. */
export interface CookiePolicyOptions {
  /** secureCookies adds Secure to every cookie and turns on the redirect. */
  secureCookies: boolean;
  /** disableSslRedirect keeps secure cookies but never redirects. */
  disableSslRedirect: boolean;
  /** behindProxy lets a trusted peer's X-Forwarded-Proto count. */
  behindProxy: boolean;
  /** trust is the gate's proxy trust; null trusts no peer. */
  trust: ProxyTrust | null;
  /** onWarning hears of misconfiguration, each kind once. Must not throw. */
  onWarning?: (message: string) => void;
}

/**
 * REDIRECT_EXEMPT_SEGMENT is the first path segment that is never
 * redirected, so that plain-HTTP health checks keep working (PostHog
 * exempts the same path).
 */
export const REDIRECT_EXEMPT_SEGMENT = '_health';

/**
 * COOKIE_WARNING_LIMIT caps how many distinct (cookie name, fix) pairs a
 * policy remembers for its once-only warnings, in case an application puts
 * request data in cookie names.
 */
export const COOKIE_WARNING_LIMIT = 64;

/** ATTRIBUTE_VALUE_MAX_BYTES is the longest attribute value browsers keep. */
const ATTRIBUTE_VALUE_MAX_BYTES = 1024;

const SECURE_PREFIX = '__secure-';
const HOST_PREFIX = '__host-';

// A Host header fit to build a redirect from: a bracketed IPv6 literal or
// dot-separated labels, then an optional port. Anything else, such as
// userinfo, a path, a backslash or spaces, is refused rather than echoed
// into a Location header.
const HOST = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?)(?::(\d{1,5}))?$/;
const HOST_MAX_LENGTH = 260;

// An origin-form request target of visible ASCII (RFC 9112, section 3.2.1).
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;

const PATCHED = Symbol('ipgate.secureCookies');

/** Patch is what secureCookies keeps on a response it has wrapped. */
interface Patch {
  /** options are those of the latest call. */
  options: SecureCookiesOptions;
  /** setHeader is the response's own, unwrapped. */
  setHeader: ServerResponse['setHeader'];
  rewrite: (value: unknown) => unknown;
}

/** keep is the identity decoder: the rewrite never touches the value. */
const keep = (text: string): string => text;

/**
 * rewriteSetCookie returns `header`, one Set-Cookie value, made Secure when
 * `options.addSecure` is true (the default) and made valid in any case:
 *
 * - SameSite=None gains Secure, and so does Partitioned;
 * - a name starting `__Secure-` or `__Host-` (in any case) gains Secure;
 * - a `__Host-` name loses every Domain attribute and gets `Path=/`.
 *
 * Every rule is fixed, never answered by dropping the cookie: Secure and
 * removing Domain only narrow where the cookie travels, and the `__Host-`
 * name already asks for the whole host, where paths are no security
 * boundary anyway (RFC 6265, section 8.5). A cookie that already has
 * Secure keeps it, and so does everything the rules do not name: value,
 * unknown attributes, order and spelling. The rewrite is idempotent.
 * An empty or blank header is returned as it is.
 */
export function rewriteSetCookie(
  header: string,
  options: Pick<SecureCookiesOptions, 'addSecure'> = {},
): SetCookieRewrite {
  if (header.trim() === '') return { header, name: '', changes: [] };
  const cookie = parseSetCookie(header, { decode: keep });
  const name = cookie.name.toLowerCase();
  const isHost = name.startsWith(HOST_PREFIX);

  // RFC 6265bis, "Storage Model": a user agent ignores a SameSite=None,
  // __Secure- or __Host- cookie without Secure. Later drafts match the
  // prefixes without regard to case; matching so is stricter either way.
  let secureFix: CookieFix | undefined;
  if (cookie.secure && hasSecure(header)) secureFix = undefined;
  else if (options.addSecure ?? true) secureFix = 'add-secure';
  else if (cookie.sameSite === 'none') secureFix = 'add-secure-same-site-none';
  // CHIPS (draft-cutler-httpbis-partitioned-cookies): a Partitioned cookie
  // must be Secure, and browsers ignore one that is not.
  else if (cookie.partitioned) secureFix = 'add-secure-partitioned';
  else if (isHost || name.startsWith(SECURE_PREFIX)) secureFix = 'add-secure-prefix';
  // RFC 6265bis, "The __Host- Prefix": no Domain attribute, and Path=/.
  const hasDomain = isHost && cookie.domain !== undefined;
  const needsPath = isHost && cookie.path !== '/';

  const changes: CookieFix[] = [];
  const drop = new Set<string>();
  const add: string[] = [];
  if (secureFix !== undefined) {
    changes.push(secureFix);
    add.push('Secure');
  }
  if (hasDomain) {
    changes.push('remove-domain-host-prefix');
    drop.add('domain');
  }
  if (needsPath) {
    changes.push('set-path-host-prefix');
    drop.add('path');
    add.push('Path=/');
  }
  if (changes.length === 0) return { header, name: cookie.name, changes };

  const kept = trimEnd(withoutAttributes(header, drop));
  return { header: [kept, ...add].join('; '), name: cookie.name, changes };
}

/**
 * hasSecure reports whether `header` has a Secure attribute that a browser
 * keeps. RFC 6265bis (section 5.6) and Chromium ignore an attribute whose
 * value is longer than ATTRIBUTE_VALUE_MAX_BYTES, and `Secure=` followed by
 * more than that would otherwise pass for Secure here while the browser
 * stores the cookie without it.
 */
function hasSecure(header: string): boolean {
  for (const attribute of header.split(';').slice(1)) {
    const equals = attribute.indexOf('=');
    const name = trimSpace(equals === -1 ? attribute : attribute.slice(0, equals));
    if (name.toLowerCase() !== 'secure') continue;
    const value = equals === -1 ? '' : trimSpace(attribute.slice(equals + 1));
    if (Buffer.byteLength(value) <= ATTRIBUTE_VALUE_MAX_BYTES) return true;
  }
  return false;
}

/** trimSpace drops the spaces and tabs around `text`, as cookie parsers do. */
function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === ' ' || text[start] === '\t')) start++;
  while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
  return text.slice(start, end);
}

/**
 * trimEnd drops trailing spaces, tabs and semicolons, so that an appended
 * attribute does not follow an empty one. A loop, not a regular
 * expression, to stay linear on any input.
 */
function trimEnd(header: string): string {
  let end = header.length;
  while (end > 0 && ' \t;'.includes(header[end - 1]!)) end--;
  return header.slice(0, end);
}

/**
 * withoutAttributes removes the named attributes (lower case) from a
 * Set-Cookie value. The `cookie` package reads attributes but can only
 * write back those it knows, so removal splits on ";" as its parser does
 * and keeps every other part byte for byte.
 */
function withoutAttributes(header: string, names: ReadonlySet<string>): string {
  if (names.size === 0) return header;
  const [pair, ...attributes] = header.split(';');
  const kept = attributes.filter(
    (attribute) => !names.has(attribute.split('=', 1)[0]!.trim().toLowerCase()),
  );
  return [pair, ...kept].join(';');
}

/**
 * secureCookies makes every Set-Cookie that `res` sends pass through
 * rewriteSetCookie with `options`, however it was set: `setHeader`,
 * `appendHeader`, `setHeaders` or `writeHead`, which is where Express's
 * `res.cookie`, Fastify's `reply.header` and `@fastify/cookie` end. It wraps
 * those methods on this one response object, and rewrites at once the
 * Set-Cookie headers already set on it. Calling it again on the same
 * response replaces the options instead of wrapping twice. Returns `res`.
 *
 * Values that are not strings are passed on untouched, and Node's own
 * checks (invalid characters, headers already sent) still throw as before.
 */
export function secureCookies<Response extends ServerResponse>(
  res: Response,
  options: SecureCookiesOptions = {},
): Response {
  const target = res as Response & { [PATCHED]?: Patch };
  const patch = target[PATCHED];
  if (patch !== undefined) {
    patch.options = options;
    rewriteSetSoFar(res, patch.setHeader, patch.rewrite);
    return res;
  }

  const { setHeader, appendHeader, writeHead } = res;
  const installed: Patch = {
    options,
    setHeader,
    rewrite: (value) => rewriteValue(value, installed.options),
  };
  target[PATCHED] = installed;
  const { rewrite } = installed;
  rewriteSetSoFar(res, setHeader, rewrite);

  res.setHeader = function (this: ServerResponse, name, value) {
    return setHeader.call(this, name, isSetCookie(name) ? (rewrite(value) as string) : value);
  } as typeof res.setHeader;
  if (typeof appendHeader === 'function') {
    res.appendHeader = function (this: ServerResponse, name, value) {
      return appendHeader.call(this, name, isSetCookie(name) ? (rewrite(value) as string) : value);
    } as typeof res.appendHeader;
  }
  res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    // writeHead(status[, reason][, headers]). Node also reads the headers
    // after a reason that is not a string (`undefined`, `null`), and the
    // second argument when there is no third, so both are rewritten.
    for (let i = 0; i < 2; i++) {
      if (typeof rest[i] === 'object' && rest[i] !== null) {
        rest[i] = rewriteHeaders(rest[i], rewrite);
      }
    }
    return (writeHead as (...args: unknown[]) => ServerResponse).call(this, status, ...rest);
  } as typeof res.writeHead;
  return res;
}

/**
 * rewriteSetSoFar rewrites the Set-Cookie headers `res` already holds, set
 * before secureCookies was called (by a middleware ahead of the gate's, say).
 */
function rewriteSetSoFar(
  res: ServerResponse,
  setHeader: ServerResponse['setHeader'],
  rewrite: (value: unknown) => unknown,
): void {
  if (res.headersSent || typeof res.getHeader !== 'function') return;
  const value = res.getHeader('set-cookie');
  if (value !== undefined) setHeader.call(res, 'set-cookie', rewrite(value) as string);
}

/**
 * isSecureRequest reports whether `req` reached the application over
 * HTTPS: it arrived on a TLS socket, or `behindProxy` is set, the socket's
 * peer is a trusted proxy, and the rightmost X-Forwarded-Proto value, across
 * header lines and commas, is `https` (any case, trimmed). The rightmost
 * value is the one the nearest proxy wrote; values further left, and the
 * header of an untrusted peer, are client input. Never throws.
 */
export function isSecureRequest(req: IncomingMessage, options: RequestSecurityOptions): boolean {
  if (isEncrypted(req)) return true;
  if (!options.behindProxy || options.trust === null) return false;
  if (forwardedProto(req) !== 'https') return false;
  return options.trust.isTrusted(req.socket?.remoteAddress);
}

/**
 * CookiePolicy applies one configuration's cookie rules to requests: see
 * `handle`. Build it once per configuration; it remembers which warnings
 * it has given, so that each kind is given once, not once per request.
 *
 * The warnings are: a request answered over plain HTTP while secure cookies
 * are on (browsers drop Secure cookies there, so logins fail); an
 * X-Forwarded-Proto of `https` from a peer that is not trusted (behind a
 * TLS proxy that is not trusted, every request is redirected again: the
 * redirect loop); and each cookie rule fixed for the application, once per
 * cookie name (adding Secure for the policy is expected and not reported).
 */
export class CookiePolicy {
  readonly #options: CookiePolicyOptions;
  readonly #warned = new Set<string>();
  readonly #cookieOptions: SecureCookiesOptions;

  /** Throws a TypeError with code `ERR_INVALID_OPTION` for a bad option. */
  constructor(options: CookiePolicyOptions) {
    for (const flag of ['secureCookies', 'disableSslRedirect', 'behindProxy'] as const) {
      if (typeof options?.[flag] !== 'boolean') {
        throw invalid('ERR_INVALID_OPTION', `new CookiePolicy: ${flag} must be a boolean`);
      }
    }
    if (options.trust !== null && typeof options.trust?.isTrusted !== 'function') {
      throw invalid('ERR_INVALID_OPTION', 'new CookiePolicy: trust must be a ProxyTrust or null');
    }
    if (options.onWarning !== undefined && typeof options.onWarning !== 'function') {
      throw invalid('ERR_INVALID_OPTION', 'new CookiePolicy: onWarning must be a function');
    }

    this.#options = { ...options };
    this.#cookieOptions = {
      addSecure: options.secureCookies,
      onChange: (name, changes) => this.#reportCookie(name, changes),
    };
  }

  /**
   * handle redirects a plain-HTTP request to HTTPS when secure cookies are
   * on, the redirect is not disabled and the first path segment is not
   * REDIRECT_EXEMPT_SEGMENT: 301 for GET and HEAD, 308 (which keeps the
   * method and body) otherwise, to `https://` plus the Host header (without
   * a `:80` port) plus the request target. A Host that is not a plain
   * `host[:port]`, or a target that is not an absolute path of visible
   * ASCII, is answered 400 rather than redirected, so that request data
   * cannot steer the Location header. In both cases it returns true: the
   * response is finished and the application must not run.
   *
   * Otherwise it calls secureCookies on `res` (adding Secure when secure
   * cookies are on) and returns false. Never throws on request data.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const { secureCookies: isOn, disableSslRedirect } = this.#options;
    if (isOn && !this.#isSecure(req)) {
      const target = requestTarget(req);
      const isExempt = isRedirectExempt(target);
      if (!isExempt && !disableSslRedirect) {
        redirectToHttps(req, res, target);
        return true;
      }
      if (!isExempt) {
        this.#warnOnce(
          'plain-http',
          'secure cookies are on, but a request was answered over plain HTTP; ' +
            'browsers drop Secure cookies there, so logins will fail. Serve the ' +
            'application over HTTPS, or behind a TLS proxy set IS_BEHIND_PROXY and ' +
            'TRUSTED_PROXIES, or set SECURE_COOKIES=false for a plain-HTTP test setup',
        );
      }
    }

    secureCookies(res, this.#cookieOptions);
    return false;
  }

  /** #isSecure is isSecureRequest, noticing a proxy that is not trusted. */
  #isSecure(req: IncomingMessage): boolean {
    if (isSecureRequest(req, this.#options)) return true;
    if (forwardedProto(req) !== 'https') return false;

    const { behindProxy, trust } = this.#options;
    const peer = req.socket?.remoteAddress;
    let reason = 'the peer is not a trusted proxy';
    if (!behindProxy) reason = 'behindProxy (IS_BEHIND_PROXY) is off';
    else if (trust === null || trust.isConfigured === false) reason = 'no proxy is trusted';
    this.#warnOnce(
      'untrusted-proto',
      `X-Forwarded-Proto: https from ${quote(peer ?? 'an unknown peer')} was ignored ` +
        `because ${reason}. If that address is your TLS proxy, set IS_BEHIND_PROXY ` +
        'and list it in TRUSTED_PROXIES, or the redirect to HTTPS will loop',
    );
    return false;
  }

  /** #reportCookie warns once per cookie name about each rule it fixed. */
  #reportCookie(name: string, changes: readonly CookieFix[]): void {
    for (const change of changes) {
      if (change === 'add-secure') continue;
      if (this.#warned.size >= COOKIE_WARNING_LIMIT) return;
      this.#warnOnce(`${change}\0${name}`, `Set-Cookie ${quote(name)}: ${FIX_TEXT[change]}`);
    }
  }

  #warnOnce(kind: string, message: string): void {
    const { onWarning } = this.#options;
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    if (onWarning === undefined) return;
    try {
      onWarning(message);
    } catch {
      // A throwing hook must not break the response it was called from.
    }
  }
}

/** FIX_TEXT explains each fix in a warning. */
const FIX_TEXT: Record<CookieFix, string> = {
  'add-secure': 'added Secure, as the policy asks',
  'add-secure-same-site-none': 'added Secure, which SameSite=None requires (RFC 6265bis)',
  'add-secure-partitioned': 'added Secure, which Partitioned requires (CHIPS)',
  'add-secure-prefix': 'added Secure, which the __Secure- and __Host- prefixes require',
  'remove-domain-host-prefix': 'removed Domain, which the __Host- prefix forbids',
  'set-path-host-prefix': 'set Path=/, which the __Host- prefix requires',
};

/**
 * isSetCookie reports whether a header name is Set-Cookie. Node's http2
 * compatibility layer trims names before sending them; node:http refuses
 * such names.
 */
function isSetCookie(name: unknown): boolean {
  return typeof name === 'string' && name.trim().toLowerCase() === 'set-cookie';
}

/** rewriteValue rewrites a header value that may be a string or a list. */
function rewriteValue(value: unknown, options: SecureCookiesOptions): unknown {
  if (Array.isArray(value)) return value.map((entry) => rewriteValue(entry, options));
  if (typeof value !== 'string') return value;
  const result = rewriteSetCookie(value, options);
  if (result.changes.length > 0) options.onChange?.(result.name, result.changes);
  return result.header;
}

/**
 * rewriteHeaders returns writeHead's headers with Set-Cookie rewritten, in
 * any of the three forms Node accepts: an object, a flat [name, value, ...]
 * list, or a list of [name, value] pairs. The caller's object is copied,
 * never changed.
 */
function rewriteHeaders(headers: unknown, rewrite: (value: unknown) => unknown): unknown {
  if (Array.isArray(headers)) {
    if (Array.isArray(headers[0])) {
      return headers.map((pair: unknown[]) =>
        isSetCookie(pair[0]) ? [pair[0], rewrite(pair[1])] : pair,
      );
    }
    return headers.map((entry, index) =>
      index % 2 === 1 && isSetCookie(headers[index - 1]) ? rewrite(entry) : entry,
    );
  }
  if (headers === null || typeof headers !== 'object') return headers;
  const names = Object.keys(headers).filter(isSetCookie);
  if (names.length === 0) return headers;
  const copy: OutgoingHttpHeaders = { ...(headers as OutgoingHttpHeaders) };
  for (const name of names) copy[name] = rewrite(copy[name]) as string;
  return copy;
}

function isEncrypted(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: unknown } | undefined)?.encrypted === true;
}

/** forwardedProto is the rightmost X-Forwarded-Proto value, lower-cased. */
function forwardedProto(req: IncomingMessage): string | undefined {
  let header = req.headers['x-forwarded-proto'];
  if (Array.isArray(header)) header = header[header.length - 1];
  if (typeof header !== 'string') return undefined;
  return header
    .slice(header.lastIndexOf(',') + 1)
    .trim()
    .toLowerCase();
}

/**
 * requestTarget is the path the client asked for. Express rewrites
 * `req.url` below a mount point and keeps the original in `originalUrl`.
 */
function requestTarget(req: IncomingMessage): string {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  if (typeof original === 'string') return original;
  return typeof req.url === 'string' ? req.url : '';
}

/**
 * isRedirectExempt reports whether the first segment of the target's path
 * is REDIRECT_EXEMPT_SEGMENT. A path with a dot segment, a percent escape
 * or a backslash is never exempt: a server or proxy that normalizes it
 * could route `/_health/../login` to the login page over plain HTTP.
 */
function isRedirectExempt(target: string): boolean {
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  const prefix = `/${REDIRECT_EXEMPT_SEGMENT}`;
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return false;
  return !/[%\\]|\/\.\.?(?:\/|$)/.test(path);
}

function redirectToHttps(req: IncomingMessage, res: ServerResponse, target: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  // HTTP/2 carries the host in the :authority pseudo-header instead.
  const host = redirectHost(req.headers.host ?? req.headers[':authority']);
  if (host === null || !ORIGIN_FORM.test(target)) {
    res.statusCode = 400;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('Bad Request\n');
    return;
  }

  res.statusCode = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
  res.setHeader('Location', `https://${host}${target}`);
  res.setHeader('Content-Length', '0');
  res.end();
}

/**
 * redirectHost is the Host header fit for an https URL, or null. Port 80
 * is dropped: it is the plain-HTTP port, never the HTTPS one.
 */
function redirectHost(host: unknown): string | null {
  if (typeof host !== 'string' || host.length > HOST_MAX_LENGTH) return null;
  const match = HOST.exec(host);
  if (match === null) return null;
  const port = match[1];
  if (port === undefined) return host;
  const number = Number(port);
  if (number < 1 || number > 65535) return null;
  return number === 80 ? host.slice(0, host.length - port.length - 1) : host;
}
