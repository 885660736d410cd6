package leak

import (
	"slices"
	"testing"

	"github.com/phonehome/phonehome/pkg/lab"
)

// TestBareMAC: 12 hex digits are a MAC only when they spell one of the
// flow's link addresses or a neighbour of one in the same vendor block,
// in any case, not touching other hex digits; any other 12 hex digits are
// not reported.
func TestBareMAC(t *testing.T) {
	s, err := NewScanner(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wemo := [2][6]byte{{0x94, 0x10, 0x3e, 0x35, 0x01, 0xc1}, {0x00, 0xb5, 0x6d, 0x06, 0x08, 0xba}}
	tests := []struct {
		name, loc, data string
		macs            [2][6]byte
		want            []string
	}{
		{"turn username, base address", "stun.username", "94103E3501C0", wemo, []string{"mac=94:10:3e:35:01:c0"}},
		{"own address upper", "stun.username", "94103E3501C1", wemo, []string{"mac=94:10:3e:35:01:c1"}},
		{"own address lower", "body", "id=x&dev=94103e3501c1", wemo, []string{"mac=94:10:3e:35:01:c1"}},
		{"mixed case", "body", "94103e3501C1", wemo, []string{"mac=94:10:3e:35:01:c1"}},
		{"peer's address", "url.path", "/reg/00b56d0608ba/ok", wemo, []string{"mac=00:b5:6d:06:08:ba"}},
		{"three above", "body", "user 94103e3501c4.", wemo, []string{"mac=94:10:3e:35:01:c4"}},
		{"four above", "body", "user 94103e3501c5.", wemo, nil},
		{"across a byte", "body", "94103e350200", [2][6]byte{{0x94, 0x10, 0x3e, 0x35, 0x01, 0xff}}, []string{"mac=94:10:3e:35:02:00"}},
		{"other vendor block", "body", "94103f3501c1", wemo, nil},
		{"inside a longer hex string", "body", "a94103e3501c1", wemo, nil},
		{"followed by hex", "body", "94103e3501c1f", wemo, nil},
		{"in a uuid's node", "body", "ref 2f402f80-da50-11e1-9b23-94103e3501c1", wemo, []string{"mac=94:10:3e:35:01:c1"}},
		{"in a hash", "body", "fc9098f366b9b56f2e81d71dfb97c0f32a48a023", wemo, nil},
		{"any 12 hex digits", "stun.username", "0123456789AB", wemo, nil},
		{"no link addresses", "stun.username", "94103E3501C1", [2][6]byte{}, nil},
		{"short", "body", "94103e3501c", wemo, nil},
		{"bssid key", "body", `{"bssid":"00b56d0608ba"}`, wemo, []string{"bssid=00:b5:6d:06:08:ba"}},
		{"mac key, any address", "url.query", "mac=F8A45F0DE501", wemo, []string{"mac=f8:a4:5f:0d:e5:01"}},
		{"separated stays the keyless detector's", "body", "ap 94:10:3e:35:01:c1", wemo, []string{"mac=94:10:3e:35:01:c1"}},
		{"twice", "body", "94103e3501c1,94103E3501C1", wemo, []string{"mac=94:10:3e:35:01:c1"}},
		{"base64 layer", "body", "data=OTQxMDNFMzUwMUMx", wemo, []string{"mac=94:10:3e:35:01:c1"}},
		{"multicast peer ignored", "body", "01005e7ffffa", [2][6]byte{{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := hitStrings(scanAll(s, Input{Location: tc.loc, Data: []byte(tc.data), MACs: tc.macs}))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBareMACEncodingAndSpelling: the hit is plain, at the field, and its
// spelling is the text as sent, so reports mask it there.
func TestBareMACEncodingAndSpelling(t *testing.T) {
	s, err := NewScanner(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := scanAll(s, Input{Location: "stun.username", Data: []byte("94103E3501C0"), MACs: [2][6]byte{{0x94, 0x10, 0x3e, 0x35, 0x01, 0xc1}}})
	if len(hs) != 1 {
		t.Fatalf("%d hits: %v", len(hs), hitStrings(hs))
	}
	h := hs[0]
	if h.Known || h.Location != "stun.username" || !slices.Equal(h.Encoding, []string{"plain"}) || !slices.Equal(h.Spellings, []string{"94103E3501C0"}) || h.Offset != 0 {
		t.Errorf("hit %+v", h)
	}
}

// TestBareMACKnownDevice: with the MAC in the devices file the known path
// reports it (Known, the device's id) and the link-address detector adds
// no second row.
func TestBareMACKnownDevice(t *testing.T) {
	f, err := lab.Parse("devices.yaml", []byte("devices:\n  - id: plug\n    mac: \"94:10:3e:35:01:c1\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScanner(f.Devices, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range []string{"94103e3501c1", "94103E3501C1"} {
		hs := scanAll(s, Input{Location: "stun.username", Data: []byte(data), MACs: [2][6]byte{{0x94, 0x10, 0x3e, 0x35, 0x01, 0xc1}}})
		if len(hs) != 1 || !hs[0].Known || hs[0].DeviceID != "plug" || hs[0].Identifier != "mac" {
			t.Errorf("%s: %+v", data, hs)
		}
	}
}

// TestScanLinked: a Scan depends on the flow's MACs exactly when a layer
// holds 12 bare hex digits, with MACs or without, matching or not; the
// engine's memo remembers only inputs that do not.
func TestScanLinked(t *testing.T) {
	s, err := NewScanner(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wemo := [2][6]byte{{0x94, 0x10, 0x3e, 0x35, 0x01, 0xc1}}
	tests := []struct {
		data   string
		macs   [2][6]byte
		linked bool
	}{
		{"user 0123456789ab", wemo, true},
		{"user 0123456789ab", [2][6]byte{}, true},
		{"94103E3501C0", wemo, true},
		{"data=OTQxMDNFMzUwMUMx", [2][6]byte{}, true}, // 94103E3501C1 in a base64 layer
		{"0123456789abc and 0123456789a", wemo, false},
		{"GET /index.html Host: example.com", wemo, false},
		{"fc9098f366b9b56f2e81d71dfb97c0f32a48a023", wemo, false},
	}
	for _, tc := range tests {
		if got := s.ScanLinked(Input{Location: "body", Data: []byte(tc.data), MACs: tc.macs}, func(Hit) {}); got != tc.linked {
			t.Errorf("%q: linked %v, want %v", tc.data, got, tc.linked)
		}
	}
}
