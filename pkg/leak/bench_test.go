package leak

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/lab"
)

// benchDevices makes n known identifiers of mixed types.
func benchDevices(n int) []lab.Device {
	r := rand.New(rand.NewPCG(1, 2))
	var devs []lab.Device
	for i := 0; len(devs)*10 < n; i++ {
		d := lab.Device{ID: fmt.Sprintf("dev%d", i)}
		for j := 0; j < 10 && len(devs)*10+j < n; j++ {
			var id lab.Identifier
			switch j % 5 {
			case 0:
				id = lab.Identifier{Type: "imei", Value: genIMEI(r)}
			case 1:
				id = lab.Identifier{Type: "email", Value: fmt.Sprintf("user%d.%d@example.org", i, j)}
			case 2:
				id = lab.Identifier{Type: "android_id", Value: randHex(r, 16)}
			case 3:
				id = lab.Identifier{Type: "advertising_id", Value: genUUID(r)}
			case 4:
				id = lab.Identifier{Type: "serial", Value: strings.ToUpper(randHex(r, 10))}
			}
			d.Identifiers = append(d.Identifiers, id)
		}
		devs = append(devs, d)
	}
	return devs
}

// httpLike is an HTTP request with headers, a query and a JSON body
// holding no identifiers.
func httpLike(r *rand.Rand, size int) []byte {
	var b strings.Builder
	for b.Len() < size {
		fmt.Fprintf(&b, "POST /api/v2/events?app=com.example.shop&ver=%d.%d&ts=%d HTTP/1.1\r\nHost: telemetry.example.net\r\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android 11; M2003J15SC Build/RP1A.200720.011)\r\nContent-Type: application/json; charset=utf-8\r\nAccept-Encoding: gzip\r\nCookie: session=%s; lang=en\r\n\r\n", r.IntN(10), r.IntN(100), 1700000000+r.IntN(1e6), randHex(r, 24))
		fmt.Fprintf(&b, `{"events":[{"name":"screen_view","params":{"screen":"home","duration_ms":%d,"network":"wifi","battery":%d}},{"name":"click","params":{"button":"buy_now","price":%d.99,"currency":"EUR"}}],"sdk":"4.2.1","locale":"en_US"}`+"\r\n", r.IntN(5000), r.IntN(100), r.IntN(200))
	}
	return []byte(b.String()[:size])
}

func BenchmarkScan(b *testing.B) {
	for _, n := range []int{5, 50, 500} {
		b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
			s, err := NewScanner(benchDevices(n), Options{})
			if err != nil {
				b.Fatal(err)
			}
			data := httpLike(rand.New(rand.NewPCG(3, 4)), 64<<10)
			in := Input{Location: "tcp.payload", Data: data}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.Scan(in, func(Hit) {})
			}
		})
	}
}

