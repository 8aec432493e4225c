#!/usr/bin/env bash
# Provision a release terminal on a fresh Debian (12 "bookworm" or later): install the
# toolchain airlock uses, build airlock from this checkout, and end with `airlock doctor`.
# Idempotent: installs only what is missing, builds only when the build is missing, and
# can be run again at any time. Run it while the machine is still online; take it
# offline before generating keys (doctor warns until then).
#
#   scripts/provision-terminal.sh [--dry-run] [-- DOCTOR-ARGS...]
#
#   --dry-run   print what would be installed or built; change nothing
#   DOCTOR-ARGS passed to `airlock doctor` (e.g. -- --strict, -- --keystore /media/keys)
#
# Exit: doctor's exit code (0, or 1 with --strict and warnings); 3 if this machine
# cannot be provisioned (not Debian, no root or sudo, Node too old).
set -euo pipefail

NODE_MINIMUM_MAJOR=20
NODE_MINIMUM_MINOR=11
# git: pinned checkouts; gnupg/gpgv: OpenPGP checks; minisign; dpkg-dev: .deb builds;
# util-linux: unshare for network-less builds; softhsm2/opensc: PKCS#11 tokens.
PACKAGES=(git gnupg gpgv minisign dpkg-dev coreutils util-linux ca-certificates softhsm2 opensc)

DRY_RUN=0
DOCTOR_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --) shift; DOCTOR_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "provision-terminal: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf 'provision: %s\n' "$*" >&2; }
fail() { printf 'provision: %s\n' "$*" >&2; exit 3; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

[ -r /etc/debian_version ] || fail "this script provisions Debian; install git, gnupg, gpgv, minisign, dpkg-dev and Node >= ${NODE_MINIMUM_MAJOR}.${NODE_MINIMUM_MINOR} by hand"

SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "run as root, or install sudo"
  SUDO=(sudo)
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local v major minor
  v="$(node -p 'process.versions.node' 2>/dev/null)" || return 1
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [ "$major" -gt "$NODE_MINIMUM_MAJOR" ] || { [ "$major" -eq "$NODE_MINIMUM_MAJOR" ] && [ "$minor" -ge "$NODE_MINIMUM_MINOR" ]; }
}

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if ! node_ok; then
  for p in nodejs npm; do installed "$p" || missing+=("$p"); done
fi

if [ ${#missing[@]} -eq 0 ]; then
  say "toolchain already installed (${PACKAGES[*]})"
elif [ "$DRY_RUN" = 1 ]; then
  say "would install: ${missing[*]}"
else
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$DRY_RUN" = 0 ] && ! node_ok; then
  fail "Node >= ${NODE_MINIMUM_MAJOR}.${NODE_MINIMUM_MINOR} is needed and this Debian's nodejs is older (bookworm ships 18).
  Install Node ${NODE_MINIMUM_MAJOR} from a source you verify (e.g. the nodejs.org tarball checked against its signed SHASUMS256.txt, or NodeSource's apt repository) and run this script again."
fi

if [ -f "$REPO/dist/cli/airlock.js" ] && [ -d "$REPO/node_modules" ]; then
  say "airlock already built in $REPO/dist"
elif [ "$DRY_RUN" = 1 ]; then
  say "would run: npm ci && npm run build (in $REPO)"
else
  say "building airlock in $REPO"
  (cd "$REPO" && npm ci --no-audit --no-fund && npm run build --silent)
fi

# The terminal home holds the keystore: private to its owner from the start.
AIRLOCK_HOME="${AIRLOCK_HOME:-$HOME/.airlock}"
if [ ! -d "$AIRLOCK_HOME" ]; then
  if [ "$DRY_RUN" = 1 ]; then
    say "would create $AIRLOCK_HOME (mode 0700)"
  else
    mkdir -p -m 0700 "$AIRLOCK_HOME"
    say "created $AIRLOCK_HOME (mode 0700)"
  fi
fi

if [ ! -f "$REPO/dist/cli/airlock.js" ]; then
  say "airlock is not built yet (dry run); nothing to run doctor with"
  exit 0
fi
say "running airlock doctor ${DOCTOR_ARGS[*]-}"
set +e
AIRLOCK_HOME="$AIRLOCK_HOME" node "$REPO/dist/cli/airlock.js" doctor ${DOCTOR_ARGS[@]+"${DOCTOR_ARGS[@]}"}
status=$?
set -e
if [ "$status" = 0 ]; then
  say "done; run \`node $REPO/dist/cli/airlock.js init\` (or link it as airlock) once the terminal is offline"
fi
exit "$status"
