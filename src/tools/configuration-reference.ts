import { defaultText, envName, OPTIONS, type ConfigKey } from '../config.js';

/** The committed reference of every configuration option, generated from the options themselves. */
export const CONFIGURATION_REFERENCE_FILE = 'docs/configuration.md';

/** Text for a table cell: `|` would end the cell, `<data-dir>` would be read as an HTML tag. */
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** docs/configuration.md: each option's flag, environment variable, config file key and default. */
export function configurationReference(): string {
  const rows = (Object.keys(OPTIONS) as ConfigKey[]).map((key) => {
    const spec = OPTIONS[key];
    const shown = defaultText(key);
    return `| \`--${spec.flag}\` | \`${envName(key)}\` | \`${key}\` | ${shown === null ? '' : `\`${cell(shown)}\``} | ${cell(spec.describe)} |`;
  });
  return `# Configuration reference

<!-- Generated from src/config.ts by \`npm run config-reference\`; a test checks it is current. -->

Every option of \`courier serve\` can be given three more ways. In order of precedence: the flag, the
environment variable, the key in the file named by \`--config\` (or \`COURIER_CONFIG\`), the default.
The file is JSON, or YAML when its name ends in \`.yaml\` or \`.yml\`; an unknown key is refused. Durations
take \`500ms\`, \`30s\`, \`5m\`, \`1h\`, \`2d\` or a number of seconds; lists a comma-separated string (or, in a
file, an array; on the command line, the flag repeated).

\`\`\`yaml
# courier.yaml: courier serve --config courier.yaml
port: 27000
managementHost: 0.0.0.0
dataDir: /var/lib/courier
longPollTimeout: 5m
tlsHosts: [courier.example, 10.0.0.5]
\`\`\`

| flag | environment | file key | default | what it is |
| --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
}
