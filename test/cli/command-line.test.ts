import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { envName, OPTIONS, type ConfigKey } from '../../src/config.js';
import { CLI } from '../support/courier-process.js';

// The command line itself, with no courier to talk to: help, version, defaults, completion, exit codes.

const run = promisify(execFile);

/** The CLI's exit code and output, whatever the code. */
async function courier(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, COURIER_URL: '', COURIER_API_KEY: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

test('courier --version, and help for each command: courier help <command> and <command> --help say the same', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal((await courier(['--version'])).stdout.trim(), version);
  const top = await courier(['--help']);
  assert.equal(top.code, 0);
  for (const name of ['serve', 'agents', 'send', 'commands', 'requests', 'jobs', 'audit', 'keys', 'agent', 'completion'])
    assert.match(top.stdout, new RegExp(`^  ${name} `, 'm'), name);
  const viaHelp = await courier(['help', 'send']);
  const viaFlag = await courier(['send', '--help']);
  assert.equal(viaHelp.stdout, viaFlag.stdout);
  assert.match(viaFlag.stdout, /^Usage: courier send \[options\]/);
  // (Read with the lines unwrapped: the help is wrapped to the terminal's width.)
  const send = viaFlag.stdout.replace(/\s+/g, ' ');
  assert.match(send, /--timeout <seconds> seconds within which it must be delivered \(default: 100\)/);
  // A command's own --version is its own: not courier's.
  assert.match(send, /--version <v> the action's version/);
  const nested = await courier(['agents', 'set-groups', '--help']);
  assert.match(nested.stdout, /^Usage: courier agents set-groups \[options\] <id>/);
});

test('serve --help shows every configuration option with its environment variable and its default', async () => {
  const help = (await courier(['serve', '--help'])).stdout.replace(/\s+/g, ' ');
  for (const key of Object.keys(OPTIONS) as ConfigKey[]) {
    assert.match(help, new RegExp(`--${OPTIONS[key].flag}\\b[^\\[]*\\[${envName(key)}\\]`), key);
  }
  assert.match(help, /--port <port> TCP port of the agents API \[COURIER_PORT\] \(default: 27000\)/);
  assert.match(help, /--long-poll-timeout <duration> How long an agent long-poll is held before 408 \[COURIER_LONG_POLL_TIMEOUT\] \(default: 5m\)/);
  assert.match(help, /--config <file> JSON or YAML config file/);
});

test('a command line not understood exits 2; under --json its error is a JSON line', async () => {
  const unknown = await courier(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^courier: unknown command 'frobnicate'/);
  const near = await courier(['agnets']);
  assert.match(near.stderr, /\(Did you mean agents\?\)/);
  const json = await courier(['send', '--agent', 'a', '--action', 'r', '--timeout', 'soon', '--json']);
  assert.equal(json.code, 2);
  const body = JSON.parse(json.stderr) as { message: string; code: null };
  assert.equal(body.code, null);
  assert.match(body.message, /--timeout <seconds>' argument 'soon' is invalid/);
  assert.doesNotMatch(json.stderr, /--help: its usage/, 'nothing but the JSON line');
  const notJson = await courier(['send', '--args', '{not json', '--agent', 'a', '--action', 'r']);
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /^courier send: option '--args <json>' argument '\{not json' is invalid\. It is not JSON[^\n]*\n\(courier send --help: its usage and options\)\n$/);
  const badLevel = await courier(['serve', '--log-level', 'loud']);
  assert.equal(badLevel.code, 2, 'a bad serve option is a usage error, named before anything starts');
  assert.match(badLevel.stderr, /^courier serve: option '--log-level <level>' argument 'loud' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent\./);
  const badPort = await courier(['serve', '--port', 'eighty']);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /^courier serve: option '--port <port>' argument 'eighty' is invalid\. "eighty" is not a port \(0-65535\)\./);
  const keyWithoutUrl = await courier(['agents', 'list', '--api-key', 'k']);
  assert.equal(keyWithoutUrl.code, 2);
  assert.match(keyWithoutUrl.stderr, /^courier: --api-key is for a remote management API: give --url too/);
});

/** What bash completes for the words typed so far, with the script `courier completion bash` prints. */
function bashCompletions(script: string, words: string[]): string[] {
  const typed = words.map((w) => `'${w}'`).join(' ');
  const probe = `${script}\nCOMP_WORDS=(courier ${typed}); COMP_CWORD=${words.length}; _courier; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync('bash', ['--norc', '-c', probe], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\n').filter((line) => line !== '');
}

test('courier completion bash completes commands, subcommands, options and the choices of an option', async () => {
  const script = (await courier(['completion', 'bash'])).stdout;
  assert.deepEqual(bashCompletions(script, ['ag']), ['agents', 'agent']);
  assert.deepEqual(
    bashCompletions(script, ['agents', '']).filter((w) => !w.startsWith('-')),
    ['add', 'show', 'remove', 'set-groups', 'list', 'help'],
  );
  assert.ok(bashCompletions(script, ['agents', 'list', '--']).includes('--state'));
  // Options and their values do not count as commands: the command stays `agents list`.
  assert.deepEqual(bashCompletions(script, ['agents', 'list', '--group', 'linux', '--st']), ['--state']);
  assert.deepEqual(bashCompletions(script, ['agents', 'list', '--state', '']), ['connected', 'offline', 'websocket', 'long-poll']);
  assert.deepEqual(bashCompletions(script, ['keys', 'create', '--role', 'a']), ['admin', 'auditor']);
  assert.deepEqual(bashCompletions(script, ['send', '--tim']), ['--timeout']);
  const zsh = (await courier(['completion', 'zsh'])).stdout;
  assert.match(zsh, /^#compdef courier\nautoload -U \+X bashcompinit && bashcompinit\n/);
  assert.deepEqual(bashCompletions(script, ['completion', '']), ['bash', 'zsh', '--help']);
  assert.equal((await courier(['completion', 'fish'])).code, 2);
});
