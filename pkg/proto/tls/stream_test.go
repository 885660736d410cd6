package tls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	stdtls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/proto"
)

// captureTime is the capture time fed in Meta; certificates are judged
// against it.
var captureTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// chunk is bytes sent in one direction, as one TCP segment would carry.
type chunk struct {
	dir  proto.Dir
	data []byte
}

// recorder wraps the client side of a connection and records both directions.
type recorder struct {
	net.Conn
	mu     sync.Mutex
	chunks []chunk
}

func (r *recorder) add(d proto.Dir, b []byte) {
	r.mu.Lock()
	r.chunks = append(r.chunks, chunk{d, bytes.Clone(b)})
	r.mu.Unlock()
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	if n > 0 {
		r.add(proto.ToClient, b[:n])
	}
	return n, err
}

func (r *recorder) Write(b []byte) (int, error) {
	r.add(proto.ToServer, b)
	return r.Conn.Write(b)
}

// loopback returns both ends of a TCP connection on 127.0.0.1 (kernel
// buffers avoid the lock-step deadlocks of net.Pipe in TLS 1.3 and HRR).
func loopback(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP: %v", err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	deadline := time.Now().Add(20 * time.Second)
	c.SetDeadline(deadline)
	r.c.SetDeadline(deadline)
	return c, r.c
}

// handshakeCase is one generated connection.
type handshakeCase struct {
	name   string
	client *stdtls.Config
	server *stdtls.Config
}

func makeCert(t testing.TB, cn string, sans []string, notBefore, notAfter time.Time) stdtls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x1234abcd),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Phonehome Test"}},
		DNSNames:     sans,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return stdtls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func handshakeCases(t testing.TB) []handshakeCase {
	valid := makeCert(t, "api.example.com", []string{"api.example.com", "*.example.com"},
		captureTime.AddDate(-1, 0, 0), captureTime.AddDate(1, 0, 0))
	expired := makeCert(t, "device.local", []string{"device.local"},
		captureTime.AddDate(-3, 0, 0), captureTime.AddDate(-1, 0, 0))
	srv := func(c stdtls.Certificate, mod func(*stdtls.Config)) *stdtls.Config {
		cfg := &stdtls.Config{Certificates: []stdtls.Certificate{c}, NextProtos: []string{"h2", "http/1.1"}}
		if mod != nil {
			mod(cfg)
		}
		return cfg
	}
	return []handshakeCase{
		{"tls13-alpn", &stdtls.Config{ServerName: "api.example.com", NextProtos: []string{"h2", "http/1.1"}, InsecureSkipVerify: true}, srv(valid, nil)},
		{"tls12-valid", &stdtls.Config{ServerName: "www.example.com", MaxVersion: stdtls.VersionTLS12, InsecureSkipVerify: true}, srv(valid, nil)},
		{"tls12-selfsigned-expired-mismatch", &stdtls.Config{ServerName: "cloud.example.net", MaxVersion: stdtls.VersionTLS12, InsecureSkipVerify: true}, srv(expired, nil)},
		{"tls10-no-sni", &stdtls.Config{MinVersion: stdtls.VersionTLS10, MaxVersion: stdtls.VersionTLS10, InsecureSkipVerify: true}, srv(valid, func(c *stdtls.Config) { c.MinVersion = stdtls.VersionTLS10 })},
		{"tls13-hrr", &stdtls.Config{ServerName: "hrr.example.com", InsecureSkipVerify: true}, srv(valid, func(c *stdtls.Config) { c.CurvePreferences = []stdtls.CurveID{stdtls.CurveP256} })},
	}
}

// runHandshake performs a real crypto/tls handshake over loopback TCP and
// returns the recorded bytes and the client's view of the connection.
func runHandshake(t testing.TB, hc handshakeCase) ([]chunk, stdtls.ConnectionState) {
	t.Helper()
	c, s := loopback(t)
	rec := &recorder{Conn: c}
	client := stdtls.Client(rec, hc.client)
	server := stdtls.Server(s, hc.server)
	errc := make(chan error, 1)
	go func() {
		err := server.Handshake()
		if err == nil {
			buf := make([]byte, 5)
			_, err = io.ReadFull(server, buf)
			if err == nil {
				_, err = server.Write([]byte("world"))
			}
		}
		if err != nil {
			s.Close()
		}
		errc <- err
	}()
	if err := client.Handshake(); err != nil {
		t.Fatalf("%s: server: %v", hc.name, <-errc)
		t.Fatalf("%s: client handshake: %v", hc.name, err)
	}
	werr := make(chan error, 1)
	go func() { _, err := client.Write([]byte("hello")); werr <- err }()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(client, buf); err != nil {
		t.Fatalf("%s: client read: %v; server: %v", hc.name, err, <-errc)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("%s: server: %v", hc.name, err)
	}
	st := client.ConnectionState()
	client.Close()
	server.Close()
	return rec.chunks, st
}

