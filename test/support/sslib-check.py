# Reads airlock's TUF metadata with securesystemslib (the key and signature library of
# python-tuf): every key object in root.json must load as an SSlibKey, have the key id
# securesystemslib computes (SHA-256 of its canonical JSON), and every signature on the
# given metadata files must verify under it. Prints one JSON summary; exit 1 on any
# mismatch. Usage: python3 sslib-check.py ROOT.json METADATA.json...
import hashlib
import json
import sys

from securesystemslib.formats import encode_canonical
from securesystemslib.signer import Signature, SSlibKey

root = json.load(open(sys.argv[1], encoding="utf-8"))
keys = {}
problems = []
for keyid, key_dict in root["signed"]["keys"].items():
    key = SSlibKey.from_dict(keyid, dict(key_dict))
    computed = hashlib.sha256(encode_canonical(key.to_dict()).encode("utf-8")).hexdigest()
    if computed != keyid:
        problems.append(f"key id {keyid} is not securesystemslib's {computed}")
    keys[keyid] = key
verified = {}
for path in sys.argv[1:]:
    md = json.load(open(path, encoding="utf-8"))
    data = encode_canonical(md["signed"]).encode("utf-8")
    good = []
    for sig in md["signatures"]:
        key = keys.get(sig["keyid"])
        if key is None:
            continue
        try:
            key.verify_signature(Signature(sig["keyid"], sig["sig"]), data)
            good.append(sig["keyid"])
        except Exception as err:  # securesystemslib raises UnverifiedSignatureError and kin
            problems.append(f"{path}: signature by {sig['keyid']} does not verify ({type(err).__name__})")
    verified[path] = good
print(json.dumps({"keys": {k: [v.keytype, v.scheme] for k, v in keys.items()}, "verified": verified, "problems": problems}))
sys.exit(1 if problems else 0)
