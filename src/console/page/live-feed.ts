import { createParser } from 'eventsource-parser';
import { authorization, unauthorized } from './api.js';
import type { AuditEntry } from './types.js';

/**
 * The audit trail's live feed (`GET /api/v1/events/stream`, server-sent events) read with fetch,
 * because EventSource cannot send the Authorization header. `opened` runs once the server has
 * fixed where the feed starts: whatever the page reads after it, the feed carries every change
 * that follows. It reconnects after a drop, resuming from the last entry it saw.
 */
export class LiveFeed {
  private readonly abort = new AbortController();
  private lastId: string | null = null;

  constructor(
    private readonly filter: Record<string, string | undefined>,
    private readonly onEntry: (entry: AuditEntry) => void,
    private readonly opened: () => void = () => {},
  ) {
    void this.run();
  }

  close(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    let first = true;
    while (!this.abort.signal.aborted) {
      try {
        const params = new URLSearchParams();
        for (const [name, value] of Object.entries(this.filter)) if (value) params.set(name, value);
        if (this.lastId) params.set('last_event_id', this.lastId);
        const response = await fetch(`/api/v1/events/stream?${params}`, { headers: { ...authorization(), accept: 'text/event-stream' }, signal: this.abort.signal });
        if (response.status === 401) {
          unauthorized();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`feed refused: ${response.status}`);
        if (first) this.opened();
        first = false;
        const parser = createParser({
          onEvent: (event) => {
            if (event.id) this.lastId = event.id;
            this.onEntry(JSON.parse(event.data) as AuditEntry);
          },
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
      } catch {
        if (this.abort.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}
