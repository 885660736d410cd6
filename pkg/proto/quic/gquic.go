package quic

import (
	"bytes"
	"encoding/binary"

	"github.com/phonehome/phonehome/pkg/proto"
)

// gquic notes a Google QUIC connection. For versions up to Q046 the client
// hello (CHLO) travels unencrypted; its SNI and UAID (user agent) tags are
// read when present in payload.
func (p *Parser) gquic(version uint32, payload []byte, m proto.Meta) {
	c := p.current()
	if c == nil || c.ev.VersionCode != version {
		c = p.newConn(version, versionInfo{}, m)
	}
	if c.ev.SNI != "" || payload == nil {
		return
	}
	i := bytes.Index(payload, []byte("CHLO"))
	if i < 0 {
		return
	}
	tags := chloTags(payload[i:])
	if v, ok := tags["SNI\x00"]; ok {
		c.ev.SNI = string(v[:min(len(v), 255)])
	}
	if v, ok := tags["UAID"]; ok {
		c.ev.GQUICUserAgent = string(v[:min(len(v), 256)])
	}
}

// chloTags parses a gQUIC handshake message: "CHLO", uint16 count, 2 bytes
// padding, count x (tag, uint32 end offset), then the values.
func chloTags(b []byte) map[string][]byte {
	if len(b) < 8 {
		return nil
	}
	n := int(binary.LittleEndian.Uint16(b[4:6]))
	idx := b[8:]
	if n > 128 || len(idx) < 8*n {
		return nil
	}
	vals := idx[8*n:]
	out := make(map[string][]byte, n)
	prev := 0
	for i := range n {
		tag := string(idx[8*i : 8*i+4])
		end := int(binary.LittleEndian.Uint32(idx[8*i+4 : 8*i+8]))
		if end < prev || end > len(vals) {
			return out
		}
		out[tag] = vals[prev:end]
		prev = end
	}
	return out
}
