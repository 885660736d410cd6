package tlsdecrypt

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
)

// ops turns a capture's first TCP connection into stream calls.
func ops(t testing.TB, pcap string) []fuzzseed.Op {
	t.Helper()
	conns := pcaptest.Conns(t, pcap)
	if len(conns) == 0 {
		t.Fatalf("%s: no connections", pcap)
	}
	var out []fuzzseed.Op
	for _, c := range conns[0].Chunks {
		out = append(out, fuzzseed.Op{Dir: c.Dir, Data: c.Data, Gap: c.Gap})
	}
	return out
}

func run(t testing.TB, keys *keylog.Log, in []fuzzseed.Op, lim Limits) (*recorder, Status) {
	rec := &recorder{t: t}
	s := New(keys, rec, lim)
	for _, o := range in {
		if o.Gap > 0 {
			s.Gap(o.Dir, o.Gap, proto.Meta{})
		} else {
			s.Data(o.Dir, o.Data, proto.Meta{})
		}
	}
	s.End(proto.Meta{})
	for d, e := range rec.stops {
		if e == nil {
			t.Errorf("dir %d never stopped", d)
		}
	}
	return rec, s.Status()
}

// bytewise splits every call into one-byte calls.
func bytewise(in []fuzzseed.Op) []fuzzseed.Op {
	var out []fuzzseed.Op
	for _, o := range in {
		if o.Gap > 0 {
			out = append(out, o)
			continue
		}
		for i := range o.Data {
			out = append(out, fuzzseed.Op{Dir: o.Dir, Data: o.Data[i : i+1]})
		}
	}
	return out
}

// coalesce joins consecutive calls of one direction (several records per
// call).
func coalesce(in []fuzzseed.Op) []fuzzseed.Op {
	var out []fuzzseed.Op
	for _, o := range in {
		if n := len(out); n > 0 && o.Gap == 0 && out[n-1].Gap == 0 && out[n-1].Dir == o.Dir {
			out[n-1].Data = append(append([]byte(nil), out[n-1].Data...), o.Data...)
			continue
		}
		out = append(out, o)
	}
	return out
}

// clientFirst delivers all client bytes before any server byte: the
// client's records must wait for the ServerHello.
func clientFirst(in []fuzzseed.Op) []fuzzseed.Op {
	var c, s []fuzzseed.Op
	for _, o := range in {
		if o.Dir == proto.ToServer {
			c = append(c, o)
		} else {
			s = append(s, o)
		}
	}
	return append(c, s...)
}

// mutate returns in with the byte at offset off of direction dir's
// stream changed, or with a gap of n bytes there instead (gap true).
func mutate(in []fuzzseed.Op, dir proto.Dir, off int, gap bool) []fuzzseed.Op {
	var out []fuzzseed.Op
	pos := 0
	for _, o := range in {
		if o.Dir != dir || o.Gap > 0 || off < pos || off >= pos+len(o.Data) {
			if o.Dir == dir {
				pos += len(o.Data)
			}
			out = append(out, o)
			continue
		}
		i := off - pos
		pos += len(o.Data)
		if gap {
			out = append(out, fuzzseed.Op{Dir: dir, Data: o.Data[:i]}, fuzzseed.Op{Dir: dir, Gap: len(o.Data) - i})
			continue
		}
		d := append([]byte(nil), o.Data...)
		d[i] ^= 0x40
		out = append(out, fuzzseed.Op{Dir: dir, Data: d})
	}
	return out
}

func streamLen(in []fuzzseed.Op, dir proto.Dir) int {
	n := 0
	for _, o := range in {
		if o.Dir == dir {
			n += len(o.Data)
		}
	}
	return n
}

