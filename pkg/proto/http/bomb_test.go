package http

import (
	"bytes"
	"compress/gzip"
	"slices"
	"testing"
)

// TestBombRatioCountsTheBytesRead: a body is a bomb when what came out is
// over 100 times the compressed bytes read to make it. A long body at
// 1000:1 stops at the decoded cap long before its end; measured against
// the whole body it looked like 4:1 and was not counted.
func TestBombRatioCountsTheBytesRead(t *testing.T) {
	gz := func(data []byte) []byte {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	text := bytes.Repeat([]byte("a line of ordinary text, 42 bytes long.\n"), 200_000)
	for _, tc := range []struct {
		name     string
		body     []byte
		max      int
		bomb     bool
		limitHit bool
	}{
		{"zeros 1000:1, 64 MiB decoded", gz(make([]byte, 64<<20)), 1 << 20, true, true},
		{"zeros under the cap", gz(make([]byte, 1<<20)), 4 << 20, false, false},
		{"text over the cap", gz(text), 1 << 20, true, true},
		{"random-ish over the cap, low ratio", gz(noise(8 << 20)), 1 << 20, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, flags := decodeBody("gzip", tc.body, tc.max)
			if got := slices.Contains(flags, "bomb"); got != tc.bomb {
				t.Errorf("bomb = %v, want %v (flags %v, %d bytes in, %d out)", got, tc.bomb, flags, len(tc.body), len(out))
			}
			if got := slices.Contains(flags, "decoded-limit"); got != tc.limitHit {
				t.Errorf("decoded-limit = %v, want %v (flags %v)", got, tc.limitHit, flags)
			}
		})
	}
}

// noise is deterministic bytes gzip cannot shrink much.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// TestDecodeBodyCodings: the codings of a Content-Encoding are undone last
// to first, identity and empty entries are skipped, and more than
// maxEncodings of them leave the body as sent.
func TestDecodeBodyCodings(t *testing.T) {
	gz := func(data []byte) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	plain := []byte("hello, body")
	gz4 := gz(gz(gz(gz(plain))))
	gz5 := gz(gz4)
	for _, tc := range []struct {
		enc   string
		in    []byte
		out   []byte
		flags []string
	}{
		{"", plain, plain, nil},
		{"identity", plain, plain, nil},
		{" , IDENTITY ,", plain, plain, nil},
		{"GZip", gz(plain), plain, nil},
		{"identity, gzip,, identity", gz(plain), plain, nil},
		{"gzip,gzip,gzip,gzip", gz4, plain, nil},
		{"gzip, identity, gzip, gzip, identity, gzip", gz4, plain, nil},
		{"gzip,gzip,gzip,gzip,gzip", gz5, gz5, []string{"unknown-encoding"}},
		{"compress", plain, plain, []string{"unknown-encoding"}},
		{"gzip, compress", plain, plain, []string{"unknown-encoding"}},
	} {
		out, flags := decodeBody(tc.enc, tc.in, 1<<20)
		if !bytes.Equal(out, tc.out) || !slices.Equal(flags, tc.flags) {
			t.Errorf("decodeBody(%q) = %q %v, want %q %v", tc.enc, out, flags, tc.out, tc.flags)
		}
	}
}
