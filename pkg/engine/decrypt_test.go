package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
)

func readKeys(t testing.TB, paths ...string) *keylog.Log {
	t.Helper()
	l := keylog.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		err = l.Read(f, p)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// wrongKey reads a key log with the last hex digit of each secret changed.
func wrongKey(t testing.TB, path string) *keylog.Log {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			last := f[2][len(f[2])-1]
			f[2] = f[2][:len(f[2])-1] + map[bool]string{true: "1", false: "0"}[last == '0']
			line = strings.Join(f, " ")
		}
		out = append(out, line)
	}
	l := keylog.New()
	if err := l.Read(strings.NewReader(strings.Join(out, "\n")), "wrong"); err != nil {
		t.Fatal(err)
	}
	return l
}

// httpRequests lists the http events' requests of a report as
// "METHOD host uri" (HTTP/2 and HTTP/3 name the host :authority).
func httpRequests(t testing.TB, rep *audit.Report) []string {
	t.Helper()
	b, err := json.Marshal(rep.Events)
	if err != nil {
		t.Fatal(err)
	}
	var evs []struct {
		Type    string `json:"type"`
		Request *struct {
			Method, Host, Authority, URI string
		} `json:"request"`
	}
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Type == "http" && ev.Request != nil {
			out = append(out, ev.Request.Method+" "+ev.Request.Host+ev.Request.Authority+" "+ev.Request.URI)
		}
	}
	slices.Sort(out)
	return out
}

