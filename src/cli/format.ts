import Table from 'cli-table3';

/** Human-readable output: tables; `--json` prints the server's JSON instead. */
export function table(head: string[], rows: (string | number | null | undefined)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) t.push(row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))));
  return t.toString();
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export function shortTime(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}
