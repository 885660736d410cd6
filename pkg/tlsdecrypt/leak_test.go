package tlsdecrypt

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/proto"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
)

// TestPlantedIdentifiers: the identifiers fixtures/decrypt/make.sh planted
// in URLs, a header and a base64-in-JSON body are found by the project's
// leak scanner in the decrypted HTTP/1.1 requests (parsed by pkg/proto/http,
// scanned where the engine scans plaintext HTTP), and none without keys.
func TestPlantedIdentifiers(t *testing.T) {
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
	want := []string{
		"android_id url.query:android_id plain",
		"email header:X-Contact plain",
		"imei url.query:imei plain",
		"imsi body.json:$.data>$.imsi base64>plain",
		"phone body.json:$.data>$.msisdn base64>plain",
	}
	for _, name := range []string{"tls13-aes128gcm", "tls13-chacha20", "tls12-ecdhe-aes256gcm", "tls12-cbc-sha-mte", "tls12-cbc-sha256-mte", "tls12-rsa-aes128gcm"} {
		base := filepath.Join("testdata", name)
		for _, withKeys := range []bool{true, false} {
			keys := loadKeys(t, base+".keys")
			if !withKeys {
				keys = loadKeys(t, filepath.Join("testdata", "tls13-hrr.keys")) // another session's keys
			}
			var got []string
			for _, c := range pcaptest.Conns(t, base+".pcap") {
				inner := &Inner{P: phttp.New(phttp.DefaultLimits(), func(e *phttp.Event) {
					rq := e.Request
					if rq == nil {
						return
					}
					emit := func(h leak.Hit) {
						got = append(got, h.Identifier+" "+h.Location+" "+strings.Join(h.Encoding, ">"))
					}
					sc.Scan(leak.Input{Location: "url.query", Data: []byte(rq.RawQuery)}, emit)
					for _, h := range rq.Headers {
						sc.Scan(leak.Input{Location: "header:" + h.Name, Data: []byte(h.Value)}, emit)
					}
					if rq.Body != nil {
						sc.Scan(leak.Input{Location: "body", Data: rq.Body.Data, ContentType: rq.ContentType}, emit)
					}
				})}
				s := New(keys, inner, DefaultLimits())
				for _, ch := range c.Chunks {
					s.Data(ch.Dir, ch.Data, proto.Meta{Frame: ch.Frame})
				}
				s.End(proto.Meta{})
			}
			sort.Strings(got)
			if withKeys && strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s: hits\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !withKeys && len(got) > 0 {
				t.Errorf("%s without its keys: %v", name, got)
			}
		}
	}
}
