// Finding and repairing what a web server could not read: files of the terminal's tree
// already on the host with other permission bits than the host's file mode, and the
// directories holding them with other bits than its directory mode (a publish made
// under umask 077, a restored backup, a hand copy). Part of every plan, since the host's
// listing carries the modes at no extra cost; only paths airlock publishes are touched.
// The plan finds them (plan.ts, as it walks the listing); this performs them.
import type { Transport } from './transport.js';

export interface ModeRepair {
  path: string;
  kind: 'file' | 'dir';
  /** The bits the host holds now. */
  from: string;
  /** The bits it gets. */
  to: string;
}

/** Performs the repairs in order. */
export async function applyModeRepairs(transport: Transport, repairs: readonly ModeRepair[]): Promise<void> {
  for (const r of repairs) await transport.chmod!(r.path, Number.parseInt(r.to, 8));
}
