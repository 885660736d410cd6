package dns

import (
	"encoding/binary"
	"strings"
)

// builder assembles DNS wire messages for tests.
type builder struct{ b []byte }

func header(id, flags, qd, an, ns, ar uint16) *builder {
	w := &builder{}
	for _, v := range []uint16{id, flags, qd, an, ns, ar} {
		w.u16(v)
	}
	return w
}

func (w *builder) u16(v uint16) *builder { w.b = binary.BigEndian.AppendUint16(w.b, v); return w }
func (w *builder) u32(v uint32) *builder { w.b = binary.BigEndian.AppendUint32(w.b, v); return w }
func (w *builder) raw(p ...byte) *builder {
	w.b = append(w.b, p...)
	return w
}

// name writes s as uncompressed labels; a label "@NN" writes a pointer to
// offset NN and ends the name.
func (w *builder) name(s string) *builder {
	if s != "." && s != "" {
		for _, l := range strings.Split(s, ".") {
			if strings.HasPrefix(l, "@") {
				n := 0
				for _, c := range l[1:] {
					n = n*10 + int(c-'0')
				}
				return w.u16(0xC000 | uint16(n))
			}
			w.b = append(w.b, byte(len(l)))
			w.b = append(w.b, l...)
		}
	}
	w.b = append(w.b, 0)
	return w
}

func (w *builder) question(name string, t Type, class uint16) *builder {
	return w.name(name).u16(uint16(t)).u16(class)
}

// rr writes a record; rdata is produced by f on a sub-builder that shares the
// message so that compression pointers inside RDATA can be tested.
func (w *builder) rr(name string, t Type, class uint16, ttl uint32, f func(*builder)) *builder {
	w.name(name).u16(uint16(t)).u16(class).u32(ttl)
	at := len(w.b)
	w.u16(0)
	f(w)
	binary.BigEndian.PutUint16(w.b[at:], uint16(len(w.b)-at-2))
	return w
}

func txt(ss ...string) func(*builder) {
	return func(w *builder) {
		for _, s := range ss {
			w.raw(byte(len(s)))
			w.raw([]byte(s)...)
		}
	}
}

func rawData(p ...byte) func(*builder) { return func(w *builder) { w.raw(p...) } }
func nameData(s string) func(*builder) { return func(w *builder) { w.name(s) } }
