// Package oui names the vendor of a MAC address from the IEEE registries
// (MA-L, MA-M, MA-S), embedded in the binary, longest block first. It also
// says when an address is locally administered, which on phones and
// laptops almost always means a randomised (private) MAC that no registry
// can name. The data is built by internal/gen from the npm package
// oui-data; see NOTICE.
package oui

//go:generate go run ./internal/gen -version 2.1.9 -out data/oui.bin.zst

import (
	_ "embed"
	"fmt"
	"net"
	"sync"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/oui/internal/ouidata"
)

//go:embed data/oui.bin.zst
var embeddedData []byte

// Registry names that say nothing about the maker: the Registration
// Authority owns the MA-L blocks that IEEE splits into MA-M and MA-S blocks,
// and "Private" marks assignments whose holder asked not to be listed.
const (
	registrationAuthority = "IEEE Registration Authority"
	private               = "Private"
)

// Block names returned in Info.Block.
const (
	BlockMAL = "MA-L"
	BlockMAM = "MA-M"
	BlockMAS = "MA-S"
)

// Info describes one MAC address.
type Info struct {
	Vendor    string // registered organisation, "" if unknown
	Block     string // MA-L, MA-M or MA-S when Vendor is set
	Local     bool   // locally administered bit set: usually a randomised MAC
	Multicast bool   // group address (I/G bit set)
}

// table decodes the embedded registry once, on first use.
var table = sync.OnceValues(decodeEmbedded)

func decodeEmbedded() (*ouidata.Table, error) {
	t, err := ouidata.Decode(embeddedData)
	if err != nil {
		return nil, fmt.Errorf("oui: embedded data: %w", err)
	}
	return t, nil
}

// Lookup returns the registered vendor of mac (6 or 8 bytes; EUI-64 uses
// its first 6 bytes), trying MA-S, then MA-M, then MA-L. A locally
// administered (randomised) address is found only if its prefix happens to
// be registered, as some pre-IEEE-802 blocks are; Describe tells why an
// address has no vendor.
func Lookup(mac net.HardwareAddr) (vendor string, ok bool) {
	in := Describe(mac)
	return in.Vendor, in.Vendor != ""
}

// Describe returns the vendor and the address flags of mac.
func Describe(mac net.HardwareAddr) Info {
	if len(mac) < 6 {
		return Info{}
	}
	in := Info{Local: mac[0]&0x02 != 0, Multicast: mac[0]&0x01 != 0}
	t, err := table()
	if err != nil {
		return in
	}
	// The registry holds prefixes with the I/G bit clear; a group address
	// belongs to the same block (01:00:5e is IANA's 00:00:5e).
	var u uint64
	for _, b := range mac[:6] {
		u = u<<8 | uint64(b)
	}
	u &^= 1 << 40
	for bi := 2; bi >= 0; bi-- {
		bl := &t.Blocks[bi]
		key := u >> (48 - ouidata.Bits(bi))
		if i, ok := search(bl.Prefix, key); ok {
			name := t.Names[bl.Name[i]]
			if name == registrationAuthority {
				continue
			}
			if name == private {
				return in
			}
			in.Vendor, in.Block = name, [3]string{BlockMAL, BlockMAM, BlockMAS}[bi]
			return in
		}
	}
	return in
}

// Randomized reports whether mac is locally administered, the mark of the
// random addresses that phones and laptops use per network.
func Randomized(mac net.HardwareAddr) bool { return len(mac) >= 6 && mac[0]&0x02 != 0 }

// Version says which registry data is embedded, for reports.
func Version() audit.DataSet {
	t, err := table()
	if err != nil {
		return audit.DataSet{Kind: "oui", Source: "embedded: unusable (" + err.Error() + ")"}
	}
	return audit.DataSet{Kind: "oui", Source: "embedded: " + t.Meta.Source, Version: t.Meta.Version, License: t.Meta.License}
}

func search(s []uint64, k uint64) (int, bool) {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s) && s[lo] == k
}
