import type { Signer } from '../../keys/signer.js';
export interface AptRepositoryOptions { aptDir: string; debs: string[]; pgp: Signer; date: Date; origin: string; label: string }
export async function updateAptRepository(_opts: AptRepositoryOptions): Promise<string[]> {
  throw new Error('not yet');
}
