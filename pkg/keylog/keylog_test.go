package keylog

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const (
	cr1 = "0101010101010101010101010101010101010101010101010101010101010101"
	cr2 = "0202020202020202020202020202020202020202020202020202020202020202"
	ms  = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	s32 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	s48 = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

func random(s string) (r [32]byte) {
	b, _ := hex.DecodeString(s)
	copy(r[:], b)
	return r
}

func TestRead(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		sessions  int
		entries   int
		dups      int
		unknown   int
		badLines  []int
		check     Label
		checkLen  int
		checkVals int
	}{
		{name: "client random", in: "CLIENT_RANDOM " + cr1 + " " + ms + "\n", sessions: 1, entries: 1, check: ClientRandom, checkLen: 48, checkVals: 1},
		{name: "crlf, comments, blanks", in: "# SSL/TLS secrets log file\r\n\r\nCLIENT_RANDOM " + cr1 + " " + ms + "\r\n   \n", sessions: 1, entries: 1, check: ClientRandom, checkLen: 48, checkVals: 1},
		{name: "no final newline", in: "CLIENT_TRAFFIC_SECRET_0 " + cr1 + " " + s32, sessions: 1, entries: 1, check: ClientTrafficSecret0, checkLen: 32, checkVals: 1},
		{name: "tls13 full set sha384", in: strings.Join([]string{
			"CLIENT_HANDSHAKE_TRAFFIC_SECRET " + cr1 + " " + s48,
			"SERVER_HANDSHAKE_TRAFFIC_SECRET " + cr1 + " " + s48,
			"CLIENT_TRAFFIC_SECRET_0 " + cr1 + " " + s48,
			"SERVER_TRAFFIC_SECRET_0 " + cr1 + " " + s48,
			"EXPORTER_SECRET " + cr1 + " " + s48,
			"CLIENT_EARLY_TRAFFIC_SECRET " + cr1 + " " + s48,
			"EARLY_EXPORTER_SECRET " + cr1 + " " + s48,
		}, "\n"), sessions: 1, entries: 7, check: ServerHandshakeTrafficSecret, checkLen: 48, checkVals: 1},
		{name: "quic prefix", in: "QUIC_SERVER_TRAFFIC_SECRET_0 " + cr2 + " " + s32 + "\n", sessions: 1, entries: 1, check: ServerTrafficSecret0, checkLen: 32, checkVals: 1},
		{name: "duplicate", in: "CLIENT_RANDOM " + cr1 + " " + ms + "\nCLIENT_RANDOM " + cr1 + " " + ms + "\n", sessions: 1, entries: 1, dups: 1, check: ClientRandom, checkLen: 48, checkVals: 1},
		{name: "two values kept as candidates", in: "CLIENT_RANDOM " + cr1 + " " + ms + "\nCLIENT_RANDOM " + cr1 + " " + strings.Repeat("d", 96) + "\n", sessions: 1, entries: 2, check: ClientRandom, checkLen: 48, checkVals: 2},
		{name: "upper-case hex", in: "CLIENT_RANDOM " + strings.ToUpper(cr1) + " " + strings.ToUpper(ms) + "\n", sessions: 1, entries: 1, check: ClientRandom, checkLen: 48, checkVals: 1},
		{name: "unknown label counted", in: "RSA 0011223344556677 " + ms + "\nCLIENT_TRAFFIC_SECRET_1 " + cr1 + " " + s32 + "\n", unknown: 2},
		{name: "bad lines by number", in: strings.Join([]string{
			"CLIENT_RANDOM " + cr1,                           // 1: two fields
			"CLIENT_RANDOM " + cr1[:62] + " " + ms,           // 2: short random
			"CLIENT_RANDOM " + cr1 + " " + ms[:94],           // 3: short master secret
			"CLIENT_RANDOM zz" + cr1[2:] + " " + ms,          // 4: not hex
			"CLIENT_RANDOM " + cr1 + " " + ms + "a",          // 5: odd
			"client_random " + cr1 + " " + ms,                // 6: not a label
			"CLIENT_TRAFFIC_SECRET_0 " + cr1 + " " + ms[:40], // 7: 20 bytes
			"CLIENT_RANDOM " + cr2 + " " + ms,                // 8: good
		}, "\n"), sessions: 1, entries: 1, badLines: []int{1, 2, 3, 4, 5, 6, 7}},
		{name: "long line", in: "CLIENT_RANDOM " + cr1 + " " + strings.Repeat("a", 10000) + "\nCLIENT_RANDOM " + cr2 + " " + ms + "\n", sessions: 1, entries: 1, badLines: []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			if err := l.Read(strings.NewReader(tc.in), "test.keys"); err != nil {
				t.Fatal(err)
			}
			st := l.Stats()
			if l.Len() != tc.sessions || st.Entries != tc.entries || st.Duplicates != tc.dups || st.Unknown != tc.unknown {
				t.Errorf("sessions %d entries %d dups %d unknown %d; want %d %d %d %d", l.Len(), st.Entries, st.Duplicates, st.Unknown, tc.sessions, tc.entries, tc.dups, tc.unknown)
			}
			var lines []int
			for _, b := range st.BadLines {
				lines = append(lines, b.Line)
				if b.Source != "test.keys" {
					t.Errorf("source %q", b.Source)
				}
				if strings.Contains(b.Reason, "aaaa") || strings.Contains(b.Reason, "0101") {
					t.Errorf("reason echoes key material: %q", b.Reason)
				}
			}
			if fmt.Sprint(lines) != fmt.Sprint(tc.badLines) && !(len(lines) == 0 && len(tc.badLines) == 0) {
				t.Errorf("bad lines %v, want %v", lines, tc.badLines)
			}
			if st.Bad != len(tc.badLines) {
				t.Errorf("bad %d, want %d", st.Bad, len(tc.badLines))
			}
			if tc.checkVals > 0 {
				r := cr1
				if tc.name == "quic prefix" {
					r = cr2
				}
				s, ok := l.Lookup(random(r))
				if !ok {
					t.Fatal("lookup failed")
				}
				got := s.Get(tc.check)
				if len(got) != tc.checkVals || got[0].Len() != tc.checkLen {
					t.Errorf("%v: %d values, len %d", tc.check, len(got), got[0].Len())
				}
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	key, _ := hex.DecodeString(ms)
	s := NewSecret(key)
	j, _ := json.Marshal(struct{ S Secret }{s})
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%x %X %s %q %v %+v %#v", s, s, s, s, s, s, s), fmt.Sprintf("%v", []Secret{s}), string(j)} {
		if strings.Contains(strings.ToLower(out), "aaaa") || bytes.Contains([]byte(out), key) {
			t.Errorf("key material printed: %q", out)
		}
		if !strings.Contains(out, "secret(48 bytes)") {
			t.Errorf("unexpected form %q", out)
		}
	}
}

func TestParseDSB(t *testing.T) {
	text := "CLIENT_RANDOM " + cr1 + " " + ms + "\n"
	body := func(order binary.ByteOrder, typ uint32, n int, data string) []byte {
		b := make([]byte, 8, 8+len(data)+4)
		order.PutUint32(b, typ)
		order.PutUint32(b[4:], uint32(n))
		b = append(b, data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		l := New()
		ok, err := l.AddDSB(body(order, SecretsTypeTLS, len(text), text), order)
		if err != nil || !ok || l.Len() != 1 {
			t.Errorf("%v: ok %v err %v len %d", order, ok, err, l.Len())
		}
		ok, err = l.AddDSB(body(order, 0x5353484b, len(text), text), order) // SSH keys: skipped
		if err != nil || ok {
			t.Errorf("ssh block: ok %v err %v", ok, err)
		}
		if _, err := l.AddDSB(body(order, SecretsTypeTLS, 1000, text), order); err == nil {
			t.Error("length past the block accepted")
		}
		if _, err := l.AddDSB([]byte{1, 2, 3}, order); err == nil {
			t.Error("short body accepted")
		}
	}
}

// pcapng builds a section header, one Decryption Secrets Block and one
// other block in the given byte order.
func pcapng(order binary.AppendByteOrder, secrets string) []byte {
	var b []byte
	u32 := func(v uint32) { b = order.AppendUint32(b, v) }
	u32(0x0A0D0D0A)
	u32(28)
	u32(0x1A2B3C4D)
	b = order.AppendUint16(b, 1)
	b = order.AppendUint16(b, 0)
	b = order.AppendUint64(b, ^uint64(0))
	u32(28)
	pad := (4 - len(secrets)%4) % 4
	total := uint32(12 + 8 + len(secrets) + pad)
	u32(BlockTypeDSB)
	u32(total)
	u32(SecretsTypeTLS)
	u32(uint32(len(secrets)))
	b = append(b, secrets...)
	b = append(b, make([]byte, pad)...)
	u32(total)
	u32(5) // an Interface Statistics Block, skipped
	u32(16)
	u32(0)
	u32(16)
	return b
}

func TestReadPcapng(t *testing.T) {
	text := "CLIENT_RANDOM " + cr1 + " " + ms + "\nCLIENT_TRAFFIC_SECRET_0 " + cr2 + " " + s32 + "\n"
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		l := New()
		n, err := l.ReadPcapng(bytes.NewReader(pcapng(order, text)))
		if err != nil || n != 1 || l.Len() != 2 {
			t.Errorf("%v: %d DSBs, %d sessions, %v", order, n, l.Len(), err)
		}
		full := pcapng(order, text)
		if _, err := New().ReadPcapng(bytes.NewReader(full[:len(full)-30])); err == nil {
			t.Errorf("%v: truncated file accepted", order)
		}
	}
	if _, err := New().ReadPcapng(strings.NewReader("\xd4\xc3\xb2\xa1 not pcapng")); err == nil {
		t.Error("pcap accepted as pcapng")
	}
}

func TestCloneIsIndependent(t *testing.T) {
	var cr [32]byte
	cr[0] = 1
	l := New()
	l.Add(ClientTrafficSecret0, cr, bytes.Repeat([]byte{1}, 32))
	c := l.Clone()
	c.Add(ClientTrafficSecret0, cr, bytes.Repeat([]byte{2}, 32))
	var other [32]byte
	c.Add(ClientRandom, other, bytes.Repeat([]byte{3}, 48))
	s, _ := l.Lookup(cr)
	if n := len(s.Get(ClientTrafficSecret0)); n != 1 || l.Len() != 1 || l.Stats().Entries != 1 {
		t.Errorf("original changed: %d candidates, %d sessions, %d entries", n, l.Len(), l.Stats().Entries)
	}
	cs, _ := c.Lookup(cr)
	if n := len(cs.Get(ClientTrafficSecret0)); n != 2 || c.Len() != 2 || c.Stats().Entries != 3 {
		t.Errorf("clone: %d candidates, %d sessions, %d entries", n, c.Len(), c.Stats().Entries)
	}
	if New().Len() != (*Log)(nil).Clone().Len() {
		t.Error("nil clone")
	}
}
