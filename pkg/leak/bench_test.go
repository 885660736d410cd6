package leak

import (
	"fmt"
	"math/rand/v2"
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
