package quicdecrypt

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/quic"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 9001 appendix A.5: a ChaCha20-Poly1305 short-header packet (empty
// DCID, packet number 654360564) carrying one PING frame.
func TestRFC9001ChaCha20ShortHeader(t *testing.T) {
	v, _ := lookupVersion(1)
	s, _ := suiteByID(0x1303)
	k, hp, err := newKeys(v, s, unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(k.iv[:]); got != "e0459b3474bdd0e44a41c144" {
		t.Errorf("iv %s", got)
	}
	pkt := unhex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb")
	c := New(keylog.New(), newCollector(t), DefaultLimits())
	c.v = v
	c.d[proto.ToClient].haveCID = true // the server's CID is empty
	c.d[proto.ToServer].largest = 654360563
	plain, ok := c.open1RTT(proto.ToServer, k, hp, pkt, 1, true)
	if !ok || !bytes.Equal(plain, []byte{1}) || c.d[proto.ToServer].largest != 654360564 {
		t.Fatalf("ok %v plain %x largest %d", ok, plain, c.d[proto.ToServer].largest)
	}
}

// RFC 9000 appendix A.3 example.
func TestDecodePN(t *testing.T) {
	if got := quic.DecodePacketNumber(0xa82f30ea, 0x9b32, 16); got != 0xa82f9b32 {
		t.Errorf("got %#x", got)
	}
	if got := quic.DecodePacketNumber(-1, 0, 8); got != 0 {
		t.Errorf("first packet: %d", got)
	}
}

// seal builds a protected short-header packet (the sender side, for tests).
func seal(k *keys, hp hpMask, dcid []byte, pn uint64, phase uint8, payload []byte) []byte {
	pnLen := 2
	hdr := append([]byte{0x40 | phase<<2 | byte(pnLen-1)}, dcid...)
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(pn))
	nonce := k.iv
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	pkt := k.aead.Seal(append([]byte(nil), hdr...), nonce[:], payload, hdr)
	pnOff := 1 + len(dcid)
	m := hp.mask(pkt[pnOff+4 : pnOff+20])
	pkt[0] ^= m[0] & 0x1f
	for i := 0; i < pnLen; i++ {
		pkt[pnOff+i] ^= m[1+i]
	}
	return pkt
}

func streamFrame(id, off uint64, data string) []byte {
	b := []byte{0x0e, byte(id), 0x40 | byte(off>>8), byte(off), byte(len(data))}
	return append(b, data...)
}

// TestKeyUpdate: two key updates (phase 0 -> 1 -> 0), a late packet of
// the old phase after the first update, one corrupted packet and a packet
// under a wrong key: every good packet's data in order, the bad ones
// counted as failed.
func TestKeyUpdate(t *testing.T) {
	v, _ := lookupVersion(1)
	s, _ := suiteByID(0x1301)
	secret := bytes.Repeat([]byte{7}, 32)
	k0, hp, _ := newKeys(v, s, secret)
	k1, _ := k0.next(v, s)
	k2, _ := k1.next(v, s)
	dcid := []byte{1, 2, 3, 4}
	col := newCollector(t)
	c := New(keylog.New(), col, DefaultLimits())
	c.v, c.suite, c.haveSu = v, s, true
	c.d[proto.ToClient].haveCID, c.d[proto.ToClient].cidLen = true, len(dcid)
	c.d[proto.ToServer].cands = []candidate{{s, k0, hp}}
	c.haveCR, c.looked = true, true
	c.secrets = &keylog.Secrets{}
	wrong, _, _ := newKeys(v, s, bytes.Repeat([]byte{8}, 32))
	bad := seal(k1, hp, dcid, 5, 1, streamFrame(0, 20, "xxxxx"))
	bad[len(bad)-1] ^= 1
	pkts := [][]byte{
		seal(k0, hp, dcid, 0, 0, streamFrame(0, 0, "aaaaa")),
		seal(k0, hp, dcid, 1, 0, streamFrame(0, 5, "bbbbb")),
		seal(k1, hp, dcid, 3, 1, streamFrame(0, 15, "ddddd")),
		seal(k0, hp, dcid, 2, 0, streamFrame(0, 10, "ccccc")), // late, old phase
		bad,
		seal(wrong, hp, dcid, 6, 1, streamFrame(0, 20, "yyyyy")),
		seal(k1, hp, dcid, 7, 1, streamFrame(0, 20, "eeeee")),
		seal(k2, hp, dcid, 8, 0, streamFrame(0, 25, "fffff")),
	}
	for _, p := range pkts {
		c.Datagram(proto.ToServer, p, proto.Meta{})
	}
	st := c.Status()
	got := col.data[streamKey{proto.ToServer, 0}]
	if got == nil || got.String() != "aaaaabbbbbcccccdddddeeeeefffff" || st.KeyUpdates[0] != 2 || st.Failed[0] != 2 || st.Decrypted[0] != 6 {
		t.Fatalf("data %v, status %+v", got, st)
	}
}

// FuzzDatagrams feeds datagrams (internal/fuzzseed ops; gaps ignored) to a
// Conn with the keys of the testdata captures. Checked: no panic, bounded
// memory, in-order delivery (the collector).
func FuzzDatagrams(f *testing.F) {
	keys := keylog.New()
	for name, port := range serverPorts {
		l := loadKeys(f, "testdata/"+name+".keys")
		for _, cr := range l.ClientRandoms() {
			s, _ := l.Lookup(cr)
			for _, lab := range []keylog.Label{keylog.ClientTrafficSecret0, keylog.ServerTrafficSecret0, keylog.ServerHandshakeTrafficSecret} {
				for _, sec := range s.Get(lab) {
					keys.Add(lab, cr, sec.Bytes())
				}
			}
		}
		_ = port
	}
	for name, port := range serverPorts {
		var ops []fuzzseed.Op
		pkts, _, _ := pcaptestPackets(f, "testdata/"+name+".pcap")
		for _, p := range pkts {
			dir := proto.ToServer
			if p.Src.Port() == port {
				dir = proto.ToClient
			}
			ops = append(ops, fuzzseed.Op{Dir: dir, Data: p.Payload})
		}
		f.Add(fuzzseed.Encode(ops))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		col := &certCollector{collector: newCollector(t), t: t, max: 4096}
		c := New(keys, col, Limits{MaxCrypto: 4096, MaxPending: 1 << 14, MaxStreams: 16})
		for _, o := range fuzzseed.Decode(in) {
			if o.Gap == 0 {
				c.Datagram(o.Dir, o.Data, proto.Meta{})
			}
		}
		if c.budget < 0 || c.budget > 1<<14 {
			t.Fatalf("budget %d", c.budget)
		}
		_ = c.Status()
	})
}

// certCollector is a collector that also takes the server's Certificate
// message, which must be one whole message within the CRYPTO limit, once.
type certCollector struct {
	*collector
	t     *testing.T
	max   int
	certs int
}

func (c *certCollector) Certificate(msg []byte, m proto.Meta) {
	c.certs++
	if c.certs > 1 || len(msg) < 4 || msg[0] != 11 || len(msg) != 4+(int(msg[1])<<16|int(msg[2])<<8|int(msg[3])) || len(msg) > c.max {
		c.t.Fatalf("certificate %d: %d bytes % x", c.certs, len(msg), msg[:min(len(msg), 8)])
	}
}
