/**
 * The demo server's pages: what the gate decided about the visitor, and how
 * to change the configuration. Every value is escaped; secrets are left out.
 */
import type { GateConfig } from '../config.js';
import type { Verdict } from '../gate.js';
import { configLines, REASON_TEXT } from './report.js';

/** PageView is what the home page shows. */
export interface PageView {
  verdict: Verdict;
  /** peer is the socket's remote address as Node reports it. */
  peer: string | undefined;
  config: GateConfig;
  /** isDemo reports whether the demo settings apply (no variable set). */
  isDemo: boolean;
}

/** verdictJson is the home page for a client that asks for JSON. */
export function verdictJson(view: PageView): string {
  const { verdict, peer } = view;
  return `${JSON.stringify({
    allowed: verdict.allowed,
    reason: verdict.reason,
    clientIp: verdict.clientIp,
    peer: peer ?? null,
    rule: verdict.rule ?? null,
  })}\n`;
}

/** captureText is the answer of the exempt `/capture` endpoint. */
export function captureText(verdict: Verdict, peer: string | undefined): string {
  return [
    'captured',
    `verdict  ${verdict.allowed ? 'allowed' : 'denied'}`,
    `reason   ${verdict.reason}: ${REASON_TEXT[verdict.reason]}`,
    `client   ${verdict.clientIp ?? '-'}`,
    `peer     ${peer ?? '-'}`,
    '',
    'Exempt paths stay open to every client, as the event endpoints of a',
    'PostHog install must; every other path is judged by the allowlist.',
    '',
  ].join('\n');
}

/** renderPage is the home page as HTML. */
export function renderPage(view: PageView): string {
  const { verdict, peer, config } = view;
  const settings = configLines(config).filter((line) => !line.startsWith('SECRET_KEY'));
  const rows: [string, string][] = [
    ['Your client address', verdict.clientIp ?? '-'],
    ['Connected from (socket peer)', peer ?? '-'],
    ['Verdict', verdict.allowed ? 'allowed' : 'denied'],
    ['Reason', `${verdict.reason}: ${REASON_TEXT[verdict.reason]}`],
    ['Matching rule', verdict.rule ?? '-'],
  ];
  const origin = view.isDemo
    ? 'No ipgate variable is set, so the demo settings apply: debug mode, and an ' +
      'allowlist of loopback and private addresses.'
    : 'These settings come from the environment.';

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ipgate</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
th { text-align: left; padding-right: 1.5rem; font-weight: 600; }
pre, code { background: #f3f3f3; }
pre { padding: 0.75rem; overflow-x: auto; }
</style>
</head>
<body>
<h1>ipgate</h1>
<p>This server is guarded by ipgate, and the gate let you in.</p>
<table>
${rows.map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`).join('\n')}
</table>

<h2>Try it</h2>
<ul>
<li>A client outside the allowlist gets <code>403 Forbidden</code> here, before the
application runs. <code>${escapeHtml(checkCommand(config))}</code> shows what
the gate would decide for any address.</li>
<li><a href="/capture">/capture</a> is an exempt path: it is open to every client, as
the event endpoints of a PostHog install are.</li>
</ul>

<h2>The configuration</h2>
<p>${escapeHtml(origin)}</p>
<pre>${escapeHtml(settings.join('\n'))}</pre>

<h2>Changing it</h2>
<p>Stop the server and start it again with the variables set, for example:</p>
<pre>ALLOWED_IP_BLOCKS=127.0.0.1,203.0.113.0/24 DEBUG=true npx ipgate serve</pre>
<p>Behind a reverse proxy, set <code>IS_BEHIND_PROXY=true</code> and list the proxy in
<code>TRUSTED_PROXIES</code>, so that the client is read from
<code>X-Forwarded-For</code>. Without <code>DEBUG</code> the server runs in production
mode: it refuses to start without a strong <code>SECRET_KEY</code>
(<code>npx ipgate secret</code> makes one) and redirects plain HTTP to HTTPS.
<code>npx ipgate doctor</code> checks a configuration before you start.</p>
</body>
</html>
`;
}

/** checkCommand is an `ipgate check` line with this server's allowlist. */
export function checkCommand(config: GateConfig): string {
  const allow = config.allow.length > 0 ? ` --allow ${config.allow.join(',')}` : '';
  return `npx ipgate check 203.0.113.7${allow}`;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** escapeHtml makes `text` safe in HTML text and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] as string);
}
