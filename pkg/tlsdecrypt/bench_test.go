package tlsdecrypt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
)

// recConn records what one side writes.
type recConn struct {
	net.Conn
	mu  *sync.Mutex
	ops *[]fuzzseed.Op
	dir proto.Dir
}

func (c recConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	*c.ops = append(*c.ops, fuzzseed.Op{Dir: c.dir, Data: append([]byte(nil), b...)})
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// goSession runs a Go crypto/tls client and server over an in-memory
// pipe, the client sending up bytes and the server down bytes, and returns
// the wire bytes in write order, the key log and what was sent.
func goSession(tb testing.TB, maxVersion uint16, suite uint16, up, down int) ([]fuzzseed.Op, *keylog.Log, [2][]byte) {
	tb.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"x"}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	var kl bytes.Buffer
	var mu sync.Mutex
	var ops []fuzzseed.Op
	c, s := net.Pipe()
	scfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MaxVersion: maxVersion}
	if suite != 0 {
		scfg.CipherSuites = []uint16{suite}
	}
	ccfg := &tls.Config{InsecureSkipVerify: true, KeyLogWriter: &kl, MaxVersion: maxVersion, CipherSuites: scfg.CipherSuites}
	var sent [2][]byte
	sent[0], sent[1] = make([]byte, up), make([]byte, down)
	rand.Read(sent[0])
	rand.Read(sent[1])
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := tls.Server(recConn{s, &mu, &ops, proto.ToClient}, scfg)
		if _, err := io.ReadFull(sc, make([]byte, up)); err != nil {
			tb.Error(err)
		}
		sc.Write(sent[1])
		sc.Close()
	}()
	cc := tls.Client(recConn{c, &mu, &ops, proto.ToServer}, ccfg)
	if _, err := cc.Write(sent[0]); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(cc, make([]byte, down)); err != nil {
		tb.Fatal(err)
	}
	go io.Copy(io.Discard, cc)
	wg.Wait()
	cc.Close()
	keys := keylog.New()
	if err := keys.Read(&kl, "go"); err != nil {
		tb.Fatal(err)
	}
	return ops, keys, sent
}

// TestGoCryptoTLS: Go's crypto/tls as a third independent stack, every
// suite it offers that this package supports, both directions.
func TestGoCryptoTLS(t *testing.T) {
	cases := []struct {
		name  string
		max   uint16
		suite uint16
	}{
		{"TLS1.3", tls.VersionTLS13, 0},
		{"ECDHE-ECDSA-AES128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"ECDHE-ECDSA-AES256-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"ECDHE-ECDSA-CHACHA20", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{"ECDHE-ECDSA-AES128-CBC-SHA", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
		{"ECDHE-ECDSA-AES256-CBC-SHA", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
		{"ECDHE-ECDSA-AES128-CBC-SHA256", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ops, keys, sent := goSession(t, tc.max, tc.suite, 100000, 70000)
			rec, st := run(t, keys, ops, DefaultLimits())
			for d := range 2 {
				if !bytes.Equal(rec.plain[d].Bytes(), sent[d]) {
					t.Errorf("dir %d: %d bytes, sent %d (%v)", d, rec.plain[d].Len(), len(sent[d]), rec.stops[d])
				}
			}
			if tc.suite != 0 && st.Suite != tc.suite {
				t.Errorf("suite %#04x", st.Suite)
			}
		})
	}
}

// BenchmarkDecrypt: decrypted application bytes per second (MB/s in the
// output) for 1 MiB up and 256 KiB down through one Stream.
func BenchmarkDecrypt(b *testing.B) {
	for _, tc := range []struct {
		name  string
		max   uint16
		suite uint16
	}{
		{"TLS1.3-AES128-GCM", tls.VersionTLS13, 0},
		{"TLS1.2-AES256-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"TLS1.2-CHACHA20", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{"TLS1.2-AES128-CBC-SHA", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ops, keys, sent := goSession(b, tc.max, tc.suite, 1<<20, 256<<10)
			b.SetBytes(int64(len(sent[0]) + len(sent[1])))
			b.ReportAllocs()
			h := discard{}
			for b.Loop() {
				s := New(keys, h, DefaultLimits())
				for _, o := range ops {
					s.Data(o.Dir, o.Data, proto.Meta{})
				}
				s.End(proto.Meta{})
			}
		})
	}
}

type discard struct{}

func (discard) Plaintext(Chunk)      {}
func (discard) Stopped(e *StopError) {}