// feed runs a Stream over chunks, splitting each into pieces of at most
// step bytes (0: whole), and returns the emitted events.
func feed(chunks []chunk, step int) []audit.Event {
	sink := &eventSink{}
	s := NewStream(sink)
	for i, c := range chunks {
		m := proto.Meta{Frame: uint64(i + 1), Time: captureTime.Add(time.Duration(i) * time.Millisecond)}
		data := c.data
		for len(data) > 0 {
			n := len(data)
			if step > 0 {
				n = min(step, n)
			}
			s.Data(c.dir, data[:n], m)
			data = data[n:]
		}
	}
	s.End(proto.Meta{Frame: uint64(len(chunks) + 1)})
	return sink.evs
}

func TestStreamLiveHandshakes(t *testing.T) {
	for _, hc := range handshakeCases(t) {
		t.Run(hc.name, func(t *testing.T) {
			chunks, st := runHandshake(t, hc)
			for _, step := range []int{0, 1, 7} {
				evs := feed(chunks, step)
				if len(evs) != 1 {
					t.Fatalf("step %d: %d events", step, len(evs))
				}
				ss := evs[0].Fields.(*Session)
				if ss.SNI != hc.client.ServerName {
					t.Errorf("step %d: SNI %q, want %q", step, ss.SNI, hc.client.ServerName)
				}
				if ss.ServerHello == nil {
					t.Fatalf("step %d: no ServerHello", step)
				}
				if ss.ServerHello.Version != st.Version || ss.ServerHello.CipherSuite != st.CipherSuite {
					t.Errorf("step %d: version %#x cipher %#x, want %#x %#x", step, ss.ServerHello.Version, ss.ServerHello.CipherSuite, st.Version, st.CipherSuite)
				}
				if st.Version <= stdtls.VersionTLS12 && ss.ServerHello.ALPN != st.NegotiatedProtocol {
					t.Errorf("step %d: ALPN %q, want %q", step, ss.ServerHello.ALPN, st.NegotiatedProtocol)
				}
				if strings.HasSuffix(hc.name, "-hrr") && (ss.HelloRetry == nil || len(ss.ClientHellos) != 2) {
					t.Errorf("step %d: HRR %v, %d client hellos", step, ss.HelloRetry, len(ss.ClientHellos))
				}
				ch := ss.ClientHellos[0]
				if fmt.Sprint(ch.ALPN) != fmt.Sprint(hc.client.NextProtos) && len(hc.client.NextProtos) > 0 {
					t.Errorf("step %d: client ALPN %q", step, ch.ALPN)
				}
				if st.Version <= stdtls.VersionTLS12 {
					if len(ss.Certificates) != len(st.PeerCertificates) {
						t.Fatalf("step %d: %d certificates, want %d", step, len(ss.Certificates), len(st.PeerCertificates))
					}
					if ss.Certificates[0].CommonName != st.PeerCertificates[0].Subject.CommonName {
						t.Errorf("step %d: CN %q", step, ss.Certificates[0].CommonName)
					}
				} else if len(ss.Certificates) != 0 {
					t.Errorf("step %d: TLS 1.3 certificates must stay encrypted", step)
				}
				if ss.AppData[0] == 0 || ss.AppData[1] == 0 {
					t.Errorf("step %d: app data not counted: %v", step, ss.AppData)
				}
			}
		})
	}
}

// Transcript files: repeated [dir uint8][len uint32 BE][bytes].
func writeTranscript(path string, chunks []chunk) error {
	var b bytes.Buffer
	for _, c := range chunks {
		b.WriteByte(byte(c.dir))
		binary.Write(&b, binary.BigEndian, uint32(len(c.data)))
		b.Write(c.data)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func readTranscript(b []byte) []chunk {
	var out []chunk
	for len(b) >= 5 {
		n := int(binary.BigEndian.Uint32(b[1:5]))
		if n > len(b)-5 {
			n = len(b) - 5
		}
		out = append(out, chunk{proto.Dir(b[0] & 1), b[5 : 5+n]})
		b = b[5+n:]
	}
	return out
}

func TestStreamGolden(t *testing.T) {
	if golden.Update() {
		for _, hc := range handshakeCases(t) {
			chunks, _ := runHandshake(t, hc)
			if err := writeTranscript(filepath.Join("testdata", hc.name+".transcript"), chunks); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.transcript"))
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata")
	}
	for _, f := range files {
		name := filepath.Base(f[:len(f)-len(".transcript")])
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			whole := feed(readTranscript(raw), 0)
			bytewise := feed(readTranscript(raw), 1)
			got := marshalEvents(t, whole)
			if b := marshalEvents(t, bytewise); !bytes.Equal(got, b) {
				t.Errorf("byte-at-a-time output differs:\n%s\nvs\n%s", b, got)
			}
			goldenPath := filepath.Join("testdata", name+".golden")
			golden.Check(t, goldenPath, got)
		})
	}
}

func marshalEvents(t *testing.T, evs []audit.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, e := range evs {
		j, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
