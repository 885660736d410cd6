package quic

import (
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

// TestLaterInitials: which later client Initials belong to the connection
// already seen on a flow and which open a new one.
func TestLaterInitials(t *testing.T) {
	dcid := []byte{0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08}
	other := []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	scid := []byte{0xc1, 0x01}
	srvID := []byte{0x5e, 0x71, 0x0e}
	retry1 := []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee}
	retry2 := []byte{0xa2, 0xb2, 0xc2, 0xd2, 0xe2}
	hello := buildHello(t, "quic.example.com")
	half := len(hello) / 2
	ack := []byte{0x02, 0x00, 0x00, 0x00, 0x00}
	tests := []struct {
		name      string
		dgs       []datagram
		conns     int
		sni       []string // per connection
		retrySCID string   // of the first connection
	}{
		{"hello split, second half to the server's CID", []datagram{
			{proto.ToServer, sealInitial(t, Version1, dcid, scid, 0, 2, true, cryptoFrame(0, hello[:half]))},
			{proto.ToClient, seal(t, Version1, dcid, scid, srvID, 0, 2, false, ack)},
			{proto.ToServer, seal(t, Version1, dcid, srvID, scid, 1, 2, true, ack, cryptoFrame(half, hello[half:]))},
		}, 1, []string{"quic.example.com"}, ""},
		{"v2: ACK to the server's CID", []datagram{
			{proto.ToServer, sealInitial(t, Version2, dcid, scid, 0, 2, true, cryptoFrame(0, hello))},
			{proto.ToClient, seal(t, Version2, dcid, scid, srvID, 0, 2, false, ack)},
			{proto.ToServer, seal(t, Version2, dcid, srvID, scid, 1, 2, true, ack)},
		}, 1, []string{"quic.example.com"}, ""},
		{"two Retries, the client follows the second", []datagram{
			{proto.ToServer, sealInitial(t, Version1, dcid, scid, 0, 2, true, cryptoFrame(0, hello[:half]))},
			{proto.ToClient, retryPacket(Version1, scid, retry1)},
			{proto.ToClient, retryPacket(Version1, scid, retry2)},
			{proto.ToServer, sealInitial(t, Version1, retry2, scid, 1, 2, true, cryptoFrame(0, hello))},
			{proto.ToClient, seal(t, Version1, retry2, scid, srvID, 0, 2, false, ack)},
			{proto.ToServer, seal(t, Version1, retry2, srvID, scid, 2, 2, true, ack)},
		}, 1, []string{"quic.example.com"}, "a2b2c2d2e2"},
		{"a new DCID under its own keys: a new connection", []datagram{
			{proto.ToServer, sealInitial(t, Version1, dcid, scid, 0, 2, true, cryptoFrame(0, hello))},
			{proto.ToClient, seal(t, Version1, dcid, scid, srvID, 0, 2, false, ack)},
			{proto.ToServer, sealInitial(t, Version1, other, scid, 0, 2, true, cryptoFrame(0, buildHello(t, "second.example.com")))},
		}, 2, []string{"quic.example.com", "second.example.com"}, ""},
		{"a second Retry followed after the first: a new connection", []datagram{
			{proto.ToServer, sealInitial(t, Version1, dcid, scid, 0, 2, true, cryptoFrame(0, hello))},
			{proto.ToClient, retryPacket(Version1, scid, retry1)},
			{proto.ToServer, sealInitial(t, Version1, retry1, scid, 1, 2, true, cryptoFrame(0, hello))},
			{proto.ToClient, retryPacket(Version1, scid, retry2)},
			{proto.ToServer, sealInitial(t, Version1, retry2, scid, 0, 2, true, cryptoFrame(0, buildHello(t, "second.example.com")))},
		}, 2, []string{"quic.example.com", "second.example.com"}, "aabbccddee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := run(tt.dgs, false)
			if len(evs) != tt.conns {
				t.Fatalf("%d connections, want %d", len(evs), tt.conns)
			}
			for i, ev := range evs {
				c := ev.Fields.(*Connection)
				if c.SNI != tt.sni[i] {
					t.Errorf("connection %d: SNI %q, want %q (notes %v)", i, c.SNI, tt.sni[i], c.Notes)
				}
				if c.UndecryptedInitial != [2]uint64{} {
					t.Errorf("connection %d: undecrypted Initials %v", i, c.UndecryptedInitial)
				}
			}
			c := evs[0].Fields.(*Connection)
			if c.RetrySCID != tt.retrySCID || c.Retry != (tt.retrySCID != "") {
				t.Errorf("retry %v %q, want %q", c.Retry, c.RetrySCID, tt.retrySCID)
			}
		})
	}
}