func BenchmarkNewScanner50(b *testing.B) {
	devs := benchDevices(50)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := NewScanner(devs, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassifyPayload(b *testing.B) {
	data := httpLike(rand.New(rand.NewPCG(5, 6)), 16<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ClassifyPayload(data)
	}
}

func BenchmarkDetectXOR(b *testing.B) {
	s, err := NewScanner(benchDevices(50), Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := httpLike(rand.New(rand.NewPCG(7, 8)), 16<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.DetectXOR(data)
	}
}

// realShaped returns Scan inputs shaped like those the engine hands the
// scanner on the real-traffic bench (../shared/bench/make-real-bench, made
// from the shared corpus): by count, mostly short URL paths, DNS names and
// headers; by bytes, mostly form and XML bodies, query strings and opaque
// TCP/UDP payloads. The values are made up; the shapes (field layout,
// encodings, sizes) follow the corpus captures.
func realShaped() map[string][]Input {
	r := rand.New(rand.NewPCG(9, 10))
	lorem := strings.Repeat("Lorem+ipsum+dolor+sit+amet%2C+consetetur+sadipscing+elitr%2C+sed+diam+nonumy+eirmod+tempor+invidunt+ut+labore+et+dolore+magna+aliquyam+erat%2C+sed+diam+voluptua.+", 40)
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	return map[string][]Input{
		"query": {
			{Location: "url.query", Data: []byte("action=new&auth=00:1a:2b:3c:4d:5e&hash=" + randHex(r, 32) + "&mfgid=294928&currentfw=881&batterylvl=93&duration=300&zreboot=1&trigger=weather")},
			{Location: "url.query", Data: []byte("v=1&_v=j96&a=1829182&t=pageview&_s=1&dl=https%3A%2F%2Fwww.example.com%2Fshop%2Fitem%3Fid%3D42&ul=en-us&de=UTF-8&dt=Item&sd=24-bit&sr=1920x1080&vp=1903x937&je=0&_u=IEBAAEABAAAAAC~&jid=&gjid=&cid=" + fmt.Sprint(r.Uint32()) + ".1600000000&tid=UA-1234567-1&_gid=98765.1600000000&z=" + fmt.Sprint(r.Uint32()))},
			{Location: "url.query", Data: []byte("appid=com.example.weather&lat=52.5200&lon=13.4050&units=metric&lang=de&device_id=" + randHex(r, 16))},
		},
		"path":   {{Location: "url.path", Data: []byte("/api/v1/devices/register")}, {Location: "url.path", Data: []byte("/cgi-bin/luci/;stok=" + randHex(r, 32) + "/admin/status")}},
		"dns":    {{Location: "dns.qname", Data: []byte("connectivitycheck.gstatic.com")}, {Location: "dns.qname", Data: []byte("_spotify-connect._tcp.local")}},
		"agent":  {{Location: "header:User-Agent", Data: []byte("Dalvik/2.1.0 (Linux; U; Android 9; SM-G960F Build/PPR1.180610.011)")}, {Location: "header:User-Agent", Data: []byte("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")}},
		"cookie": {{Location: "header:Cookie", Data: []byte("_ga=GA1.2." + fmt.Sprint(r.Uint32()) + ".1600000000; _gid=GA1.2." + fmt.Sprint(r.Uint32()) + ".1600000000; sessionid=" + randHex(r, 32) + "; csrftoken=" + base64.StdEncoding.EncodeToString(random(24)))}},
		"form":   {{Location: "body", ContentType: "application/x-www-form-urlencoded", Data: []byte("say=Hi&to=Hi++" + lorem)}},
		"json":   {{Location: "body", ContentType: "application/x-www-form-urlencoded", Data: []byte(`{"devicetype":"iot","mac":"001A2B3C4D5E","fw":"1.0.4","uptime":86400,"wifi":{"ssid":"HomeNet","rssi":-61,"bssid":"00:1a:2b:3c:4d:5f"},"events":[{"type":"app_open","package":"com.example.app"}]}`)}},
		"xml":    {{Location: "body", ContentType: "text/xml;charset=utf-8", Data: []byte(`<?xml version='1.0' encoding='utf-8' ?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetDeviceSettings xmlns="http://purenetworks.com/HNAP1/"><DeviceName>router</DeviceName><SerialNumber>` + randHex(r, 12) + `</SerialNumber></GetDeviceSettings></soap:Body></soap:Envelope>`)}},
		"hex":    {{Location: "body", ContentType: "text/plain", Data: []byte(randHex(r, 128))}},
		"binary": {{Location: "tcp.payload", Data: random(1448)}, {Location: "udp.payload", Data: random(300)}, {Location: "body", ContentType: "application/octet-stream", Data: random(4096)}},
	}
}

// BenchmarkScanRealShaped scans each kind of real-shaped input with the
// generic detectors and no known values, as the bench runs.
func BenchmarkScanRealShaped(b *testing.B) {
	s, err := NewScanner(nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	kinds := realShaped()
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ins := kinds[k]
		b.Run(k, func(b *testing.B) {
			n := 0
			for _, in := range ins {
				n += len(in.Data)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for _, in := range ins {
					s.Scan(in, func(Hit) {})
				}
			}
		})
	}
}

// BenchmarkDetectXORHostile measures DetectXOR's cost per byte on the
// inputs that make it work hardest, none holding a hidden value: plain
// occurrences of known values every 15 bytes, all zeros, random bytes and
// HTTP text, at the 4 KiB sample the engine hands it and at its
// MaxXORInput limit.
func BenchmarkDetectXORHostile(b *testing.B) {
	s, err := NewScanner(benchDevices(50), Options{})
	if err != nil {
		b.Fatal(err)
	}
	// A payload repeating known values in plain: a match at every key
	// length that must be checked and passed over.
	plain, err := NewScanner([]lab.Device{{ID: "plain", Identifiers: []lab.Identifier{
		{Type: "serial", Value: "Q7XK2M9PLW4R"}, {Type: "serial", Value: "Q7XK2M9PLW4RZ8"},
	}}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, size := range []int{4 << 10, MaxXORInput} {
		random := make([]byte, size)
		for i := range random {
			random[i] = byte(r.Uint32())
		}
		for _, c := range []struct {
			name string
			s    *Scanner
			data []byte
		}{
			{"plain-repeats", plain, []byte(strings.Repeat("Q7XK2M9PLW4RZ8 ", size/15+1)[:size])},
			{"zeros", s, make([]byte, size)},
			{"random", s, random},
			{"http", s, httpLike(r, size)},
		} {
			b.Run(fmt.Sprintf("%s/%dKiB", c.name, size>>10), func(b *testing.B) {
				if _, _, ok := c.s.DetectXOR(c.data); ok {
					b.Fatal("found a value")
				}
				b.SetBytes(int64(len(c.data)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					c.s.DetectXOR(c.data)
				}
			})
		}
	}
}

// BenchmarkLooksEncrypted is the engine's test on each unknown payload
// (4 KiB of ciphertext-like bytes, computed in full).
func BenchmarkLooksEncrypted(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 7))
	data := make([]byte, 4<<10)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if !LooksEncrypted(data) {
			b.Fatal("random bytes not encrypted")
		}
	}
}
