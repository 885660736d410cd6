package upgrade

import (
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// fake switches to "tls" once it has seen the line "STARTTLS".
type fake struct {
	data, gaps, ends int
	kind             string
}

func (f *fake) Data(dir proto.Dir, b []byte, m proto.Meta) {
	f.data++
	if string(b) == "STARTTLS" {
		f.kind = "tls"
	}
}
func (f *fake) Gap(dir proto.Dir, n int, m proto.Meta) { f.gaps++ }
func (f *fake) End(m proto.Meta)                       { f.ends++ }
func (f *fake) Tunnel() (string, []byte, []byte) {
	if f.kind == "" {
		return "", nil, nil
	}
	return f.kind, []byte("hello"), nil
}

func TestSwitchEndsTheParserOnce(t *testing.T) {
	p, s := &fake{}, &prototest.Sink{}
	u := &Stream{P: p, S: s}
	u.Data(proto.ToServer, []byte("EHLO"), proto.Meta{})
	u.Gap(proto.ToClient, 3, proto.Meta{})
	if len(s.Switches) != 0 || p.ends != 0 {
		t.Fatalf("switched before STARTTLS: %+v, ends %d", s.Switches, p.ends)
	}
	u.Data(proto.ToServer, []byte("STARTTLS"), proto.Meta{Frame: 7})
	u.Data(proto.ToServer, []byte("ciphertext"), proto.Meta{})
	u.Gap(proto.ToServer, 9, proto.Meta{})
	u.End(proto.Meta{})
	if p.data != 2 || p.gaps != 1 || p.ends != 1 {
		t.Errorf("parser saw data %d, gaps %d, ends %d; want 2, 1, 1", p.data, p.gaps, p.ends)
	}
	if len(s.Switches) != 1 || s.Switches[0].To != "tls" || string(s.Switches[0].Up) != "hello" || s.Switches[0].Meta.Frame != 7 {
		t.Errorf("switches %+v; want one to tls with the pending bytes at frame 7", s.Switches)
	}
}
