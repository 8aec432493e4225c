// Publishing's own view of the host tree: the layout and order are lib/core's
// (host-layout.ts, shared with the terminal's repository copy); temporary names are ours.
import { randomBytes } from 'node:crypto';

export { classifyPath, comparePublishOrder, STAGE_ORDER, type PathClass, type PublishStage } from '../core/host-layout.js';

// Temporary names are dot files in the destination's directory (so the rename stays in
// one directory, and in one file system), marked so a later publish can recognise and
// remove the leftovers of an interrupted one without touching anything else.
const TEMP_NAME = /(?:^|\/)\.[^/]+\.airlock-[0-9a-f]{12}\.part$/;

export function temporaryPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.airlock-${randomBytes(6).toString('hex')}.part`;
}

export function isTemporaryPath(path: string): boolean {
  return TEMP_NAME.test(path);
}
