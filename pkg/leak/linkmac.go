package leak

import "net"

// Bare MACs. Twelve hex digits without separators (94103e3501c1) are also
// what hashes, serial numbers and random ids look like, so a bare MAC is
// reported only when it is a MAC of the flow itself: one of the link
// addresses of its two ends (Input.MACs: the device's own, its peer's or
// gateway's), or an address next to one of them in the same vendor block.
// Vendors number a device's interfaces up from one base address (Wi-Fi,
// access point, Bluetooth, Ethernet: base, +1, +2, +3), and a device that
// names itself usually gives the base or another interface's address: the
// Belkin WeMo switch of the corpus (Wi-Fi 94:10:3e:35:01:c1) logs in to its
// TURN server as 94103E3501C0.

// maxLinkMACs bounds the link addresses one Scan compares with.
const maxLinkMACs = 2

// macSiblings is how far (in the last three octets) from a link address
// an address still counts as one of the same device's.
const macSiblings = 3

// linkMACs holds the usable link addresses of one Scan.
type linkMACs struct {
	n   int
	mac [maxLinkMACs][6]byte
}

// set keeps the unicast, non-zero addresses of ms, each once.
func (l *linkMACs) set(ms [2][6]byte) {
	l.n = 0
	for _, m := range ms {
		if m[0]&1 == 1 || m == [6]byte{} || m == [6]byte{2} {
			continue // multicast or broadcast, zero, Android's placeholder
		}
		dup := false
		for _, o := range l.mac[:l.n] {
			dup = dup || o == m
		}
		if !dup {
			l.mac[l.n] = m
			l.n++
		}
	}
}

// related reports whether m is one of the addresses or a sibling of one:
// the same first three octets (the vendor block) and the last three
// within macSiblings.
func (l *linkMACs) related(m [6]byte) bool {
	nic := func(a [6]byte) int { return int(a[3])<<16 | int(a[4])<<8 | int(a[5]) }
	for _, o := range l.mac[:l.n] {
		if o[0] == m[0] && o[1] == m[1] && o[2] == m[2] && abs(nic(o)-nic(m)) <= macSiblings {
			return true
		}
	}
	return false
}

// bareMAC finds the flow's MACs written as 12 hex digits, in either case,
// that no other hex digit touches (so not inside a longer hex string). A
// layer holding such a run makes the Scan's result depend on Input.MACs
// (ScanLinked), whether or not the run is one of them, and whether or not
// the Scan was given MACs.
func (lc *layerCtx) bareMAC() {
	l := &lc.st.macs
	b := lc.data
	for i := 0; i+12 <= len(b); {
		if hexVal(b[i]) < 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(b) && hexVal(b[j]) >= 0 {
			j++
		}
		if j-i == 12 {
			lc.st.linked = true
			var m [6]byte
			for k := range m {
				m[k] = byte(hexVal(b[i+2*k])<<4 | hexVal(b[i+2*k+1]))
			}
			if l.related(m) {
				id := "mac"
				if f := lc.fieldAt(i, j); f != nil && lc.st.s.keys.classOf(lc.keyBytes(f)) == "bssid" {
					id = "bssid"
				}
				lc.add(Hit{Identifier: id, Value: net.HardwareAddr(m[:]).String(), Encoding: lc.enc([]string{"plain"})}, i, j)
			}
		}
		i = j
	}
}
