#!/usr/bin/env bash
# Records doh-tls.pcap + doh-tls.keys: DNS over HTTPS inside TLS, then a
# connection to the answered address, with real stacks on the loopback
# only, captured with dumpcap:
#   - curl (OpenSSL 3, nghttp2) with SSLKEYLOGFILE resolves
#     tracker.phonehome.test over DoH (--doh-url, HTTP/2 inside TLS 1.3)
#     at the Go HTTPS server fixtures/decrypt/httpsd -doh on 127.0.0.2,
#     which answers A 127.0.0.3;
#   - curl then fetches gopher://tracker.phonehome.test:18522/... from a
#     Python TCP server on 127.0.0.3: a protocol that carries no server
#     name, so only the DoH answer can name that connection.
# The truth beside it is tshark's, with the same key log: doh-tls.dns.json
# (the DoH queries and answers tshark decrypts and dissects).
#
# Usage: pkg/engine/testdata/doh-tls/make.sh
# Needs: go, curl, python3, dumpcap, tshark.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/httpsd" ./fixtures/decrypt/httpsd

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

dohport=18521 gport=18522
"$work/httpsd" -addr "127.0.0.2:$dohport" -doh tracker.phonehome.test=127.0.0.3 & pids+=("$!")
python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.3", int('"$gport"'))); s.listen(1)
c, _ = s.accept(); c.recv(4096)
c.sendall(b"iregistered\tfake\t(NULL)\t0\r\n.\r\n"); c.close()
' & pids+=("$!")
waitaddr 127.0.0.2 "$dohport"
waitaddr 127.0.0.3 "$gport"

dumpcap -q -i lo -f "tcp port $dohport or tcp port $gport" -P -w "$work/raw.pcap" >/dev/null 2>&1 &
dc=$!
sleep 1.5
SSLKEYLOGFILE="$work/keys" curl -s --tlsv1.3 --doh-insecure --doh-url "https://dns.phonehome.test:$dohport/dns-query" \
  --resolve "dns.phonehome.test:$dohport:127.0.0.2" \
  "gopher://tracker.phonehome.test:$gport/1register?imei=356938035643809" -o /dev/null
sleep 1
kill -INT "$dc"; wait "$dc" || true

cp "$work/raw.pcap" "$here/doh-tls.pcap"
cp "$work/keys" "$here/doh-tls.keys"
tshark -r "$here/doh-tls.pcap" -o "tls.keylog_file:$here/doh-tls.keys" -Y dns -T json \
  -e frame.number -e tcp.stream -e dns.flags.response -e dns.qry.name -e dns.qry.type -e dns.a > "$here/doh-tls.dns.json"
ls -l "$here"
