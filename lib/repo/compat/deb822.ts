// Debian control-file paragraphs (deb822), as used by a package's DEBIAN/control,
// apt's Packages indexes and Release files. Spec: Debian Policy §5.1 "Syntax of control
// files" (fields "Name: value", continuation lines begin with a space or tab,
// paragraphs separated by blank lines) and deb822(5).
import { AirlockError } from '../../core/errors.js';

/** One paragraph: fields in their order. A value holds continuation lines after "\n", each with its leading space. */
export type Paragraph = [name: string, value: string][];

export function field(p: Paragraph, name: string): string | undefined {
  const lower = name.toLowerCase();
  return p.find(([n]) => n.toLowerCase() === lower)?.[1];
}

export function parseParagraphs(text: string, what: string): Paragraph[] {
  const paragraphs: Paragraph[] = [];
  let current: Paragraph = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') {
      if (current.length > 0) paragraphs.push(current);
      current = [];
    } else if (line.startsWith(' ') || line.startsWith('\t')) {
      const last = current[current.length - 1];
      if (!last) throw new AirlockError('E_APT_INDEX', `${what}: line ${i + 1} continues a field that does not exist; the file is not a control file`);
      last[1] += `\n${line}`;
    } else if (!line.startsWith('#')) {
      const m = /^([!-9;-~][!-9;-~]*):[ \t]*(.*)$/.exec(line);
      if (!m) throw new AirlockError('E_APT_INDEX', `${what}: line ${i + 1} is not "Field: value"; the file is not a control file`);
      if (field(current, m[1]!) !== undefined) throw new AirlockError('E_APT_INDEX', `${what}: field ${m[1]} appears twice in one paragraph`);
      current.push([m[1]!, m[2]!.trimEnd()]);
    }
  }
  if (current.length > 0) paragraphs.push(current);
  return paragraphs;
}

export function formatParagraph(p: Paragraph): string {
  return p.map(([name, value]) => `${name}:${value.startsWith('\n') ? '' : ' '}${value}\n`).join('');
}

export function formatParagraphs(ps: readonly Paragraph[]): string {
  return ps.map(formatParagraph).join('\n');
}
