package coap

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/internal/sinktest"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// TestDecoderSink feeds the CoAP messages of the exchange (port 5683)
// to one decoder made from Spec and compares what it reported with a
// golden file.
func TestDecoderSink(t *testing.T) {
	s := &prototest.Sink{}
	d := Spec().New(s).(proto.DatagramDecoder)
	base := time.Unix(1700000000, 0)
	for i, dg := range exchange() {
		if dg.port != 0 {
			continue
		}
		dir := proto.ToClient
		if dg.up {
			dir = proto.ToServer
		}
		d.Datagram(dir, dg.data, proto.Meta{Frame: uint64(i + 1), Time: base.Add(time.Duration(i) * time.Millisecond)})
	}
	d.End(proto.Meta{})
	got := sinktest.Render(s)
	golden.Check(t, filepath.Join("testdata", "sink-exchange.golden"), []byte(got))
	if n := len(s.Names); n != 1 || s.Names[0].Name != "lwm2m.example.com" || s.Names[0].Source != proto.FromProtocol {
		t.Errorf("names %+v, want the register's Uri-Host once", s.Names)
	}
	if q := s.Scanned("coap.query"); len(q) != 1 || !strings.Contains(q[0], "ep=urn:imei:490154203237518") {
		t.Errorf("coap.query scanned %q", q)
	}
	for _, e := range s.Events {
		if ev := e.Fields.(*Event); e.Type != EventType || ev.Payload != nil {
			t.Errorf("emitted %s keeps its payload", e.Type)
		}
	}
}

func TestSpecDetect(t *testing.T) {
	var reg, hello []byte
	for _, dg := range exchange() {
		switch dg.name {
		case "register":
			reg = dg.data
		case "dtls-hello":
			hello = dg.data
		}
	}
	for _, tc := range []struct {
		name         string
		spec         proto.Spec
		up, down     []byte
		sport, cport uint16
		want         proto.Verdict
	}{
		{"coap to server", Spec(), reg, nil, Port, 49152, proto.Yes},
		{"coap from server port", Spec(), nil, reg, 49152, Port, proto.Yes},
		{"coap elsewhere", Spec(), reg, nil, 5000, 49152, proto.No},
		{"dtls on 5683", Spec(), hello, nil, Port, 49152, proto.No},
		{"not coap", Spec(), []byte("hello world"), nil, Port, 49152, proto.No},
		{"dtls", DTLSSpec(), hello, nil, PortDTLS, 49152, proto.Yes},
		{"dtls elsewhere", DTLSSpec(), hello, nil, 443, 49152, proto.No},
		{"coap on 5684", DTLSSpec(), reg, nil, PortDTLS, 49152, proto.No},
	} {
		in := proto.DetectInput{Up: tc.up, Down: tc.down, ServerPort: tc.sport, ClientPort: tc.cport}
		if got := tc.spec.Detect(in); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
	if s := DTLSSpec(); !s.Datagram || s.Channel != "CoAP/DTLS" {
		t.Errorf("DTLS spec %+v", s)
	}
}
