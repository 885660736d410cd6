package http

import (
	"bytes"
	stdflate "compress/flate"
	stdgzip "compress/gzip"
	stdzlib "compress/zlib"
	"errors"
	"slices"
	"testing"
)

// encodings of data in the codings inflate reads with klauspost/compress:
// gzip (also as two members), zlib and raw DEFLATE (both "deflate").
func encodings(data []byte) map[string][]byte {
	var gz, gz2, zl, fl bytes.Buffer
	w := stdgzip.NewWriter(&gz)
	w.Write(data)
	w.Close()
	gz2.Write(gz.Bytes())
	gz2.Write(gz.Bytes())
	zw := stdzlib.NewWriter(&zl)
	zw.Write(data)
	zw.Close()
	fw, _ := stdflate.NewWriter(&fl, stdflate.BestSpeed)
	fw.Write(data)
	fw.Close()
	return map[string][]byte{"gzip": gz.Bytes(), "gzip, two members": gz2.Bytes(), "zlib": zl.Bytes(), "raw": fl.Bytes()}
}

// checkSameAsStd compares inflate's result for one coded body with the
// standard library decoders': the same bytes, the same count of bytes
// read (the bomb ratio), the same kind of error.
func checkSameAsStd(t *testing.T, name string, in []byte, max int) {
	t.Helper()
	coding := "deflate"
	if name == "gzip" || name == "gzip, two members" {
		coding = "gzip"
	}
	got, gotUsed, gotErr := inflate(coding, in, max)
	want, wantUsed, wantErr := inflateWith(&stdReaders, coding, in, max)
	if !bytes.Equal(got, want) || gotUsed != wantUsed || (gotErr == nil) != (wantErr == nil) || errors.Is(gotErr, errLimit) != errors.Is(wantErr, errLimit) {
		t.Errorf("%s, %d bytes in, max %d: %d bytes out, %d read, %v; standard library %d, %d, %v",
			name, len(in), max, len(got), gotUsed, gotErr, len(want), wantUsed, wantErr)
	}
	putBuf(got)
	putBuf(want)
}

func TestInflateMatchesStandardLibrary(t *testing.T) {
	text := bytes.Repeat([]byte("<html><body>some ordinary page text</body></html>\n"), 2000)
	for _, data := range [][]byte{nil, []byte("x"), text, noise(100 << 10), append(noise(5000), text...)} {
		for name, in := range encodings(data) {
			for _, max := range []int{1, 100, 64 << 10, 4 << 20} {
				checkSameAsStd(t, name, in, max)
			}
			// Damaged: cut short (where klauspost's decoder gives back
			// fewer bytes), a flipped byte in the middle, the checksum
			// wrong, garbage after the end.
			checkSameAsStd(t, name, in[:len(in)/2], 4<<20)
			bad := slices.Clone(in)
			bad[len(bad)/2] ^= 0x55
			checkSameAsStd(t, name, bad, 4<<20)
			bad = slices.Clone(in)
			bad[len(bad)-5] ^= 1
			checkSameAsStd(t, name, bad, 4<<20)
			checkSameAsStd(t, name, append(slices.Clone(in), "trailing garbage"...), 4<<20)
			// A second gzip member, whole and with its header cut short.
			checkSameAsStd(t, name, append(slices.Clone(in), in...), 4<<20)
			checkSameAsStd(t, name, append(slices.Clone(in), in[:5]...), 4<<20)
			checkSameAsStd(t, name, append(slices.Clone(in), "\x1f\x8b\x08\x37000000\x00\x00"...), 4<<20) // FEXTRA cut short
		}
	}
}

func FuzzInflate(f *testing.F) {
	for _, in := range encodings([]byte("hello, hello, hello world")) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, name := range []string{"gzip", "raw"} { // raw also reads zlib
			checkSameAsStd(t, name, in, 64<<10)
			checkSameAsStd(t, name, in, 100)
		}
		// The same bytes as a valid body, whole and cut short.
		for name, enc := range encodings(in) {
			checkSameAsStd(t, name, enc, 1000)
			checkSameAsStd(t, name, enc[:len(enc)*2/3], 1000)
		}
	})
}
