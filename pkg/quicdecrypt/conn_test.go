package quicdecrypt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
)

type streamKey struct {
	dir proto.Dir
	id  uint64
}

// collector assembles what a Conn delivers and checks the contract.
type collector struct {
	t    testing.TB
	data map[streamKey]*bytes.Buffer
	fin  map[streamKey]bool
	gaps int
}

func newCollector(t testing.TB) *collector {
	return &collector{t: t, data: map[streamKey]*bytes.Buffer{}, fin: map[streamKey]bool{}}
}

func (c *collector) StreamData(dir proto.Dir, id uint64, b []byte, m proto.Meta) {
	k := streamKey{dir, id}
	if c.fin[k] {
		c.t.Errorf("stream %d dir %d: data after FIN", id, dir)
	}
	if c.data[k] == nil {
		c.data[k] = &bytes.Buffer{}
	}
	c.data[k].Write(b)
}
func (c *collector) StreamGap(dir proto.Dir, id uint64, n uint64, m proto.Meta) { c.gaps++ }
func (c *collector) StreamEnd(dir proto.Dir, id uint64, m proto.Meta) {
	c.fin[streamKey{dir, id}] = true
}

// decrypt feeds every UDP datagram of a capture with one QUIC connection
// (server port serverPort) to a Conn.
func pcaptestPackets(t testing.TB, path string) ([]pcaptest.Datagram, int, bool) {
	return pcaptest.Packets(t, path, false)
}

func decrypt(t testing.TB, pcap string, keys *keylog.Log, serverPort uint16) (*collector, Status) {
	t.Helper()
	pkts, _, ok := pcaptest.Packets(t, pcap, false)
	if !ok {
		t.Fatal("not a capture")
	}
	col := newCollector(t)
	c := New(keys, col, DefaultLimits())
	for _, p := range pkts {
		dir := proto.ToServer
		if p.Src.Port() == serverPort {
			dir = proto.ToClient
		}
		c.Datagram(dir, p.Payload, proto.Meta{Frame: uint64(p.Frame)})
	}
	return col, c.Status()
}

// truthStream is a stream as tshark shows it: bytes by offset and which
// of them tshark showed.
type truthStream struct {
	data, seen []byte
}

