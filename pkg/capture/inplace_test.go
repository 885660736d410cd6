package capture

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
)

// onlyReader hides a reader's other methods (bufio.Reader's), so the pcap
// reader takes its copying path.
type onlyReader struct{ io.Reader }

// TestPcapInPlaceSameRecords: records read in place from the bufio buffer
// are those the copying path reads, for every classic pcap of the dev
// corpus, with a small record cap (cut records) too.
func TestPcapInPlaceSameRecords(t *testing.T) {
	n := 0
	for _, e := range corpus.Dev(t) {
		raw, err := os.ReadFile(e.Path)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) < 24 || !isClassicPcap(raw) {
			continue
		}
		for _, maxRec := range []int{DefaultMaxRecord, 100} {
			inPlace, err1 := newPcapReader(bufio.NewReaderSize(bytes.NewReader(raw), bufSize), maxRec)
			copying, err2 := newPcapReader(onlyReader{bytes.NewReader(raw)}, maxRec)
			if err1 != nil || err2 != nil {
				break // not a classic pcap
			}
			if inPlace.br == nil || copying.br != nil {
				t.Fatal("the readers do not take the paths the test means")
			}
			n++
			for i := 0; ; i++ {
				d1, ci1, err1 := inPlace.ZeroCopyReadPacketData()
				d2, ci2, err2 := copying.ZeroCopyReadPacketData()
				if !bytes.Equal(d1, d2) || ci1.Timestamp != ci2.Timestamp || ci1.CaptureLength != ci2.CaptureLength ||
					ci1.Length != ci2.Length || (err1 == nil) != (err2 == nil) {
					t.Fatalf("%s, cap %d, record %d: in place %d bytes %+v %v, copied %d bytes %+v %v", e.Name(), maxRec, i, len(d1), ci1, err1, len(d2), ci2, err2)
				}
				if err1 != nil {
					break
				}
			}
			if inPlace.cut != copying.cut {
				t.Errorf("%s: cut records %+v, copying path %+v", e.Name(), inPlace.cut, copying.cut)
			}
		}
	}
	t.Logf("%d classic pcap captures read both ways", n)
}

func isClassicPcap(b []byte) bool {
	switch string(b[:4]) {
	case "\xd4\xc3\xb2\xa1", "\xa1\xb2\xc3\xd4", "\x4d\x3c\xb2\xa1", "\xa1\xb2\x3c\x4d":
		return true
	}
	return false
}
