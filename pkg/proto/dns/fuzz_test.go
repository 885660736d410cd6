package dns

import (
	"net/netip"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
)

// TestFuzzSeeds writes the hand-made cases as fuzz seed files with -update.
func TestFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz seeds")
	}
	for _, c := range parseCases() {
		fuzzseed.Write(t, "FuzzParse", c.name, c.msg)
		fuzzseed.Write(t, "FuzzStream", c.name, framed(c.msg, c.msg), uint16(len(c.msg)/2))
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range parseCases() {
		f.Add(c.msg)
	}
	var m Message
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Parse(b, &m)
		if (err == nil) == m.Partial {
			t.Fatalf("Partial %v with err %v", m.Partial, err)
		}
		for _, q := range m.Questions {
			if len(q.Name) == 0 || len(q.Name) > 4*MaxNameLen {
				t.Fatalf("question name length %d", len(q.Name))
			}
		}
		checkEventJSON(t, NewEvent(&m, "dns", err))
		checkRecordJSON(t, &m, "dns", err)
		checkAddressRecords(t, &m, NewEvent(&m, "dns", err))
		c := NewCache(2)
		c.Add(netip.IPv6Loopback(), &m, proto.Meta{})
		AddressNames(&m, func(a netip.Addr, _ string) {
			if !a.IsValid() || a.Is4In6() {
				t.Fatalf("AddressNames gave %v", a)
			}
		})
		DoHQuery(string(b))
		// Parsing again must give the same result.
		n := len(m.Questions) + len(m.Answers) + len(m.Authority) + len(m.Additional)
		err2 := Parse(b, &m)
		if (err == nil) != (err2 == nil) || n != len(m.Questions)+len(m.Answers)+len(m.Authority)+len(m.Additional) {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
	})
}

// FuzzStream checks that cutting a TCP stream anywhere does not change the
// messages it yields.
func FuzzStream(f *testing.F) {
	for _, c := range parseCases() {
		f.Add(framed(c.msg, c.msg), uint16(len(c.msg)/2))
	}
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		var whole, split []seen
		s := NewStream(collect(&whole))
		s.Data(proto.ToServer, b, proto.Meta{})
		s.End(proto.Meta{})
		k := int(cut) % (len(b) + 1)
		s2 := NewStream(collect(&split))
		s2.Data(proto.ToServer, b[:k], proto.Meta{})
		s2.Data(proto.ToServer, b[k:], proto.Meta{})
		s2.Gap(proto.ToClient, 5, proto.Meta{})
		s2.Data(proto.ToClient, b, proto.Meta{})
		s2.End(proto.Meta{})
		if len(split) < len(whole) {
			t.Fatalf("split gave %d messages, whole %d", len(split), len(whole))
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("message %d: %+v vs %+v", i, whole[i], split[i])
			}
		}
	})
}
