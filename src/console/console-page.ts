import { createHash } from 'node:crypto';

/** Where the console is served on the management API, and its files under it. */
export const CONSOLE_PATH = '/console';
export const ASSETS_PATH = `${CONSOLE_PATH}/assets`;

// The page's modules import the one library they use by its package name; the browser finds it here.
const IMPORT_MAP = JSON.stringify({ imports: { 'eventsource-parser': `${ASSETS_PATH}/vendor/eventsource-parser.js` } });

export const CONSOLE_CSS = `
:root { --fg: #1d2330; --muted: #667085; --line: #d9dee7; --bg: #f6f7f9; --panel: #fff; --accent: #2f5bd3;
  --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; --live: #ffd54f; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 20px; padding: 0 20px; height: 48px; background: #1d2330; color: #fff; }
header .brand { font-weight: 700; letter-spacing: .5px; }
header nav { display: flex; gap: 4px; flex: 1; }
header nav a { color: #c9d1e3; text-decoration: none; padding: 6px 10px; border-radius: 6px; }
header nav a.current, header nav a:hover { background: #323b50; color: #fff; }
header .who { color: #c9d1e3; font-size: 12px; }
header button { background: none; border: 1px solid #56607a; color: #c9d1e3; border-radius: 6px; padding: 3px 8px; cursor: pointer; }
main { padding: 20px; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 20px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
table { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f6; font-weight: 600; font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .4px; }
tr:last-child td { border-bottom: none; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
a { color: var(--accent); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #e8ebf1; }
.badge.success, .badge.completed, .badge.websocket, .badge.long-poll { background: #dcf5e3; color: var(--ok); }
.badge.failure, .badge.timed_out, .badge.aborted, .badge.offline { background: #fde2e1; color: var(--bad); }
.badge.cancelled, .badge.ended, .badge.paused { background: #eceff3; color: var(--muted); }
.badge.pending, .badge.sent, .badge.delivered, .badge.rolling_out, .badge.canary, .badge.scheduled, .badge.awaiting_approval, .badge.waiting_window { background: #fff3cd; color: var(--warn); }
.filters { display: flex; gap: 10px; flex-wrap: wrap; align-items: end; margin-bottom: 12px; }
label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
input, select, textarea { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--fg); }
textarea { font-family: ui-monospace, monospace; font-size: 12px; }
button.action { font: inherit; padding: 5px 12px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.action.secondary { background: #fff; color: var(--accent); }
button.action:disabled { opacity: .45; cursor: default; }
.error { color: var(--bad); margin: 8px 0; }
.muted { color: var(--muted); }
.counts { display: flex; gap: 8px; flex-wrap: wrap; }
.diagram { overflow: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
.diagram svg { display: block; }
.diagram .state rect { fill: #f3f5f9; stroke: #8a94a8; }
.diagram .state.compound > rect { fill: none; stroke-dasharray: 4 3; }
.diagram .state.any rect { fill: #fff; stroke-dasharray: 4 3; }
.diagram .state.final rect { stroke-width: 3; stroke: #56607a; }
.diagram .state.live rect { fill: var(--live); stroke: #b38600; stroke-width: 2; }
.diagram .state text { font-size: 12px; fill: var(--fg); }
.diagram .state .count { font-size: 11px; font-weight: 700; fill: #7a5a00; }
.diagram .edge path { fill: none; stroke: #9aa3b5; stroke-width: 1.2; }
.diagram .edge text { font-size: 11px; fill: #475067; }
.diagram .initial { fill: #1d2330; }
.events { max-height: 320px; overflow: auto; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
#login { max-width: 460px; margin: 80px auto; }
#login input { width: 100%; }
.bar { width: 240px; height: 10px; background: #e8ebf1; border-radius: 5px; overflow: hidden; display: flex; }
.bar span { display: block; height: 100%; }
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The console's one page, and the headers that lock it down: its scripts are courier's own files
 * and the import map (by hash), it talks only to the server it came from, and no other site may
 * frame it. The API key is asked for by the page and kept in the browser session, never in a URL.
 */
export function consolePage(): { html: string; headers: Record<string, string> } {
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>courier console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_PATH}/console.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="${ASSETS_PATH}/main.js"></script>
</head>
<body>
<noscript>The courier console needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src 'self' ${hash(IMPORT_MAP)}`,
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, headers: securityHeaders('text/html; charset=utf-8', csp) };
}

export function securityHeaders(type: string, csp = "default-src 'none'"): Record<string, string> {
  return {
    'content-type': type,
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
  };
}
