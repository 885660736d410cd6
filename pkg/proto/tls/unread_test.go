package tls

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

// TestUnreadSinkNoFingerprints: a Stream whose sink reads no event fields
// reports every transcript's session as one whose sink does, but for the
// ClientHellos' fingerprints, which it leaves empty; the name, findings
// and everything else are the same.
func TestUnreadSinkNoFingerprints(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.transcript"))
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata")
	}
	run := func(sink proto.Sink, chunks []chunk) {
		s := NewStream(sink)
		for i, c := range chunks {
			s.Data(c.dir, c.data, proto.Meta{Frame: uint64(i + 1), Time: captureTime})
		}
		s.End(proto.Meta{Frame: uint64(len(chunks) + 1)})
	}
	hellos := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		read, unread := &eventSink{}, &unreadSink{}
		run(read, readTranscript(raw))
		run(unread, readTranscript(raw))
		if len(read.evs) != 1 || len(unread.evs) != 1 {
			t.Fatalf("%s: %d and %d events", f, len(read.evs), len(unread.evs))
		}
		want := *read.evs[0].Fields.(*Session)
		got := *unread.evs[0].Fields.(*Session)
		want.ClientHellos = append([]ClientHelloInfo(nil), want.ClientHellos...)
		for i := range want.ClientHellos {
			ch := &want.ClientHellos[i]
			if ch.JA3 == "" || ch.JA3Hash == "" || ch.JA4 == "" || ch.JA4Raw == "" {
				t.Errorf("%s: a read sink's ClientHello %d has no fingerprints", f, i)
			}
			ch.JA3, ch.JA3Hash, ch.JA4, ch.JA4Raw = "", "", "", ""
			hellos++
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: unread session\n%+v\nwant\n%+v", f, got, want)
		}
		if !reflect.DeepEqual(unread.Names, read.Names) || !reflect.DeepEqual(unread.Findings, read.Findings) {
			t.Errorf("%s: names or findings differ", f)
		}
	}
	if hellos == 0 {
		t.Fatal("no ClientHello in the transcripts")
	}
}