// TestDeliveryShapes: the same plaintext whatever the segmentation.
func TestDeliveryShapes(t *testing.T) {
	for _, name := range []string{"tls13-keyupdate", "tls12-cbc-sha-etm", "tls12-cbc-sha-mte", "tls13-h2", "tls12-dhe-chacha20"} {
		base := filepath.Join("testdata", name)
		keys := loadKeys(t, base+".keys")
		in := ops(t, base+".pcap")
		want, _ := run(t, keys, in, DefaultLimits())
		for _, shape := range []struct {
			name string
			ops  []fuzzseed.Op
		}{{"bytewise", bytewise(in)}, {"coalesced", coalesce(in)}, {"client first", clientFirst(in)}} {
			got, _ := run(t, keys, shape.ops, DefaultLimits())
			for d := range 2 {
				if !bytes.Equal(got.plain[d].Bytes(), want.plain[d].Bytes()) || want.plain[d].Len() == 0 {
					t.Errorf("%s %s dir %d: %d bytes, want %d", name, shape.name, d, got.plain[d].Len(), want.plain[d].Len())
				}
			}
		}
	}
}

// TestDamage: a lost or corrupted byte ends decryption of its direction
// with a reason and never yields other plaintext than the prefix before it.
func TestDamage(t *testing.T) {
	for _, name := range []string{"tls13-aes128gcm", "tls12-cbc-sha-etm", "tls12-cbc-sha384-noetm", "tls12-ecdhe-aes256gcm", "tls12-dhe-chacha20"} {
		base := filepath.Join("testdata", name)
		keys := loadKeys(t, base+".keys")
		in := ops(t, base+".pcap")
		clean, _ := run(t, keys, in, DefaultLimits())
		for _, dir := range []proto.Dir{proto.ToServer, proto.ToClient} {
			n := streamLen(in, dir)
			for _, off := range []int{n / 2, n - 40, n * 3 / 4} {
				for _, gap := range []bool{false, true} {
					rec, _ := run(t, keys, mutate(in, dir, off, gap), DefaultLimits())
					got, full := rec.plain[dir].Bytes(), clean.plain[dir].Bytes()
					if !bytes.HasPrefix(full, got) {
						t.Errorf("%s dir %d off %d gap %v: plaintext not a prefix of the clean one", name, dir, off, gap)
					}
					e := rec.stops[dir]
					switch {
					case gap && !errors.Is(e, ErrGap):
						t.Errorf("%s dir %d off %d: gap gave %v", name, dir, off, e)
					case !gap && !errors.Is(e, ErrAuth) && !errors.Is(e, ErrMalformed) && !errors.Is(e, ErrClosed):
						t.Errorf("%s dir %d off %d: corruption gave %v", name, dir, off, e)
					}
					if !gap && errors.Is(e, ErrClosed) && len(got) != len(full) {
						t.Errorf("%s dir %d off %d: corrupted stream closed cleanly", name, dir, off)
					}
				}
			}
		}
	}
}

// TestWrongAndMissingKeys: a wrong secret is an authentication failure
// with no plaintext; a key log without the session is ErrNoKey; a
// truncated stream is ErrTruncated.
func TestWrongAndMissingKeys(t *testing.T) {
	for _, name := range []string{"tls13-chacha20", "tls12-ecdhe-aes128gcm", "tls12-cbc-sha-etm"} {
		base := filepath.Join("testdata", name)
		right := loadKeys(t, base+".keys")
		in := ops(t, base+".pcap")
		// The same log with every secret's first byte flipped.
		wrong := keylog.New()
		for _, l := range []keylog.Label{keylog.ClientRandom, keylog.ClientHandshakeTrafficSecret, keylog.ServerHandshakeTrafficSecret, keylog.ClientTrafficSecret0, keylog.ServerTrafficSecret0} {
			for _, c := range pcaptestRandoms(right) {
				sec, _ := right.Lookup(c)
				for _, v := range sec.Get(l) {
					b := append([]byte(nil), v.Bytes()...)
					b[0] ^= 1
					wrong.Add(l, c, b)
				}
			}
		}
		rec, st := run(t, wrong, in, DefaultLimits())
		if rec.plain[0].Len()+rec.plain[1].Len() > 0 || !errors.Is(rec.stops[0], ErrAuth) || !errors.Is(rec.stops[1], ErrAuth) || !st.KeyFound {
			t.Errorf("%s wrong key: %d+%d bytes, %v / %v", name, rec.plain[0].Len(), rec.plain[1].Len(), rec.stops[0], rec.stops[1])
		}
		rec, st = run(t, keylog.New(), in, DefaultLimits())
		if rec.plain[0].Len()+rec.plain[1].Len() > 0 || !errors.Is(rec.stops[0], ErrNoKey) || st.KeyFound {
			t.Errorf("%s no key: %v", name, rec.stops[0])
		}
		// Cut the server's stream inside its last record.
		var cut []fuzzseed.Op
		for _, o := range in {
			cut = append(cut, o)
		}
		for i := len(cut) - 1; i >= 0; i-- {
			if cut[i].Dir == proto.ToClient && len(cut[i].Data) > 10 {
				cut = append(cut[:i:i], fuzzseed.Op{Dir: proto.ToClient, Data: cut[i].Data[:len(cut[i].Data)-3]})
				break
			}
		}
		rec, _ = run(t, right, cut, DefaultLimits())
		if !errors.Is(rec.stops[1], ErrTruncated) {
			t.Errorf("%s truncated: %v", name, rec.stops[1])
		}
	}
}

