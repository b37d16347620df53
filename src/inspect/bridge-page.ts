import { createHash } from 'node:crypto';

/** The Stately inspector's page; it takes inspection events by `postMessage` when framed. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';
const INSPECTOR_ORIGIN = new URL(STATELY_INSPECTOR_URL).origin;

// The page reads the token from the URL fragment (never sent to any server, nor in a Referer),
// opens the relay's WebSocket with it and forwards each message to the framed inspector,
// holding them (at most 5000) until the inspector says it is connected. Messages go only to
// the origin that said so, and only if it is Stately's (the page may redirect to a subdomain).
const SCRIPT = `
const trusted = (origin) => origin === ${JSON.stringify(INSPECTOR_ORIGIN)} || /^https:\\/\\/[a-z0-9-]+\\.stately\\.ai$/.test(origin);
const frame = document.getElementById('inspector');
const status = document.getElementById('status');
const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
const pending = [];
let inspectorOrigin = null;
const forward = (message) => frame.contentWindow.postMessage(message, inspectorOrigin);
window.addEventListener('message', (e) => {
  if (e.source !== frame.contentWindow || !trusted(e.origin) || !e.data || e.data.type !== '@statelyai.connected') return;
  inspectorOrigin = e.origin;
  pending.splice(0).forEach(forward);
});
const ws = new WebSocket('ws://' + location.host + '/?token=' + encodeURIComponent(token));
ws.onopen = () => { status.textContent = 'courier: connected'; };
ws.onclose = () => {
  status.textContent = 'courier: disconnected (courier stopped, or the token in this URL is not the one it printed)';
};
ws.onmessage = (e) => {
  const message = JSON.parse(e.data);
  if (inspectorOrigin) forward(message);
  else if (pending.push(message) > 5000) pending.shift();
};
`;

const STYLE = `
html, body { height: 100%; margin: 0; font: 12px system-ui, sans-serif; }
body { display: flex; flex-direction: column; }
#status { padding: 2px 8px; background: #222; color: #ddd; }
iframe { flex: 1; width: 100%; border: none; }
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page served by the relay, and the headers that lock it down. `host` is the request's
 * Host, already checked to be a loopback name: the page opens its WebSocket there.
 */
export function bridgePage(host: string): { html: string; headers: Record<string, string> } {
  const html = `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>courier — Stately inspector</title>
<style>${STYLE}</style>
</head>
<body>
<div id="status">courier: connecting…</div>
<iframe id="inspector" src="${STATELY_INSPECTOR_URL}"></iframe>
<script>${SCRIPT}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src ${hash(SCRIPT)}`,
    `style-src ${hash(STYLE)}`,
    `connect-src ws://${host}`,
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
