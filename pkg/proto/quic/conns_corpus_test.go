package quic

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
)

// quicConns is the number of QUIC connections tshark 4.0 finds in each
// capture (distinct quic.connection.number; with the key log beside the
// capture where there is one). In every one of them the client's later
// Initials go to the server's Source Connection ID (or, in quic-go's
// captures, to a CID of the server's NEW_CONNECTION_ID frames), after a
// Retry in quic-retry and quic-v1-h3-retry (two Retries in each: the client
// follows the first). Each is one connection, not two.
var quicConns = map[string]int{
	"suricata-verify/ja4-quic.pcap":                            11,
	"suricata-verify/quic-frag-unordered.pcap":                 1,
	"suricata-verify/quic-retry.pcap":                          1,
	"suricata-verify/quic-v2.pcap":                             1,
	"tcpdump/quic_handshake.pcap":                              1,
	"zeek/quic/chromium-115.0.5790.110-api-cirrus-com.pcap":    1,
	"zeek/quic/firefox-102.13.0esr-blog-cloudflare-com.pcap":   1,
	"zeek/quic/interop/quic-go_quic-go/handshake.pcap":         1,
	"../../quicdecrypt/testdata/chromium-h3-qpack.pcap":        1,
	"../../quicdecrypt/testdata/quic-v1-h3.pcap":               1,
	"../../quicdecrypt/testdata/quic-v2-h3.pcap":               1,
	"../../quicdecrypt/testdata/quic-v1-h3-nogso.pcap":         1,
	"../../quicdecrypt/testdata/quic-v1-h3-retry.pcap":         1,
	"../../quicdecrypt/testdata/quic-v1-h3-keyupdate.pcap":     1,
	"../../quicdecrypt/testdata/quic-certcomp-zstd.pcap":       1,
	"../../quicdecrypt/testdata/quic-certcomp-zstd-retry.pcap": 1,
}

// tsharkConns are the captures where tshark 4.0 counts otherwise, and
// why. quic-certcomp-zstd-retry: OpenSSL's server sends two Retry packets
// and the client follows the first (its Initials go to that Retry's SCID,
// tshark's quic.dcid); tshark takes the second, decrypts none of the
// server's Initials after it, and counts the rest a second connection.
var tsharkConns = map[string]int{
	"../../quicdecrypt/testdata/quic-certcomp-zstd-retry.pcap": 2,
}

// TestCorpusConnections counts the connections a Parser reports per
// capture (a 5-tuple's later Initials must not open a second one) and
// checks that each that had a ClientHello in a decrypted Initial kept it;
// where tshark is installed, the recorded counts are checked against it.
func TestCorpusConnections(t *testing.T) {
	paths := map[string]string{}
	for name := range quicConns {
		if strings.HasPrefix(name, "../") {
			paths[name] = filepath.FromSlash(name)
		}
	}
	if corpus.Dir() != "" {
		for _, e := range corpus.All(t) {
			if _, ok := quicConns[e.Name()]; ok {
				paths[e.Name()] = e.Path
			}
		}
	}
	_, noTshark := exec.LookPath("tshark")
	names := make([]string, 0, len(paths))
	for name := range paths {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		path := paths[name]
		t.Run(name, func(t *testing.T) {
			var evs []audit.Event
			readUDP(t, path, collect(&evs))
			if len(evs) != quicConns[name] {
				t.Errorf("%d connections, want %d", len(evs), quicConns[name])
			}
			for _, ev := range evs {
				c := ev.Fields.(*Connection)
				if c.ClientHello == nil || c.SNI == "" && len(c.ALPN) == 0 {
					t.Errorf("frame %d: connection without its ClientHello: %+v", ev.Frame, c)
				}
				if c.UndecryptedInitial[0] != 0 {
					t.Errorf("frame %d: %d client Initials not decrypted", ev.Frame, c.UndecryptedInitial[0])
				}
			}
			if noTshark != nil {
				return
			}
			args := []string{"-r", path, "-Y", "quic", "-T", "fields", "-e", "quic.connection.number"}
			if keys := strings.TrimSuffix(path, ".pcap") + ".keys"; strings.HasPrefix(name, "../") {
				args = append(args, "-o", "tls.keylog_file:"+keys)
			}
			out, err := exec.Command("tshark", args...).Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			seen := map[string]bool{}
			for _, f := range strings.FieldsFunc(string(out), func(r rune) bool { return r == '\n' || r == ',' }) {
				seen[f] = true
			}
			want, ok := tsharkConns[name]
			if !ok {
				want = quicConns[name]
			}
			if len(seen) != want {
				t.Errorf("tshark finds %d connections, recorded %d", len(seen), want)
			}
		})
	}
}
