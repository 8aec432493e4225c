#!/usr/bin/env bash
# A throwaway one-node Ceph cluster with a RADOS Gateway on 127.0.0.1, for the S3 host
# tests and the S3 bench: 1 mon + 1 OSD (memstore: objects live in RAM) + radosgw (beast),
# no mgr, no systemd, every file under DIR. Started and stopped by PID.
#
#   scripts/ceph-rgw.sh start DIR MON_PORT RGW_PORT   → writes DIR/s3.env (endpoint, keys)
#   scripts/ceph-rgw.sh stop DIR                      → stops rgw, then osd, then mon
#
# Measured pitfalls of Ceph 16 (Debian 12) this works around: cephx keys are made in one
# keyring before `ceph-mon --mkfs`; pool size 1 needs `mon allow pool size one`; RGW
# makes 7 pools, so pg num 8 and a high `mon max pg per osd`; `paxos propose interval`
# 0.1 cuts radosgw's start from 9 s to 1 s; a nearly full CI disk must not stop the mon
# (`mon data avail crit`); memstore keeps deleted objects until RGW's garbage collection.
set -euo pipefail

usage() { echo "usage: $0 start DIR MON_PORT RGW_PORT | stop DIR" >&2; exit 2; }

wait_for() { # seconds, description, command...
  local limit=$1 what=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$end" ]; then echo "ceph-rgw: $what did not come up in ${limit}s; logs in $DIR/log" >&2; return 1; fi
    sleep 0.1
  done
}

stop_pid() { # pidfile
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || usage

if [ "$cmd" = stop ]; then
  DIR=$(cd "$DIR" 2>/dev/null && pwd) || exit 0
  for d in rgw osd mon; do stop_pid "$DIR/run/$d.pid"; done
  exit 0
fi
[ "$cmd" = start ] || usage
MON_PORT=${3:-}; RGW_PORT=${4:-}
[ -n "$MON_PORT" ] && [ -n "$RGW_PORT" ] || usage

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
mkdir -p "$DIR/mon" "$DIR/osd" "$DIR/run" "$DIR/log" "$DIR/rgw"
CONF=$DIR/ceph.conf
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
log to stderr = false
err to stderr = false
mon cluster log file = $DIR/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
paxos propose interval = 0.1
mon data avail crit = 1
mon data avail warn = 2
mon health to clog = false
osd objectstore = memstore
memstore device bytes = ${MEMSTORE_BYTES:-2147483648}
osd crush chooseleaf type = 0
osd data = $DIR/osd
mon data = $DIR/mon
[mon]
mon initial members = a
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw gc obj min wait = 10
rgw gc processor period = 10
rgw enable usage log = false
CONF

KR=$DIR/keyring
ceph-authtool --create-keyring "$KR" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$KR" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$KR" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' >/dev/null
ceph-authtool "$KR" --gen-key -n client.rgw --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
chmod 600 "$KR"
monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$KR" --mon-data "$DIR/mon"

CEPH=(ceph -c "$CONF" -n client.admin --connect-timeout 10)
ceph-mon -c "$CONF" -i a -f --mon-data "$DIR/mon" </dev/null >>"$DIR/log/mon.out" 2>&1 &
echo $! > "$DIR/run/mon.pid"
wait_for 90 "ceph-mon" "${CEPH[@]}" mon stat
"${CEPH[@]}" config set mon mon_warn_on_insecure_global_id_reclaim_allowed false >/dev/null 2>&1 || true
"${CEPH[@]}" health mute MGR_DOWN >/dev/null 2>&1 || true

OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
"${CEPH[@]}" osd new "$OSD_UUID" 0 -i /dev/null >/dev/null 2>&1 || "${CEPH[@]}" osd new "$OSD_UUID" >/dev/null
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" --osd-data "$DIR/osd" >>"$DIR/log/osd.out" 2>&1
ceph-osd -c "$CONF" -i 0 -f --osd-data "$DIR/osd" </dev/null >>"$DIR/log/osd.out" 2>&1 &
echo $! > "$DIR/run/osd.pid"
osd_up() { "${CEPH[@]}" osd dump 2>/dev/null | grep -q '^osd.0 up'; }
wait_for 90 "ceph-osd" osd_up

radosgw -c "$CONF" -n client.rgw -f </dev/null >>"$DIR/log/rgw.out" 2>&1 &
echo $! > "$DIR/run/rgw.pid"
rgw_up() { exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT"; }
wait_for 180 "radosgw" rgw_up

ACCESS=$(head -c 15 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
SECRET=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
radosgw-admin -c "$CONF" -n client.admin user create --uid=airlock --display-name=airlock \
  --access-key="$ACCESS" --secret-key="$SECRET" >/dev/null
umask 077
cat > "$DIR/s3.env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
AWS_ACCESS_KEY_ID=$ACCESS
AWS_SECRET_ACCESS_KEY=$SECRET
AWS_REGION=us-east-1
ENV
echo "ceph-rgw: radosgw on http://127.0.0.1:$RGW_PORT ($DIR/s3.env)"