// tsharkHTTP reads the requests of a tshark -T json export with
// http.request.* and http2.headers.* fields.
func tsharkHTTP(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkts []struct {
		Source struct {
			Layers map[string][]string `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(b, &pkts); err != nil {
		t.Fatal(err)
	}
	at := func(s []string, i int) string {
		if i < len(s) {
			return s[i]
		}
		return ""
	}
	var out []string
	for _, p := range pkts {
		l := p.Source.Layers
		for i, m := range l["http.request.method"] {
			out = append(out, m+" "+at(l["http.host"], i)+" "+at(l["http.request.uri"], i))
		}
		for i, m := range l["http2.headers.method"] {
			out = append(out, m+" "+at(l["http2.headers.authority"], i)+" "+at(l["http2.headers.path"], i))
		}
	}
	slices.Sort(out)
	return out
}

// decryptionOf describes what a report says about decryption: the capture
// summary's counts and the channels of the destinations.
func decryptionOf(rep *audit.Report) string {
	var ch []string
	for _, d := range rep.Devices {
		for _, ds := range d.Destinations {
			if ds.Decryption != nil || strings.HasPrefix(ds.Channel, "TLS") || strings.HasPrefix(ds.Channel, "QUIC") {
				c := ds.Channel
				if info, ok := audit.Channel(c).Info(); !ok || info.Decrypted != strings.HasSuffix(c, " (decrypted)") || info.Plaintext {
					c += " (not in audit's vocabulary as decrypted)"
				}
				ch = append(ch, c)
			}
		}
	}
	slices.Sort(ch)
	ch = slices.Compact(ch)
	s := "no counts"
	if d := rep.Summary.Decryption; d != nil {
		s = fmt.Sprintf("decrypted %d, no key %d, failed %d %v", d.Decrypted, d.NoKey, d.Failed, d.Stopped)
	}
	return s + "; " + strings.Join(ch, ",")
}

// TestDecryptCorpus runs the shared corpus's real browser TLS 1.2
// captures through the engine: with their key logs (--keylog, or embedded
// in a pcapng by editcap), every HTTP request tshark decrypts is an http
// event (method, host, URI) and the destination is "TLS1.2 (decrypted)";
// with another capture's keys the session is counted "no key" and nothing
// is decrypted; without key logs the report has no decryption counts. The
// output is the same with 1 and 4 workers.
func TestDecryptCorpus(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("shared corpus not found (../shared/corpus or $PHONEHOME_CORPUS)")
	}
	names := []string{"tls-1.2-stream-keylog", "tls12-decryption"}
	for i, name := range names {
		base := filepath.Join(dir, "decrypt", name)
		if _, err := os.Stat(base + ".pcap"); err != nil {
			t.Skip("not in this corpus: ", err)
		}
		other := filepath.Join(dir, "decrypt", names[1-i]+".keys")
		want := tsharkHTTP(t, base+".http.json")
		dsb := ""
		if _, err := exec.LookPath("editcap"); err == nil {
			dsb = filepath.Join(t.TempDir(), name+".pcapng")
			if out, err := exec.Command("editcap", "--inject-secrets", "tls,"+base+".keys", base+".pcap", dsb).CombinedOutput(); err != nil {
				t.Fatalf("editcap: %v %s", err, out)
			}
		}
		for _, tc := range []struct {
			name, input string
			keys        *keylog.Log
			requests    []string
			decryption  string
		}{
			{"keylog", base + ".pcap", readKeys(t, base+".keys"), want, "decrypted 1, no key 0, failed 0 map[]; TLS1.2 (decrypted)"},
			{"pcapng secrets", dsb, nil, want, "decrypted 1, no key 0, failed 0 map[]; TLS1.2 (decrypted)"},
			{"other keys", base + ".pcap", readKeys(t, other), nil, "decrypted 0, no key 1, failed 0 map[]; TLS1.2"},
			{"wrong key", base + ".pcap", wrongKey(t, base+".keys"), nil, "decrypted 0, no key 0, failed 1 map[auth:1]; TLS1.2"},
			{"no keys", base + ".pcap", nil, nil, "no counts; TLS1.2"},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				if tc.input == "" {
					t.Skip("editcap not installed")
				}
				var outs [][]byte
				for _, workers := range []int{1, 4} {
					rep, err := Run(context.Background(), Config{Keys: tc.keys, KeepEvents: true, KeepFlows: true, ShowEvidence: true, Workers: workers}, []string{tc.input})
					if err != nil {
						t.Fatal(err)
					}
					if got := httpRequests(t, rep); strings.Join(got, "\n") != strings.Join(tc.requests, "\n") {
						t.Errorf("%d workers: requests\n%s\nwant (tshark)\n%s", workers, strings.Join(got, "\n"), strings.Join(tc.requests, "\n"))
					}
					if got := decryptionOf(rep); got != tc.decryption {
						t.Errorf("%d workers: %s, want %s", workers, got, tc.decryption)
					}
					warned := false
					for _, w := range rep.Warnings {
						warned = warned || w.Code == "decryption-auth"
					}
					if warned != strings.Contains(tc.decryption, "auth") {
						t.Errorf("%d workers: decryption-auth warning %v", workers, warned)
					}
					b, _ := json.Marshal(rep)
					outs = append(outs, b)
				}
				if !bytes.Equal(outs[0], outs[1]) {
					t.Error("1 and 4 workers give different reports")
				}
			})
		}
	}
}

// realStacks are the key-logged captures of real stacks recorded on the
// loopback (fixtures/decrypt): TLS 1.0-1.3 over TCP with tshark's
// decrypted requests as truth, and QUIC/HTTP/3 with the requests the
// clients were told to make (tshark 4.0 does not decode QPACK).
func realStacks(t *testing.T) (tlsPcaps, quicPcaps []string) {
	tlsPcaps, _ = filepath.Glob(filepath.Join("..", "tlsdecrypt", "testdata", "*.pcap"))
	quicPcaps, _ = filepath.Glob(filepath.Join("..", "quicdecrypt", "testdata", "*.pcap"))
	if len(tlsPcaps) == 0 || len(quicPcaps) == 0 {
		t.Fatal("no captures in pkg/tlsdecrypt/testdata or pkg/quicdecrypt/testdata")
	}
	return tlsPcaps, quicPcaps
}

// TestDecryptRealStacks: through the engine, every HTTP/1.x and HTTP/2
// request tshark decrypts in the TLS captures is an http event, every
// HTTP/3 request of the QUIC captures too, and each session is counted
// decrypted.
func TestDecryptRealStacks(t *testing.T) {
	tlsPcaps, quicPcaps := realStacks(t)
	quicWant := func(name string) []string {
		host := map[string]string{"quic-v1-h3": "19443", "quic-v2-h3": "19444", "quic-v1-h3-nogso": "19445", "quic-v1-h3-retry": "19446", "quic-v1-h3-keyupdate": "19447"}[name]
		if strings.HasPrefix(name, "quic-certcomp") {
			// openssl s_client -quic -alpn hq sends "GET /" as HTTP/0.9
			// (fixtures/decrypt/make-quic-certcomp.sh): no HTTP/3 request.
			return nil
		}
		if name == "chromium-h3-qpack" {
			r := "GET fixture.phonehome.test:19448 /track?imei=356938035643809&android_id=9774d56d682e549c"
			return []string{r, r, r}
		}
		w := []string{"GET 127.0.0.1:" + host + " /ping", "GET 127.0.0.1:" + host + " /track?imei=356938035643809&android_id=9774d56d682e549c", "POST 127.0.0.1:" + host + " /v1/collect"}
		if strings.HasSuffix(name, "keyupdate") {
			w = append(w, "GET 127.0.0.1:"+host+" /big")
		}
		slices.Sort(w)
		return w
	}
	total := 0
	for _, pcap := range append(tlsPcaps, quicPcaps...) {
		base := strings.TrimSuffix(pcap, ".pcap")
		name := filepath.Base(base)
		t.Run(name, func(t *testing.T) {
			var want []string
			if strings.Contains(pcap, "quicdecrypt") {
				want = quicWant(name)
			} else {
				want = tsharkHTTP(t, base+".http.json")
			}
			rep, err := Run(context.Background(), Config{Keys: readKeys(t, base+".keys"), KeepEvents: true, ShowEvidence: true}, []string{pcap})
			if err != nil {
				t.Fatal(err)
			}
			if got := httpRequests(t, rep); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			total += len(want)
			d := rep.Summary.Decryption
			if d == nil || d.Decrypted == 0 || d.NoKey+d.Failed > 0 || len(d.Stopped) > 0 {
				t.Errorf("decryption %s", decryptionOf(rep))
			}
		})
	}
	t.Logf("%d requests in %d captures", total, len(tlsPcaps)+len(quicPcaps))
}

// TestDecryptPlantedLeaks: the identifiers the fixtures planted in URLs, a
// header and base64-in-JSON bodies are leaks of the decrypted sessions,
// with their location and encoding, over TLS 1.3 and 1.2 (AEAD and CBC),
// HTTP/2 and HTTP/3; with another session's keys, none is reported and
// the sessions count as "no key".
func TestDecryptPlantedLeaks(t *testing.T) {
	devs := []lab.Device{{ID: "phone", Identifiers: []lab.Identifier{
		{Type: "imei", Value: "356938035643809"},
		{Type: "android_id", Value: "9774d56d682e549c"},
		{Type: "email", Value: "lab.user@example.com"},
		{Type: "imsi", Value: "262011234567890"},
		{Type: "phone", Value: "+4915112345678"},
	}}}
	sc, err := leak.NewScanner(devs, leak.Options{NoGeneric: true})
	if err != nil {
		t.Fatal(err)
	}
	all := "android_id url.query:android_id plain TLS1.3 (decrypted)|email header:X-Contact plain TLS1.3 (decrypted)|imei url.query:imei plain TLS1.3 (decrypted)|imsi body.json:$.data>$.imsi base64 > plain TLS1.3 (decrypted)|phone body.json:$.data>$.msisdn base64 > plain TLS1.3 (decrypted)"
	for _, tc := range []struct{ name, want string }{
		{"tlsdecrypt/testdata/tls13-aes128gcm", all},
		{"tlsdecrypt/testdata/tls13-chacha20", all},
		{"tlsdecrypt/testdata/tls13-h2", strings.ReplaceAll(all, "header:X-Contact", "header:x-contact")},
		{"tlsdecrypt/testdata/tls12-ecdhe-aes256gcm", strings.ReplaceAll(all, "TLS1.3", "TLS1.2")},
		{"tlsdecrypt/testdata/tls12-cbc-sha256-mte", strings.ReplaceAll(all, "TLS1.3", "TLS1.2")},
		{"quicdecrypt/testdata/quic-v1-h3", strings.ReplaceAll(strings.ReplaceAll(all, "TLS1.3", "QUIC"), "header:X-Contact", "header:x-contact")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join("..", tc.name)
			for _, withKeys := range []bool{true, false} {
				keys := readKeys(t, base+".keys")
				if !withKeys {
					keys = readKeys(t, filepath.Join("..", "tlsdecrypt", "testdata", "tls13-hrr.keys"))
				}
				rep, err := Run(context.Background(), Config{Keys: keys, Known: devs, Scanner: sc}, []string{base + ".pcap"})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range rep.Devices {
					for _, l := range d.Leaks {
						got = append(got, l.Identifier+" "+l.Location+" "+l.Encoding+" "+l.Dest.Channel)
					}
				}
				slices.Sort(got)
				want := tc.want
				if !withKeys {
					want = ""
					if d := rep.Summary.Decryption; d == nil || d.NoKey == 0 || d.Decrypted > 0 {
						t.Errorf("other keys: %s", decryptionOf(rep))
					}
				}
				if g := strings.Join(got, "|"); g != want {
					t.Errorf("keys %v: leaks\n%s\nwant\n%s", withKeys, strings.ReplaceAll(g, "|", "\n"), strings.ReplaceAll(want, "|", "\n"))
				}
			}
		})
	}
}

// TestDecryptSecretsMidRun: secrets that a pcapng block brings decrypt the
// sessions after the block, in that file and the next ones, not those
// before it; a session read before any secret existed counts as "no key"
// (before-keys). The same whatever the number of workers.
func TestDecryptSecretsMidRun(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("shared corpus not found (../shared/corpus or $PHONEHOME_CORPUS)")
	}
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap not installed")
	}
	a := filepath.Join(dir, "decrypt", "tls-1.2-stream-keylog")
	b := filepath.Join(dir, "decrypt", "tls12-decryption")
	tmp := t.TempDir()
	both := filepath.Join(tmp, "both.keys")
	ka, _ := os.ReadFile(a + ".keys")
	kb, _ := os.ReadFile(b + ".keys")
	if err := os.WriteFile(both, append(append(ka, '\n'), kb...), 0o600); err != nil {
		t.Fatal(err)
	}
	bDSB := filepath.Join(tmp, "b.pcapng")
	if out, err := exec.Command("editcap", "--inject-secrets", "tls,"+both, b+".pcap", bDSB).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v %s", err, out)
	}
	for _, tc := range []struct {
		name   string
		inputs []string
		want   string
	}{
		{"secrets first", []string{bDSB, a + ".pcap"}, "decrypted 2, no key 0, failed 0 map[]; TLS1.2 (decrypted)"},
		{"secrets second", []string{a + ".pcap", bDSB}, "decrypted 1, no key 1, failed 0 map[before-keys:1]; TLS1.2,TLS1.2 (decrypted)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var outs [][]byte
			for _, workers := range []int{1, 3} {
				rep, err := Run(context.Background(), Config{Workers: workers}, tc.inputs)
				if err != nil {
					t.Fatal(err)
				}
				if got := decryptionOf(rep); got != tc.want {
					t.Errorf("%d workers: %s, want %s", workers, got, tc.want)
				}
				js, _ := json.Marshal(rep)
				outs = append(outs, js)
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Error("1 and 3 workers give different reports")
			}
		})
	}
}
