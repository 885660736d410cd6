package mqtt

import (
	"slices"
	"testing"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// TestSpecReports: the client's fields go to the leak scan, a password
// raises a finding, and nothing the broker sends is scanned.
func TestSpecReports(t *testing.T) {
	tests := []struct {
		name     string
		up       [][]byte
		down     [][]byte
		scanned  []string
		findings []string
	}{
		{name: "connect with password, publish",
			up:       [][]byte{craft.MQTTConnect("dev-1", "u", "secret"), craft.MQTTPublish("t/1", []byte("{}"))},
			scanned:  []string{"mqtt.client_id=dev-1", "mqtt.username=u", "mqtt.password=secret", "mqtt.topic=t/1", "mqtt.payload={}"},
			findings: []string{"mqtt-password-cleartext"}},
		{name: "no password, broker publishes",
			up:      [][]byte{craft.MQTTConnect("dev-2", "", "")},
			down:    [][]byte{craft.MQTTPublish("down/1", []byte("x"))},
			scanned: []string{"mqtt.client_id=dev-2", "mqtt.username="}},
	}
	sp := Spec()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sp.Detect(proto.DetectInput{Up: tt.up[0]}) != proto.Yes {
				t.Fatal("CONNECT not detected")
			}
			var s prototest.Sink
			d := sp.New(&s).(proto.StreamDecoder)
			for i, b := range tt.up {
				d.Data(proto.ToServer, b, proto.Meta{Frame: uint64(i + 1)})
			}
			for i, b := range tt.down {
				d.Data(proto.ToClient, b, proto.Meta{Frame: uint64(i + 10)})
			}
			d.End(proto.Meta{Frame: 99})
			var got, kinds []string
			for _, f := range s.Fields {
				got = append(got, f.Location+"="+string(f.Data))
			}
			for _, f := range s.Findings {
				kinds = append(kinds, f.Kind)
			}
			if !slices.Equal(got, tt.scanned) || !slices.Equal(kinds, tt.findings) {
				t.Errorf("scanned %q findings %q, want %q %q", got, kinds, tt.scanned, tt.findings)
			}
			for _, ev := range s.Events {
				if e := ev.Fields.(*Event); e.Password != nil || e.Payload != nil {
					t.Errorf("event keeps password or payload after reporting: %+v", e)
				}
			}
		})
	}
}
