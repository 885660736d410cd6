package tlsdecrypt

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/phonehome/phonehome/pkg/keylog"
)

// followBlock is one connection of tshark's "-z follow,tls,raw,N": the
// decrypted bytes of each direction. Lines indented with a tab are from
// the node that is not node 0.
type followBlock struct {
	node0 netip.AddrPort
	data  [2][]byte
}

func followTruth(t *testing.T, path string) []followBlock {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []followBlock
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Filter: ") {
			out = append(out, followBlock{})
			continue
		}
		if len(out) == 0 {
			continue
		}
		cur := &out[len(out)-1]
		if rest, ok := strings.CutPrefix(line, "Node 0: "); ok {
			cur.node0, _ = netip.ParseAddrPort(rest)
			continue
		}
		side := 0
		if strings.HasPrefix(line, "\t") {
			side = 1
		}
		h, err := hex.DecodeString(strings.TrimSpace(line))
		if err != nil || strings.TrimSpace(line) == "" {
			continue
		}
		cur.data[side] = append(cur.data[side], h...)
	}
	return out
}

// h2Requests reads the HTTP/2 requests of a client's plaintext.
func h2Requests(t *testing.T, b []byte) []request {
	t.Helper()
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	if !bytes.HasPrefix(b, []byte(preface)) {
		t.Fatalf("no HTTP/2 preface")
	}
	fr := http2.NewFramer(io.Discard, bytes.NewReader(b[len(preface):]))
	var out []request
	var cur request
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		switch f.Name {
		case ":method":
			cur.Method = f.Value
		case ":authority":
			cur.Host = f.Value
		case ":path":
			cur.URI = f.Value
		}
	})
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("http2: %v", err)
		}
		if h, ok := f.(*http2.HeadersFrame); ok {
			cur = request{}
			if _, err := dec.Write(h.HeaderBlockFragment()); err != nil {
				t.Fatal(err)
			}
			if err := dec.Close(); err != nil {
				t.Fatal(err)
			}
			out = append(out, cur)
		}
	}
}

// TestCapturesFromRealStacks decrypts the loopback captures recorded by
// fixtures/decrypt/make.sh (curl/OpenSSL against Go's crypto/tls and
// against openssl s_server) and checks the plaintext of both directions
// byte for byte against tshark's decryption with the same key log, and the
// HTTP requests against tshark's HTTP and HTTP/2 dissection.
func TestCapturesFromRealStacks(t *testing.T) {
	pcaps, _ := filepath.Glob(filepath.Join("testdata", "*.pcap"))
	if len(pcaps) < 10 {
		t.Fatalf("only %d test captures", len(pcaps))
	}
	for _, p := range pcaps {
		name := strings.TrimSuffix(p, ".pcap")
		t.Run(filepath.Base(name), func(t *testing.T) {
			keys := loadKeys(t, name+".keys")
			checkCapture(t, p, name, keys)
		})
	}
	t.Run("pcapng DSB", func(t *testing.T) {
		f, err := os.Open(filepath.Join("testdata", "tls13-chacha20-dsb.pcapng"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		keys := keylog.New()
		n, err := keys.ReadPcapng(f)
		if err != nil || n != 1 || keys.Len() != 1 {
			t.Fatalf("DSBs %d, sessions %d, err %v", n, keys.Len(), err)
		}
		checkCapture(t, filepath.Join("testdata", "tls13-chacha20-dsb.pcapng"), filepath.Join("testdata", "tls13-chacha20"), keys)
	})
}

func checkCapture(t *testing.T, pcap, name string, keys *keylog.Log) {
	sessions := decryptCapture(t, pcap, keys)
	blocks := followTruth(t, name+".follow")
	if len(sessions) != len(blocks) {
		t.Fatalf("%d TCP connections, tshark follows %d", len(sessions), len(blocks))
	}
	var got []request
	for i, s := range sessions {
		t.Logf("%s suite %#04x: records %v, bytes %v, early %v, stops %v / %v", tlsName(s.status.Version), s.status.Suite, s.status.Records, s.status.Bytes, s.rec.early, s.rec.stops[0], s.rec.stops[1])
		want := blocks[i].data
		if blocks[i].node0 != s.conn.Client {
			want[0], want[1] = want[1], want[0]
		}
		for d := range 2 {
			if !bytes.Equal(s.rec.plain[d].Bytes(), want[d]) {
				t.Errorf("connection %d dir %d: %d plaintext bytes, tshark %d", i, d, s.rec.plain[d].Len(), len(want[d]))
			}
			// A fatal alert is a legitimate end (openssl s_server killed by
			// the script answers with one).
			if e := s.rec.stops[d]; !errors.Is(e, ErrClosed) && !errors.Is(e, ErrEnd) && !errors.Is(e, ErrAlert) {
				t.Errorf("connection %d dir %d: %v", i, d, e)
			}
		}
		if s.status.Records[0]+s.status.Records[1] == 0 {
			t.Errorf("connection %d: nothing decrypted", i)
		}
		c := s.rec.plain[0].Bytes()
		if bytes.HasPrefix(c, []byte("PRI * HTTP/2.0")) {
			got = append(got, h2Requests(t, c)...)
		} else if bytes.HasPrefix(c, []byte("GET ")) || bytes.HasPrefix(c, []byte("POST ")) {
			reqs, err := http1Requests(c)
			if err != nil {
				t.Error(err)
			}
			got = append(got, reqs...)
		}
	}
	if err := sameRequests(got, tsharkRequests(t, name+".http.json")); err != nil {
		t.Error(err)
	}
}

func tlsName(v uint16) string {
	switch v {
	case VersionTLS13:
		return "TLS1.3"
	case VersionTLS12:
		return "TLS1.2"
	}
	return "TLS?"
}
