package mqtt

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

func BenchmarkParser(b *testing.B) {
	var up bytes.Buffer
	up.Write(connect(connectOpts{name: "MQTT", level: 4, id: "bench", user: ptr("u"), pass: ptr("p")}))
	for i := range 2000 {
		up.Write(publish(false, 1, i%65535+1, fmt.Sprintf("dev/%d/telemetry", i%16), `{"t":21.5,"h":40,"bat":97,"rssi":-61}`))
		if i%50 == 0 {
			up.Write(pkt(0xc0))
		}
	}
	data := up.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p := New(Limits{}, func(*Event) {})
		for d := data; len(d) > 0; {
			n := min(len(d), 1460)
			p.Data(proto.ToServer, d[:n], proto.Meta{})
			d = d[n:]
		}
		p.End(proto.Meta{})
	}
}

func BenchmarkDetect(b *testing.B) {
	in := connect(connectOpts{name: "MQTT", level: 4, id: "bench"})
	b.ReportAllocs()
	for b.Loop() {
		Detect(in)
	}
}
