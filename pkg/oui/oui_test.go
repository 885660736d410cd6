package oui

import (
	"net"
	"strings"
	"testing"
)

func mac(t testing.TB, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		mac  string
		want Info
	}{
		{"f4:f5:e8:12:34:56", Info{Vendor: "Google, Inc.", Block: BlockMAL}},
		{"3c:22:fb:00:00:01", Info{Vendor: "Apple, Inc.", Block: BlockMAL}},
		{"00:1b:63:aa:bb:cc", Info{Vendor: "Apple, Inc.", Block: BlockMAL}},
		{"b8:27:eb:01:02:03", Info{Vendor: "Raspberry Pi Foundation", Block: BlockMAL}},
		{"50:ec:50:01:02:03", Info{Vendor: "Beijing Xiaomi Mobile Software Co., Ltd", Block: BlockMAL}},
		// MA-M: 10:06:48:1x:xx:xx belongs to its own company, not to the
		// MA-L holder of 10:06:48.
		{"10:06:48:1a:bc:de", Info{Vendor: "KYTRONICS", Block: BlockMAM}},
		{"10:06:48:2a:bc:de", Info{Vendor: "Dynics", Block: BlockMAM}},
		// MA-S: 36-bit blocks under IEEE Registration Authority prefixes.
		{"70:b3:d5:f3:0a:bc", Info{Vendor: "ADE Technology Inc.", Block: BlockMAS}},
		{"8c:1f:64:00:a1:23", Info{Vendor: "TaskUnite Inc. (dba AMPAworks)", Block: BlockMAS}},
		// A Registration Authority block with no sub-block found names no
		// device maker.
		{"8c:1f:64:ff:ff:fe", Info{}},
		// "Private" registrations name nobody.
		{"10:00:00:12:34:56", Info{}},
		// Randomised (locally administered) addresses.
		{"da:a1:19:12:34:56", Info{Local: true}},
		{"02:00:00:00:00:01", Info{Local: true}},
		{"fe:ed:fa:ce:00:01", Info{Local: true}},
		// Pre-802 blocks registered with the local bit set are still named.
		{"aa:00:04:00:12:34", Info{Vendor: "DIGITAL EQUIPMENT CORPORATION", Block: BlockMAL, Local: true}},
		// Group addresses belong to the block with the I/G bit clear.
		{"01:00:5e:00:00:fb", Info{Vendor: "ICANN, IANA Department", Block: BlockMAL, Multicast: true}},
		{"33:33:00:00:00:fb", Info{Local: true, Multicast: true}},
		{"ff:ff:ff:ff:ff:ff", Info{Local: true, Multicast: true}},
		// EUI-64 uses its first 6 bytes.
		{"f4:f5:e8:ff:fe:12:34:56", Info{Vendor: "Google, Inc.", Block: BlockMAL}},
	}
	for _, tc := range tests {
		t.Run(tc.mac, func(t *testing.T) {
			m := mac(t, tc.mac)
			if got := Describe(m); got != tc.want {
				t.Fatalf("Describe = %+v, want %+v", got, tc.want)
			}
			v, ok := Lookup(m)
			if v != tc.want.Vendor || ok != (tc.want.Vendor != "") {
				t.Errorf("Lookup = %q, %v", v, ok)
			}
			if Randomized(m) != tc.want.Local {
				t.Errorf("Randomized = %v", Randomized(m))
			}
		})
	}
	for _, short := range []net.HardwareAddr{nil, {0xf4, 0xf5, 0xe8}} {
		if got := Describe(short); got != (Info{}) {
			t.Errorf("Describe(%v) = %+v", short, got)
		}
	}
}

func TestVersion(t *testing.T) {
	v := Version()
	if v.Kind != "oui" || !strings.HasPrefix(v.Source, "embedded: npm oui-data ") || len(v.Version) != len("2006-01-02") || v.License == "" {
		t.Errorf("Version = %+v", v)
	}
}

func TestLookupAllocs(t *testing.T) {
	m := mac(t, "70:b3:d5:f3:0a:bc")
	Lookup(m)
	if n := testing.AllocsPerRun(100, func() { Lookup(m) }); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
}

func BenchmarkLookup(b *testing.B) {
	macs := []net.HardwareAddr{mac(b, "f4:f5:e8:12:34:56"), mac(b, "70:b3:d5:f3:0a:bc"), mac(b, "da:a1:19:12:34:56"), mac(b, "10:06:48:1a:bc:de")}
	Lookup(macs[0])
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Lookup(macs[i&3])
		i++
	}
}

func BenchmarkLoadEmbedded(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(embeddedData)))
	for b.Loop() {
		if _, err := decodeEmbedded(); err != nil {
			b.Fatal(err)
		}
	}
}
