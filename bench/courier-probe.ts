// Preloaded into the courier process by the benchmark (`node --expose-gc --import <this> …`), and
// reached over the IPC channel the benchmark opens to it. It adds measurement only:
//   gc            full garbage collection, then process.memoryUsage(): memory readings then count
//                 what courier retains, not garbage waiting for the next collection;
//   profileStart  / profileStop {file}: a V8 CPU profile of one phase (same format as --cpu-prof),
//                 and a sampling heap profile of what the phase allocated, collected or not
//                 (same format as --heap-prof), next to it as <file>.heapprofile;
//   pauses        event-loop stalls since the last call: garbage-collection pauses and the
//                 event-loop delay histogram.
// Courier's own code does not know about it.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { serveIpc } from './ipc.js';
import { watchPauses } from './pauses.js';

let session: Session | null = null;

if (process.send) {
  const pauses = watchPauses();
  serveIpc({
    pauses,
    gc: () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('start node with --expose-gc');
      gc();
      gc();
      return process.memoryUsage();
    },
    profileStart: async () => {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
      await session.post('HeapProfiler.enable');
      // Every sampled allocation, also those the collector has freed since: where garbage comes from.
      await session.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    },
    profileStop: async ({ file }: { file: string }) => {
      if (!session) throw new Error('no profile running');
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      const { profile: heap } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(file.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap));
      session.disconnect();
      session = null;
    },
  });
  // The channel must not keep courier alive: it exits when its own work is done.
  process.channel?.unref();
}
