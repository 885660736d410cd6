package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadIssueShape(t *testing.T) {
	f, err := Load("testdata/issue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Devices) != 2 {
		t.Fatalf("devices = %d, want 2", len(f.Devices))
	}
	d := f.Devices[0]
	if d.ID != "phone" || d.Name != "Redmi Note 8" || d.MAC != "f8:a4:5f:0d:e5:01" || d.Model != "M1908C3JG" || d.OS != "MIUI 12" || d.Notes == "" {
		t.Errorf("device fields: %+v", d)
	}
	want := []string{"imei", "imsi", "iccid", "phone", "android_id", "advertising_id", "serial", "email", "ssid", "bssid", "gps"}
	if len(d.Identifiers) != len(want) {
		t.Fatalf("identifiers = %d, want %d", len(d.Identifiers), len(want))
	}
	for i, w := range want {
		if d.Identifiers[i].Type != w {
			t.Errorf("identifier %d = %q, want %q (file order)", i, d.Identifiers[i].Type, w)
		}
	}
	g := d.Identifiers[10]
	if g.Lat != 52.512544 || g.Lon != 13.325194 || g.Value != "52.512544,13.325194" {
		t.Errorf("gps = %+v", g)
	}
	c := f.Devices[1]
	if c.MAC != "f8:a4:5f:0d:e5:02" {
		t.Errorf("mac not normalised: %q", c.MAC)
	}
	if c.Identifiers[0].Type != "cloud_uid" || c.Identifiers[0].Value != "ACME-7731-XQ" {
		t.Errorf("opaque identifier: %+v", c.Identifiers[0])
	}
	if c.Identifiers[1].Value != "867891045582420" {
		t.Errorf("unquoted number kept as text: %+v", c.Identifiers[1])
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown device key", "devices:\n  - id: a\n    imei: \"1\"\n", "x.yaml:3:5: unknown device key \"imei\""},
		{"unknown top key", "device:\n  - id: a\n", "x.yaml:1:1: unknown top-level key"},
		{"missing devices", "version: 1\n", "missing key \"devices\""},
		{"devices not list", "devices: {}\n", "x.yaml:1:10: want \"devices\" as a list, found a mapping"},
		{"no id", "devices:\n  - name: a\n", "device without id"},
		{"duplicate id", "devices:\n  - id: a\n  - id: a\n", "duplicate device id"},
		{"bad mac", "devices:\n  - id: a\n    mac: zz\n", "x.yaml:3:10: mac \"zz\""},
		{"bad gps", "devices:\n  - id: a\n    identifiers:\n      gps: {lat: 95, lon: 1}\n", "lat in [-90,90]"},
		{"gps key", "devices:\n  - id: a\n    identifiers:\n      gps: {lat: 5, alt: 1}\n", "unknown gps key \"alt\""},
		{"empty value", "devices:\n  - id: a\n    identifiers:\n      imei: \"\"\n", "has no value"},
		{"dup identifier", "devices:\n  - id: a\n    identifiers:\n      imei: 1\n      IMEI: 2\n", "duplicate identifier"},
		{"identifiers list", "devices:\n  - id: a\n    identifiers: [1]\n", "mapping of name to value"},
		{"nested value", "devices:\n  - id: a\n    identifiers:\n      imei: [1]\n", "x.yaml:4:13: want identifier imei as a scalar, found a list"},
		{"not yaml", "devices: [\n", "x.yaml"},
		{"empty", "", "empty document"},
		{"scalar root", "hello\n", "want a mapping with key \"devices\" at the top level, found a scalar"},
		{"alias", "devices:\n  - &a {id: a}\n  - *a\n", "x.yaml:3:5: YAML aliases are not allowed"},
		{"two documents", "devices: []\n---\ndevices: []\n", "more than one YAML document"},
		{"key twice", "devices:\n  - id: a\n    mac: 00:11:22:33:44:55\n    mac: 00:11:22:33:44:66\n", "x.yaml:4:5: key \"mac\" given twice"},
		{"empty id", "devices:\n  - id: \"\"\n", "x.yaml:2:5: device with an empty id"},
		{"bad ip", "devices:\n  - id: a\n    ips: [10.0.0.1, ten]\n", "x.yaml:3:21: \"ten\" is not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %v does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestParseReportsEveryError: one run shows every mistake of the file, in
// file order, not only the first (the loader stopped at the first before).
func TestParseReportsEveryError(t *testing.T) {
	in := `devices:
  - id: phone
    imei: "1"
    mac: zz
  - name: no id
  - id: cam
    identifiers:
      gps: {lat: 95, lon: 1}
      imsi: [1]
  - id: phone
extra: 1
`
	want := []string{
		`x.yaml:3:5: unknown device key "imei"`,
		`x.yaml:4:10: mac "zz" is not a 48-bit MAC address`,
		`x.yaml:5:5: device without id`,
		`x.yaml:8:12: gps needs lat in [-90,90] and lon in [-180,180]`,
		`x.yaml:9:13: want identifier imsi as a scalar, found a list`,
		`x.yaml:10:5: duplicate device id "phone" (first on line 2)`,
		`x.yaml:11:1: unknown top-level key "extra"`,
	}
	_, err := Parse("x.yaml", []byte(in))
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, ErrFormat) {
		t.Errorf("%v does not wrap ErrFormat", err)
	}
	var got []string
	for _, line := range strings.Split(err.Error(), "\n") {
		got = append(got, strings.TrimPrefix(line, ErrFormat.Error()+": "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := Load("testdata/missing.yaml"); err == nil {
		t.Error("missing file: no error")
	}
	_, err := Load("testdata/bad-key.yaml")
	if err == nil || !strings.Contains(err.Error(), "testdata/bad-key.yaml:4:5") {
		t.Errorf("bad key error = %v, want file:line:col", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrFormat) {
		t.Errorf("oversized file: %v", err)
	}
}

func TestGPSString(t *testing.T) {
	f, err := Parse("x", []byte("devices:\n  - id: a\n    identifiers:\n      gps: \"52.5, 13.3\"\n      home: {lat: -33.8688, lng: 151.2093}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ids := f.Devices[0].Identifiers
	if ids[0].Lat != 52.5 || ids[0].Lon != 13.3 {
		t.Errorf("gps string: %+v", ids[0])
	}
	if ids[1].Type != "home" || ids[1].Lat != -33.8688 || ids[1].Lon != 151.2093 {
		t.Errorf("named coordinates: %+v", ids[1])
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/issue.yaml", "testdata/bad-key.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("devices:\n  - id: a\n    identifiers:\n      gps: {lat: 1, lon: 2}\n"))
	f.Add([]byte("devices: [{id: &a x, name: *a}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse("fuzz", b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		for _, d := range file.Devices {
			if d.ID == "" {
				t.Fatal("device without id accepted")
			}
			for _, id := range d.Identifiers {
				if id.Type == "" || id.Value == "" {
					t.Fatalf("empty identifier accepted: %+v", id)
				}
			}
		}
	})
}

func TestIPs(t *testing.T) {
	f, err := Parse("d.yaml", []byte("devices:\n  - id: p\n    ips: [\"10.215.173.1\", \"fd00::0001\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Devices[0].IPs; len(got) != 2 || got[0] != "10.215.173.1" || got[1] != "fd00::1" {
		t.Errorf("IPs = %q", got)
	}
	if _, err := Parse("d.yaml", []byte("devices:\n  - id: p\n    ips: [\"not-an-ip\"]\n")); err == nil || !strings.Contains(err.Error(), "d.yaml:3:") {
		t.Errorf("bad IP: err = %v, want a position", err)
	}
}
