package dns

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"slices"
	"testing"
)

func TestIsDoHMedia(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/dns-message":               true,
		"Application/DNS-Message":               true,
		" application/dns-message ; charset=x":  true,
		"application/dns-message;x=1":           true,
		"application/dns-messages":              false,
		"application/dns":                       false,
		"application/json":                      false,
		"":                                      false,
		"text/plain; a=application/dns-message": false,
	} {
		if got := IsDoHMedia(ct); got != want {
			t.Errorf("IsDoHMedia(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestDoHQuery(t *testing.T) {
	msg := []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01")
	for _, tc := range []struct {
		in   string
		want []byte
	}{
		{base64.RawURLEncoding.EncodeToString(msg), msg},
		{base64.URLEncoding.EncodeToString(msg), msg}, // padding tolerated
		{"%%%", nil},
		{base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff}), nil}, // not the URL alphabet
	} {
		got, ok := DoHQuery(tc.in)
		if ok != (tc.want != nil) || !bytes.Equal(got, tc.want) {
			t.Errorf("DoHQuery(%q) = %x, %v; want %x", tc.in, got, ok, tc.want)
		}
	}
}

// TestAddressNames: the address/name pairs of a response are those Add
// records (first name of the CNAME chain, lower-cased; the additional
// section only without questions); queries and errors give none.
func TestAddressNames(t *testing.T) {
	byName := map[string][]byte{}
	for _, c := range parseCases() {
		byName[c.name] = c.msg
	}
	errResp := answer(t, "gone.example", "192.0.2.9")
	errResp.Rcode = 3
	for _, tc := range []struct {
		name string
		msg  *Message
		want []string
	}{
		{"cname chain", parse(t, byName["response-cname-chain"]), []string{"192.0.2.1=www.example.com", "192.0.2.2=www.example.com"}},
		{"aaaa", parse(t, byName["response-aaaa"]), []string{"2001:db8::1=ipv6.example.org"}},
		{"mdns announcement", parse(t, byName["mdns-announce"]), []string{"192.168.1.20=living-room.local", "fe80::20=living-room.local"}},
		{"query", parse(t, byName["query-a"]), nil},
		{"error response", errResp, nil},
		{"upper case", answer(t, "MiXed.Example", "192.0.2.5"), []string{"192.0.2.5=mixed.example"}},
	} {
		var got []string
		AddressNames(tc.msg, func(a netip.Addr, n string) { got = append(got, a.String()+"="+n) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func parse(t *testing.T, b []byte) *Message {
	t.Helper()
	var m Message
	if err := Parse(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}
