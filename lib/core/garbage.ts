// A full garbage collection on demand, for long streamed passes (an import's batches, a
// publish plan's sort chunks): V8 sizes its heap from what is live when it collects, and
// a pass that builds a chunk of short-lived strings, drops it and builds the next lets
// ~150 MB of garbage pile up over a few MB live. Collected once a chunk is dropped, the
// heap stays near one chunk's worth. Needs V8's gc(), exposed on demand (node's --expose-gc).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let fullGc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (fullGc === undefined) {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : null');
    // Where the flag cannot take effect now (a worker thread), V8 collects on its own schedule.
    fullGc = typeof gc === 'function' ? (gc as () => void) : null;
  }
  fullGc?.();
}
