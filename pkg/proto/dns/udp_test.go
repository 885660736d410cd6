package dns

import (
	"testing"

	"github.com/phonehome/phonehome/internal/pcaptest"
)

// The corpus tests read captures through the product's reader and packet
// decoder (internal/pcaptest).

type datagram = pcaptest.Datagram

func readUDP(t *testing.T, path string) ([]datagram, int, bool) {
	return pcaptest.Packets(t, path, true)
}

func hasPort(d datagram, ports ...uint16) bool { return d.HasPort(ports...) }