// pcaptestRandoms lists the client randoms of a log via its sessions.
func pcaptestRandoms(l *keylog.Log) [][32]byte { return l.ClientRandoms() }

var metaZero proto.Meta

// TestCandidatesAndMidstream: a key log with a wrong value logged before
// the right one still decrypts (the candidate that authenticates wins); a
// capture that starts after the ClientHello is ErrMidstream; a ServerHello
// that never comes is ErrNoServerHello for the waiting client records.
func TestCandidatesAndMidstream(t *testing.T) {
	for _, name := range []string{"tls12-ecdhe-aes128gcm", "tls13-aes256gcm", "tls12-cbc-sha-etm"} {
		base := filepath.Join("testdata", name)
		right := loadKeys(t, base+".keys")
		in := ops(t, base+".pcap")
		clean, _ := run(t, right, in, DefaultLimits())
		both := keylog.New()
		for _, c := range right.ClientRandoms() {
			sec, _ := right.Lookup(c)
			for l := keylog.ClientRandom; l <= keylog.ExporterSecret; l++ {
				for _, v := range sec.Get(l) {
					b := append([]byte(nil), v.Bytes()...)
					b[len(b)-1] ^= 0x80
					both.Add(l, c, b) // wrong first
					both.Add(l, c, v.Bytes())
				}
			}
		}
		rec, _ := run(t, both, in, DefaultLimits())
		for d := range 2 {
			if !bytes.Equal(rec.plain[d].Bytes(), clean.plain[d].Bytes()) || clean.plain[d].Len() == 0 {
				t.Errorf("%s candidates dir %d: %d bytes, want %d (%v)", name, d, rec.plain[d].Len(), clean.plain[d].Len(), rec.stops[d])
			}
		}
		// Drop the client's first call (the ClientHello).
		var mid []fuzzseed.Op
		dropped := false
		for _, o := range in {
			if !dropped && o.Dir == proto.ToServer && o.Gap == 0 {
				dropped = true
				continue
			}
			mid = append(mid, o)
		}
		rec, _ = run(t, right, mid, DefaultLimits())
		if rec.plain[0].Len()+rec.plain[1].Len() > 0 || !errors.Is(rec.stops[1], ErrMidstream) {
			t.Errorf("%s midstream: %v / %v", name, rec.stops[0], rec.stops[1])
		}
		// Only the client side.
		var client []fuzzseed.Op
		for _, o := range in {
			if o.Dir == proto.ToServer {
				client = append(client, o)
			}
		}
		rec, _ = run(t, right, client, DefaultLimits())
		if !errors.Is(rec.stops[0], ErrNoServerHello) {
			t.Errorf("%s client only: %v", name, rec.stops[0])
		}
	}
}
