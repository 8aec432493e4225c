// What apt needs to know about a .deb: its control paragraph (read with dpkg-deb, the
// Debian tool every Debian terminal has; see deb(5) and dpkg-deb(1) --info), checked
// against Debian Policy §5.6 for the fields that go into paths and index keys.
import { execFile } from 'node:child_process';
import { AirlockError } from '../../core/errors.js';
import { field, parseParagraphs, type Paragraph } from './deb822.js';

export interface DebPackage {
  package: string;
  /** Full version, epoch included (Policy §5.6.12). */
  version: string;
  architecture: string;
  /** Source package name (Policy §5.6.1), the package name when there is no Source field. */
  source: string;
  /** The control paragraph as the package states it. */
  control: Paragraph;
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/; // Policy §5.6.1
const VERSION = /^(?:[0-9]+:)?[0-9A-Za-z][0-9A-Za-z.+~:-]*$/; // Policy §5.6.12, loosely
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]*$/; // Policy §5.6.8

function readControl(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dpkg-deb', ['--info', path, 'control'], { maxBuffer: 1 << 20, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new AirlockError('E_TOOL_MISSING', 'dpkg-deb is needed to read .deb packages; install the dpkg package', { cause: err }));
      }
      reject(new AirlockError('E_DEB_INVALID', `${path} is not a readable .deb package; check the recipe that built it`, { cause: err, details: { stderr: stderr.slice(0, 2000) } }));
    });
  });
}

export function debPackageFromControl(controlText: string, path: string): DebPackage {
  let paragraphs: Paragraph[];
  try {
    paragraphs = parseParagraphs(controlText, `${path} control`);
  } catch (err) {
    throw new AirlockError('E_DEB_INVALID', `${path} has a malformed control file; check the recipe that built it`, { cause: err });
  }
  const control = paragraphs[0];
  if (paragraphs.length !== 1 || !control) throw new AirlockError('E_DEB_INVALID', `${path} must have exactly one control paragraph`);
  const pkg = field(control, 'Package') ?? '';
  const version = field(control, 'Version') ?? '';
  const architecture = field(control, 'Architecture') ?? '';
  const sourceField = (field(control, 'Source') ?? pkg).split(' ')[0] ?? '';
  const bad = [
    PACKAGE_NAME.test(pkg) ? undefined : 'Package',
    VERSION.test(version) ? undefined : 'Version',
    ARCHITECTURE.test(architecture) ? undefined : 'Architecture',
    PACKAGE_NAME.test(sourceField) ? undefined : 'Source',
  ].filter((f) => f !== undefined);
  if (bad.length > 0) {
    throw new AirlockError('E_DEB_INVALID', `${path} has missing or invalid control fields (${bad.join(', ')}); fix DEBIAN/control in the recipe`, { details: { fields: bad } });
  }
  return { package: pkg, version, architecture, source: sourceField, control };
}

export async function readDebPackage(path: string): Promise<DebPackage> {
  return debPackageFromControl(await readControl(path), path);
}

/** Pool path as Debian lays it out: pool/main/<prefix>/<source>/<package>_<version without epoch>_<arch>.deb, prefix "libx" for lib* sources. */
export function poolPath(p: DebPackage, component = 'main'): string {
  const prefix = p.source.startsWith('lib') && p.source.length > 3 ? p.source.slice(0, 4) : p.source.slice(0, 1);
  const version = p.version.replace(/^[0-9]+:/, '');
  return `pool/${component}/${prefix}/${p.source}/${p.package}_${version}_${p.architecture}.deb`;
}