// tsharkStreams reads the truth: the STREAM frames tshark decrypted, put
// together per direction and stream by offset. tshark 4.0 does not list
// the frames of packets after the first in a UDP GSO datagram (frames 12,
// 20 and 26 of quic-v1-h3: three 1-RTT packets each); those bytes are
// marked not seen.
func tsharkStreams(t testing.TB, path string, serverPort uint16) map[streamKey]*truthStream {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkts []struct {
		Source struct {
			Layers map[string][]string `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(b, &pkts); err != nil {
		t.Fatal(err)
	}
	out := map[streamKey]*truthStream{}
	for _, p := range pkts {
		l := p.Source.Layers
		dir := proto.ToServer
		if l["udp.srcport"][0] == strconv.Itoa(int(serverPort)) {
			dir = proto.ToClient
		}
		offs := l["quic.stream.offset"]
		oi := 0
		for i, ids := range l["quic.stream.stream_id"] {
			id, _ := strconv.ParseUint(ids, 10, 64)
			data, _ := hex.DecodeString(strings.ReplaceAll(at(l["quic.stream_data"], i), ":", ""))
			// tshark lists offsets only for frames that carry one; this
			// capture's frames with data at offset 0 omit the field.
			var off uint64
			if len(offs) == len(l["quic.stream.stream_id"]) {
				off, _ = strconv.ParseUint(offs[i], 10, 64)
			} else if len(offs) > 0 && oi < len(offs) && len(l["quic.stream.stream_id"]) == 1 {
				off, _ = strconv.ParseUint(offs[oi], 10, 64)
				oi++
			}
			k := streamKey{dir, id}
			cur := out[k]
			if cur == nil {
				cur = &truthStream{}
				out[k] = cur
			}
			if need := int(off) + len(data); need > len(cur.data) {
				cur.data = append(cur.data, make([]byte, need-len(cur.data))...)
				cur.seen = append(cur.seen, make([]byte, need-len(cur.seen))...)
			}
			copy(cur.data[off:], data)
			for i := range data {
				cur.seen[int(off)+i] = 1
			}
		}
	}
	return out
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

func loadKeys(t testing.TB, path string) *keylog.Log {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := keylog.New()
	if err := l.Read(f, path); err != nil {
		t.Fatal(err)
	}
	return l
}

var serverPorts = map[string]uint16{"quic-v1-h3": 19443, "quic-v2-h3": 19444, "quic-v1-h3-nogso": 19445, "quic-v1-h3-retry": 19446, "quic-v1-h3-keyupdate": 19447}

// TestCapturesFromQuicGo decrypts quic-go HTTP/3 connections (v1 and v2)
// and compares every stream's bytes with tshark's decryption.
func TestCapturesFromQuicGo(t *testing.T) {
	for name, port := range serverPorts {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join("testdata", name)
			col, st := decrypt(t, base+".pcap", loadKeys(t, base+".keys"), port)
			t.Logf("%+v", st)
			checkKeyPhases(t, base+".keyphase.tsv", port, st)
			if strings.HasSuffix(name, "-keyupdate") {
				return // its truth has no stream bytes (size); TestHTTP3Requests checks the body
			}
			want := tsharkStreams(t, base+".streams.json", port)
			var keys []string
			for k, w := range want {
				keys = append(keys, fmt.Sprint(k))
				got := col.data[k]
				if got == nil || got.Len() != len(w.data) {
					t.Errorf("stream %d dir %d: %v bytes, tshark %d", k.id, k.dir, got, len(w.data))
					continue
				}
				unseen := 0
				for i, b := range got.Bytes() {
					if w.seen[i] == 0 {
						unseen++
					} else if b != w.data[i] {
						t.Errorf("stream %d dir %d: byte %d differs from tshark's", k.id, k.dir, i)
						break
					}
				}
				if unseen > 0 {
					t.Logf("stream %d dir %d: %d of %d bytes not shown by tshark (GSO datagram)", k.id, k.dir, unseen, len(w.data))
				}
			}
			for k := range col.data {
				if want[k] == nil {
					t.Errorf("stream %d dir %d: not in tshark's truth", k.id, k.dir)
				}
			}
			sort.Strings(keys)
			if len(want) < 6 || st.Err[0] != nil || st.Err[1] != nil {
				t.Errorf("streams %v, errors %v", keys, st.Err)
			}
			// Without keys: nothing.
			col, st = decrypt(t, base+".pcap", keylog.New(), port)
			if len(col.data) != 0 || st.Err[0] != ErrNoKey {
				t.Errorf("no keys: %d streams, %v", len(col.data), st.Err)
			}
		})
	}
}

type nopHandler struct{}

func (nopHandler) StreamData(proto.Dir, uint64, []byte, proto.Meta) {}
func (nopHandler) StreamGap(proto.Dir, uint64, uint64, proto.Meta)  {}
func (nopHandler) StreamEnd(proto.Dir, uint64, proto.Meta)          {}

// BenchmarkConn: decrypted stream bytes per second over the quic-go
// capture (one connection, 9.6 KB of stream data per run).
func BenchmarkConn(b *testing.B) {
	base := filepath.Join("testdata", "quic-v1-h3-nogso")
	keys := loadKeys(b, base+".keys")
	pkts, _, _ := pcaptest.Packets(b, base+".pcap", false)
	_, st := decrypt(b, base+".pcap", keys, 19445)
	b.SetBytes(st.StreamBytes[0] + st.StreamBytes[1])
	b.ReportAllocs()
	for b.Loop() {
		c := New(keys, nopHandler{}, DefaultLimits())
		for _, p := range pkts {
			dir := proto.ToServer
			if p.Src.Port() == 19445 {
				dir = proto.ToClient
			}
			c.Datagram(dir, p.Payload, proto.Meta{})
		}
	}
}

// checkKeyPhases compares with tshark's 1-RTT packets: as many decrypted
// per direction, none failed, and a key update wherever tshark's key phase
// bit flips.
func checkKeyPhases(t *testing.T, path string, port uint16, st Status) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n, flips [2]int
	last := [2]string{"0", "0"}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			continue
		}
		d := proto.ToServer
		if f[1] == strconv.Itoa(int(port)) {
			d = proto.ToClient
		}
		// A GSO datagram is one line in tshark but several packets here.
		n[d]++
		if f[2] != last[d] {
			flips[d]++
			last[d] = f[2]
		}
	}
	for d := range 2 {
		if st.KeyUpdates[d] != flips[d] || st.Failed[d] != 0 || st.Decrypted[d] < n[d] {
			t.Errorf("dir %d: %d decrypted, %d failed, %d key updates; tshark %d packets, %d key phase changes", d, st.Decrypted[d], st.Failed[d], st.KeyUpdates[d], n[d], flips[d])
		}
	}
	t.Logf("key updates %v (tshark %v), packets %v (tshark %v)", st.KeyUpdates, flips, st.Decrypted, n)
}
