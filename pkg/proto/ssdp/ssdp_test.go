package ssdp

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
)

func crlf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n") }

type ssdpCase struct {
	name   string
	msg    []byte
	err    error
	detect bool
}

func cases() []ssdpCase {
	return []ssdpCase{
		{name: "notify-alive", detect: true, msg: crlf("NOTIFY * HTTP/1.1", "HOST: 239.255.255.250:1900",
			"CACHE-CONTROL: max-age=1800", "LOCATION: http://192.168.1.30:49152/description.xml",
			"NT: urn:schemas-upnp-org:device:MediaRenderer:1", "NTS: ssdp:alive",
			"SERVER: Linux/3.10 UPnP/1.0 Sonos/70.3-35220 (ZPS12)",
			"USN: uuid:RINCON_000E58A0B1C201400::urn:schemas-upnp-org:device:MediaRenderer:1",
			"X-RINCON-HOUSEHOLD: Sonos_abcdefghijklmnop")},
		{name: "m-search", detect: true, msg: crlf("M-SEARCH * HTTP/1.1", "HOST: 239.255.255.250:1900",
			`MAN: "ssdp:discover"`, "MX: 3", "ST: urn:dial-multiscreen-org:service:dial:1",
			"USER-AGENT: Google Chrome/120.0 Windows")},
		{name: "response-dial", detect: true, msg: crlf("HTTP/1.1 200 OK", "CACHE-CONTROL: max-age=1800",
			"EXT:", "LOCATION: http://192.168.1.44:8008/ssdp/device-desc.xml", "SERVER: Linux/3.8.13, UPnP/1.0, Portable SDK for UPnP devices/1.6.18",
			"ST: urn:dial-multiscreen-org:service:dial:1", "USN: uuid:3e1cc7c0-f4f3-b0c0-0000-00000000000a::urn:dial-multiscreen-org:service:dial:1",
			"FRIENDLY-NAME.DIAL-MULTISCREEN.ORG: Anna's TV", "BOOTID.UPNP.ORG: 7339")},
		{name: "lf-only-lowercase", detect: true, msg: []byte("NOTIFY * HTTP/1.1\nhost:239.255.255.250:1900\nnts:ssdp:byebye\nusn:uuid:1234\n\n")},
		{name: "no-blank-line", detect: true, msg: []byte("M-SEARCH * HTTP/1.1\r\nST: ssdp:all")},
		{name: "plain-http-response", err: nil, detect: false, msg: crlf("HTTP/1.1 200 OK", "Content-Type: text/html")},
		{name: "bad-status", err: ErrNotSSDP, msg: crlf("HTTP/1.1 abc OK", "ST: x")},
		{name: "get-request", err: ErrNotSSDP, msg: crlf("GET / HTTP/1.1", "Host: x")},
	}
}

func TestParseGolden(t *testing.T) {
	var m Message
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			err := Parse(c.msg, &m)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if got := Detect(c.msg); got != c.detect {
				t.Errorf("Detect = %v", got)
			}
			if err != nil {
				return
			}
			matchGolden(t, c.name, NewEvent(&m))
		})
	}
}

func matchGolden(t *testing.T, name string, v any) {
	t.Helper()
	golden.JSON(t, filepath.Join("testdata", "golden", name+".json"), v)
}

func TestMaxHeaders(t *testing.T) {
	var lines []string
	lines = append(lines, "NOTIFY * HTTP/1.1")
	for i := 0; i < 200; i++ {
		lines = append(lines, fmt.Sprintf("X-%d: v", i))
	}
	var m Message
	if err := Parse(crlf(lines...), &m); err != nil || len(m.Headers) != MaxHeaders || !m.Partial {
		t.Errorf("err %v, %d headers, partial %v", err, len(m.Headers), m.Partial)
	}
}

const description = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
    <deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>
    <friendlyName>Anna&apos;s Living Room</friendlyName>
    <manufacturer>Example Audio</manufacturer>
    <manufacturerURL>http://www.example.com</manufacturerURL>
    <modelName>Play:1</modelName>
    <modelNumber>S1</modelNumber>
    <serialNumber>00-0E-58-A0-B1-C2:4</serialNumber>
    <UDN>uuid:RINCON_000E58A0B1C201400</UDN>
    <deviceList><device><friendlyName>inner</friendlyName><serialNumber>nope</serialNumber></device></deviceList>
    <presentationURL>/status</presentationURL>
  </device>
</root>`

func TestParseDescription(t *testing.T) {
	cases := []struct {
		name string
		in   string
		err  bool
	}{
		{"sonos-like", description, false},
		{"html-entities-nonstrict", `<root><device><friendlyName>Caf&eacute; &amp; TV</friendlyName><modelName>X</device></root>`, false},
		{"truncated", description[:300], true},
		{"deep", strings.Repeat("<a>", 100), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseDescription([]byte(c.in))
			if (err != nil) != c.err {
				t.Fatalf("err = %v", err)
			}
			matchGolden(t, "description-"+c.name, d)
		})
	}
	if _, err := ParseDescription(make([]byte, MaxDescription+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large: %v", err)
	}
}

func TestFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz seeds")
	}
	for _, c := range cases() {
		fuzzseed.Write(t, "FuzzParse", c.name, c.msg)
	}
	fuzzseed.Write(t, "FuzzParseDescription", "sonos-like", []byte(description))
}

func FuzzParse(f *testing.F) {
	for _, c := range cases() {
		f.Add(c.msg)
	}
	var m Message
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := Parse(b, &m); err == nil {
			if len(m.Headers) > MaxHeaders {
				t.Fatal("too many headers")
			}
			if _, err := json.Marshal(NewEvent(&m)); err != nil {
				t.Fatal(err)
			}
		}
		Detect(b)
	})
}

func FuzzParseDescription(f *testing.F) {
	f.Add([]byte(description))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, _ := ParseDescription(b)
		if len(d.FriendlyName) > maxField+4 {
			t.Fatalf("field %d bytes", len(d.FriendlyName))
		}
	})
}

func BenchmarkParse(b *testing.B) {
	msg := cases()[0].msg
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := Parse(msg, &m); err != nil {
			b.Fatal(err)
		}
	}
}
