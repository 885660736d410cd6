package quicdecrypt

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto/http3"
)

// TestChromiumQPACKDynamicTable: Chromium (headless, a real HTTP/3 stack
// whose QPACK encoder uses the dynamic table) fetched one URL from the
// quicgen server, which advertised a QPACK table of 4096 bytes
// (fixtures/decrypt/make-chromium.sh). quic-go's QPACK has no dynamic
// table, so the server failed each request and Chromium retried it on new
// streams: tshark shows client HEADERS frames on streams 0, 4 and 8 and a
// QPACK encoder stream (type 2) on stream 10, but cannot decode QPACK. All
// three requests must come out whole: the URL asked for, with Chromium's
// headers, from sections that refer to the dynamic table.
func TestChromiumQPACKDynamicTable(t *testing.T) {
	base := filepath.Join("testdata", "chromium-h3-qpack")
	d, sink, _, _ := decodeQUIC(t, base+".pcap", loadKeys(t, base+".keys"), 19448)
	st := d.HTTP3().Stats()
	if st.EncoderBytes[0] == 0 || !st.Settings[0] || !st.Settings[1] || st.Dynamic != 3 {
		t.Fatalf("no encoder stream or SETTINGS: %+v", st)
	}
	var got []string
	for _, e := range sink.Events {
		ev := e.Fields.(*http3.Event)
		r := ev.Request
		if r == nil {
			t.Errorf("stream %d: no request, flags %v", ev.StreamID, ev.Flags)
			continue
		}
		ua := strings.Contains(r.UserAgent, "Chrome/")
		got = append(got, fmt.Sprintf("%d %s %s %s ua=%v", ev.StreamID, r.Method, r.Authority, r.URI, ua))
		for _, f := range ev.Flags {
			if f != "no-response" && f != "incomplete" {
				t.Errorf("stream %d: flag %s", ev.StreamID, f)
			}
		}
	}
	want := []string{
		"0 GET fixture.phonehome.test:19448 /track?imei=356938035643809&android_id=9774d56d682e549c ua=true",
		"4 GET fixture.phonehome.test:19448 /track?imei=356938035643809&android_id=9774d56d682e549c ua=true",
		"8 GET fixture.phonehome.test:19448 /track?imei=356938035643809&android_id=9774d56d682e549c ua=true",
	}
	if len(sink.Names) != 3 || sink.Names[0].Name != "fixture.phonehome.test" {
		t.Errorf("names %+v", sink.Names)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
