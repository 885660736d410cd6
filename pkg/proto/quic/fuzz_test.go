package quic

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
)

// FuzzDatagram feeds (dir, length, bytes)* datagrams to a Parser. Seeds are
// the testdata flows; mutations of the encrypted bytes mostly exercise the
// header and decryption paths, the plaintext seeds below the frame parser.
func FuzzDatagram(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.datagrams"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		run(readDatagrams(raw), false)
		var c conn
		c.largest = [2]int64{-1, -1}
		p := NewParserLimits(nil, Limits{MaxCrypto: 4096, MaxFragments: 8, MaxConns: 2})
		// The raw bytes as a decrypted Initial payload too.
		p.frames(&c, proto.ToServer, raw, proto.Meta{})
		p.frames(&c, proto.ToClient, raw, proto.Meta{})
		chloTags(raw)
		// The raw bytes as a decrypted Certificate message of a connection.
		q := NewParserLimits(nil, Limits{MaxCrypto: 4096, MaxFragments: 8, MaxConns: 2})
		q.conns = []*conn{{largest: [2]int64{-1, -1}}}
		q.DecryptedCertificate(raw, proto.Meta{})
		q.End(proto.Meta{})
	})
}

// TestWriteFuzzSeeds refreshes the committed seed corpus with -update.
func TestWriteFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz")
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.datagrams"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		fuzzseed.Write(t, "FuzzDatagram", strings.TrimSuffix(filepath.Base(p), ".datagrams"), b)
	}
}
