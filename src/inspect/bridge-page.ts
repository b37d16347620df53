import { createHash } from 'node:crypto';

/** The Stately inspector's page; it takes inspection events by `postMessage` when framed. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';
const INSPECTOR_ORIGIN = new URL(STATELY_INSPECTOR_URL).origin;

// The page reads the token from the URL fragment (never sent to any server, nor in a Referer),
// opens the relay's WebSocket with it and forwards each message to the framed inspector,
// holding them (at most 5000) until the inspector says it is connected. Messages go only to
// the origin that said so, and only if it is Stately's (the page may redirect to a subdomain).
// A browser that cannot reach stately.ai (most SOC networks) would show a broken frame under a
// "connected" line: the page probes stately.ai and waits for the inspector's hello, and says
// plainly when either fails, pointing to courier's own console, which needs no outside site.
/** How long the page waits for the inspector's hello before it says the inspector cannot be loaded. */
const INSPECTOR_WAIT_S = 20;

function script(consoleUrl: string | null): string {
  const elsewhere = consoleUrl
    ? `Open courier's own console instead: ${consoleUrl} (machines, live states and events, served by courier itself).`
    : "Open courier's own console instead: /console on the management API (machines, live states and events, served by courier itself).";
  return `
const trusted = (origin) => origin === ${JSON.stringify(INSPECTOR_ORIGIN)} || /^https:\\/\\/[a-z0-9-]+\\.stately\\.ai$/.test(origin);
const frame = document.getElementById('inspector');
const status = document.getElementById('status');
const problem = document.getElementById('problem');
const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
const pending = [];
let inspectorOrigin = null;
let courier = 'connecting…';
let inspector = 'loading…';
const show = () => { status.textContent = 'courier: ' + courier + ' · Stately inspector: ' + inspector; };
const unreachable = (why) => {
  if (inspectorOrigin) return;
  inspector = 'cannot be loaded';
  show();
  problem.textContent = 'The Stately inspector (${STATELY_INSPECTOR_URL}) cannot be loaded in this browser: ' + why + '. ' + ${JSON.stringify(elsewhere)};
  problem.hidden = false;
  frame.hidden = true;
};
const forward = (message) => frame.contentWindow.postMessage(message, inspectorOrigin);
window.addEventListener('message', (e) => {
  if (e.source !== frame.contentWindow || !trusted(e.origin) || !e.data || e.data.type !== '@statelyai.connected') return;
  inspectorOrigin = e.origin;
  inspector = 'connected';
  problem.hidden = true;
  frame.hidden = false;
  show();
  pending.splice(0).forEach(forward);
});
fetch(${JSON.stringify(STATELY_INSPECTOR_URL)}, { mode: 'no-cors', cache: 'no-store' }).catch(() => unreachable('stately.ai is not reachable from here'));
setTimeout(() => unreachable('it did not answer within ${INSPECTOR_WAIT_S} s'), ${INSPECTOR_WAIT_S * 1000});
show();
const ws = new WebSocket('ws://' + location.host + '/?token=' + encodeURIComponent(token));
ws.onopen = () => { courier = 'connected'; show(); };
ws.onclose = () => {
  courier = 'disconnected (courier stopped, or the token in this URL is not the one it printed)';
  show();
};
ws.onmessage = (e) => {
  const message = JSON.parse(e.data);
  if (inspectorOrigin) forward(message);
  else if (pending.push(message) > 5000) pending.shift();
};
`;
}

const STYLE = `
html, body { height: 100%; margin: 0; font: 12px system-ui, sans-serif; }
body { display: flex; flex-direction: column; }
#status { padding: 2px 8px; background: #222; color: #ddd; }
#problem { margin: 16px; padding: 12px 16px; border: 1px solid #c62828; border-radius: 6px; color: #8e1b1b; background: #fdecea; font-size: 14px; }
iframe { flex: 1; width: 100%; border: none; }
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page served by the relay, and the headers that lock it down. `host` is the request's
 * Host, already checked to be a loopback name: the page opens its WebSocket there.
 */
export function bridgePage(host: string, consoleUrl: string | null = null): { html: string; headers: Record<string, string> } {
  const SCRIPT = script(consoleUrl);
  const html = `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>courier — Stately inspector</title>
<style>${STYLE}</style>
</head>
<body>
<div id="status">courier: connecting…</div>
<div id="problem" hidden></div>
<iframe id="inspector" src="${STATELY_INSPECTOR_URL}"></iframe>
<script>${SCRIPT}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src ${hash(SCRIPT)}`,
    `style-src ${hash(STYLE)}`,
    `connect-src ws://${host} ${STATELY_INSPECTOR_URL}`,
    `frame-src ${INSPECTOR_ORIGIN} https://*.stately.ai`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    },
  };
}
