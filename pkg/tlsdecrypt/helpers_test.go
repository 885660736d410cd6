package tlsdecrypt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

// recorder collects what a Stream delivers and checks the Handler
// contract: offsets contiguous per direction, Stopped once per direction.
type recorder struct {
	t     testing.TB
	plain [2]bytes.Buffer
	stops [2]*StopError
	early int
	certs [][]byte // decrypted TLS 1.3 Certificate messages
}

// Certificate records the message and reads it as the engine's handshake
// decoder does (CertificateHandler).
func (r *recorder) Certificate(msg []byte, m proto.Meta) {
	if len(msg) < 4 || msg[0] != ptls.TypeCertificate && msg[0] != ptls.TypeCompressedCertificate {
		r.t.Errorf("certificate message %x", msg[:min(len(msg), 8)])
	}
	r.certs = append(r.certs, bytes.Clone(msg))
	ptls.NewStream(nil).DecryptedCertificate(msg, m)
}

func (r *recorder) Plaintext(c Chunk) {
	if c.Offset != int64(r.plain[c.Dir].Len()) {
		r.t.Errorf("%s: chunk at offset %d, have %d bytes", c.Dir, c.Offset, r.plain[c.Dir].Len())
	}
	if r.stops[c.Dir] != nil {
		r.t.Errorf("%s: plaintext after stop", c.Dir)
	}
	if c.Early {
		r.early += len(c.Data)
	}
	r.plain[c.Dir].Write(c.Data)
}

func (r *recorder) Stopped(e *StopError) {
	if r.stops[e.Dir] != nil {
		r.t.Errorf("%s: stopped twice (%v, then %v)", e.Dir, r.stops[e.Dir], e)
	}
	r.stops[e.Dir] = e
}

func loadKeys(t testing.TB, path string) *keylog.Log {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := keylog.New()
	if err := l.Read(f, path); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Bad > 0 {
		t.Fatalf("%s: %d bad lines: %v", path, st.Bad, st.BadLines)
	}
	return l
}

// session is one decrypted TCP connection.
type session struct {
	conn   pcaptest.Conn
	rec    *recorder
	status Status
}

// decryptCapture runs every TCP connection of a capture through a Stream.
func decryptCapture(t testing.TB, pcap string, keys *keylog.Log) []session {
	t.Helper()
	var out []session
	for _, c := range pcaptest.Conns(t, pcap) {
		rec := &recorder{t: t}
		s := New(keys, rec, DefaultLimits())
		for _, ch := range c.Chunks {
			m := proto.Meta{Frame: ch.Frame}
			if ch.Gap > 0 {
				s.Gap(ch.Dir, ch.Gap, m)
			} else {
				s.Data(ch.Dir, ch.Data, m)
			}
		}
		s.End(proto.Meta{})
		for d := range rec.stops {
			if rec.stops[d] == nil {
				t.Errorf("%s: direction %d never stopped", c.Server, d)
			}
		}
		out = append(out, session{conn: c, rec: rec, status: s.Status()})
	}
	return out
}

// request is what the truth lists of an HTTP request.
type request struct{ Method, Host, URI string }

func (r request) String() string { return r.Method + " " + r.Host + r.URI }

// http1Requests parses a client's plaintext as HTTP/1.x requests.
func http1Requests(b []byte) ([]request, error) {
	var out []request
	br := bufio.NewReader(bytes.NewReader(b))
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return out, nil
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return out, err
		}
		out = append(out, request{req.Method, req.Host, req.RequestURI})
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return out, err
		}
	}
}

// tsharkRequests reads the truth: tshark -T json -e http.request.method
// -e http.host -e http.request.uri (and the http2 equivalents).
func tsharkRequests(t testing.TB, path string) []request {
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
	var out []request
	for _, p := range pkts {
		l := p.Source.Layers
		for i, m := range l["http.request.method"] {
			out = append(out, request{m, at(l["http.host"], i), at(l["http.request.uri"], i)})
		}
		for i, m := range l["http2.headers.method"] {
			out = append(out, request{m, at(l["http2.headers.authority"], i), at(l["http2.headers.path"], i)})
		}
	}
	return out
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// sameRequests compares two lists as multisets.
func sameRequests(got, want []request) error {
	g, w := fmt.Sprint(sorted(got)), fmt.Sprint(sorted(want))
	if g != w {
		return errors.New("requests differ:\n got  " + strings.ReplaceAll(g, " ", " ") + "\n want " + w)
	}
	return nil
}

func sorted(r []request) []string {
	var s []string
	for _, x := range r {
		s = append(s, x.String())
	}
	sort.Strings(s)
	return s
}
