#!/usr/bin/env bash
# Records browser-tls.pcap + browser-tls.keys: the three reporting requests
# of the browser-case scenario (fixtures/captures/browser-history.pcap,
# made by fixtures/gen: history + searches + app events + IMEI, the
# browser's in urlencode(base64(gzip(JSON)))) sent by a real TLS stack —
# curl (OpenSSL 3) with SSLKEYLOGFILE — to the Go HTTPS server
# fixtures/decrypt/httpsd, on the loopback only, captured with dumpcap.
# The request bodies, paths and headers are taken byte for byte from the
# HTTP fixture with tshark. Two sessions are TLS 1.3, one TLS 1.2.
#
# Each server listens on its own loopback address and the client binds
# 127.0.0.10; tcprewrite then maps the addresses to the HTTP fixture's
# (phone 192.168.1.23, servers in SG, RU, SG) and the ports to 443, so
# the report reads like the HTTP one. Only IP/TCP headers are rewritten
# (checksums fixed); the TLS bytes are as recorded.
# The truth beside it is tshark's, with the same key log:
# browser-tls.http.json (the decrypted HTTP requests).
#
# Usage: pkg/engine/testdata/browser-tls/make.sh
# Needs: go, curl, dumpcap, tshark, tcprewrite, xxd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
src=fixtures/captures/browser-history.pcap
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/httpsd" ./fixtures/decrypt/httpsd

# request STREAM: the raw bytes of the client's side of a TCP stream of
# the HTTP fixture (one request).
request() {
  tshark -r "$src" -q -z "follow,tcp,raw,$1" | sed -n '/^Node 1:/,/^====/p' | grep -v '^Node\|^====\|^	' | tr -d '\n' | xxd -r -p
}

# waitaddr IP PORT: until a socket listens there (from /proc/net/tcp, so
# no probe connection lands in the capture).
waitaddr() {
  local hex
  hex=$(printf '%02X%02X%02X%02X:%04X' $(echo "$1" | awk -F. '{print $4, $3, $2, $1}') "$2")
  for _ in $(seq 100); do
    grep -q "^ *[0-9]*: $hex 00000000:0000 0A" /proc/net/tcp && return 0
    sleep 0.1
  done
  echo "nothing listens on $1:$2" >&2; exit 1
}

# stream  loopback server  TLS flags
conns=(
  "0 127.0.0.2 --tlsv1.3"
  "1 127.0.0.3 --tls-max 1.2"
  "2 127.0.0.4 --tlsv1.3"
)
port=18501
for c in "${conns[@]}"; do
  set -- $c
  "$work/httpsd" -addr "$2:$port" & pids+=("$!")
  waitaddr "$2" "$port"
done

dumpcap -q -i lo -f "tcp port $port" -P -w "$work/raw.pcap" >/dev/null 2>&1 &
dc=$!
sleep 1.5
for c in "${conns[@]}"; do
  set -- $c
  st=$1 ip=$2; shift 2
  request "$st" > "$work/req"
  # Split the fixture's request into its line, headers and body.
  python3 -c 'import sys; h, b = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1); open(sys.argv[2], "wb").write(h.replace(b"\r", b"") + b"\n"); open(sys.argv[3], "wb").write(b)' \
    "$work/req" "$work/head" "$work/body"
  read -r method uri _ < "$work/head"
  host=$(sed -n 's/^Host: //p' "$work/head")
  hflags=()
  for h in User-Agent Content-Type Content-Encoding; do
    v=$(sed -n "s/^$h: //p" "$work/head")
    [ -n "$v" ] && hflags+=(-H "$h: $v")
  done
  SSLKEYLOGFILE="$work/keys" curl -sk "$@" --http1.1 --interface 127.0.0.10 \
    --resolve "$host:$port:$ip" -X "$method" "${hflags[@]}" -H 'Accept:' \
    --data-binary @"$work/body" "https://$host:$port$uri" -o /dev/null
  sleep 0.3
done
sleep 1
kill -INT "$dc"; wait "$dc" || true

tcprewrite -i "$work/raw.pcap" -o "$here/browser-tls.pcap" --fixcsum --portmap="$port:443" \
  --pnat="127.0.0.10:192.168.1.23,127.0.0.2:161.117.97.20,127.0.0.3:5.255.255.5,127.0.0.4:47.241.18.20"
cp "$work/keys" "$here/browser-tls.keys"
tshark -r "$here/browser-tls.pcap" -o "tls.keylog_file:$here/browser-tls.keys" -Y http.request -T json \
  -e frame.number -e tcp.stream -e ip.dst -e tls.record.version -e http.request.method -e http.host \
  -e http.request.uri > "$here/browser-tls.http.json"
ls -l "$here"
