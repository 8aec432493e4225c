// Who signs the apt Release across an OpenPGP key change (docs/rotation.md "The OpenPGP
// key and apt"). apt users pin the key in `signed-by=` and apt (2.6) accepts an InRelease
// when any one of its signatures is by a pinned key, saying nothing about the others. So
// after the pgp key changes, the earlier key keeps co-signing InRelease and Release.gpg —
// users who pinned it keep updating while they move to the new key (GitHub CLI rotated
// its apt key this way) — until the release manager ends the transition by listing it
// in airlock.json `apt.retiredKeys`.
//
// The state lives in what is published: the keys a transition still covers are those
// the copy's Release names in `Signed-By` (every key that signed it), so it starts by
// itself at the change and survives releases and refreshes without a file of its own.
// Retired keys leave Signed-By with the next Release and never come back.

export interface AptKeyTransition {
  /** The current pgp key's fingerprint: it signs first. */
  current: string;
  /** Earlier keys that co-sign, by fingerprint (held in the keystore). */
  cosigners: string[];
  /** Earlier keys apt users may pin that the keystore does not hold: their `apt-get update` fails from this Release on. */
  missing: string[];
  /** Earlier keys the Release named that airlock.json retires now: their users' updates fail from this Release on. */
  retiring: string[];
}

/**
 * `signedBy`: the fingerprints the copy's Releases name (every suite); `held`: the pgp
 * fingerprints the keystore holds; `retired`: airlock.json `apt.retiredKeys`.
 */
export function aptKeyTransition(input: { current: string; signedBy: readonly string[]; held: readonly string[]; retired: readonly string[] }): AptKeyTransition {
  const current = input.current.toUpperCase();
  const retired = new Set(input.retired.map((f) => f.toUpperCase()));
  const held = new Set(input.held.map((f) => f.toUpperCase()));
  const earlier = [...new Set(input.signedBy.map((f) => f.toUpperCase()))].filter((f) => f !== current);
  return {
    current,
    cosigners: earlier.filter((f) => !retired.has(f) && held.has(f)),
    missing: earlier.filter((f) => !retired.has(f) && !held.has(f)),
    retiring: earlier.filter((f) => retired.has(f)),
  };
}

/** What a plan says about the transition: loud lines for the release manager (empty when the key did not change). */
export function describeAptKeyTransition(t: AptKeyTransition): string[] {
  return [
    ...t.cosigners.map((f) => `apt: the earlier pgp key ${f} co-signs InRelease, so apt users who pinned it keep updating; tell them to fetch keys/release-signing.asc (new key ${t.current}), then end the transition: add ${f} to "retiredKeys" in airlock.json "apt"`),
    ...t.missing.map((f) => `WARNING apt: apt users pinning the earlier pgp key ${f} will fail \`apt-get update\` (NO_PUBKEY) from this Release on: the keystore does not hold that key to co-sign; tell them to fetch keys/release-signing.asc (new key ${t.current}), or bring the keystore or token that holds it`),
    ...t.retiring.map((f) => `apt: the transition for the earlier pgp key ${f} ends (airlock.json apt.retiredKeys): from this Release on only ${t.current} signs`),
  ];
}
