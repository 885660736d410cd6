package tlsdecrypt

import (
	"fmt"

	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

// hsReader splits a direction's handshake bytes (which may span records)
// into messages. ClientHello and ServerHello are kept whole (up to max
// bytes), and a Certificate or CompressedCertificate when cert is set (up
// to max bytes: a larger chain is skipped, not an error); other messages
// are skipped as they pass, whatever their size.
type hsReader struct {
	hdr  [4]byte
	hdrN int
	need int // body bytes of the current message still to come
	keep bool
	msg  []byte
	max  int
	cert bool // keep Certificate messages (TLS 1.3: the server's is encrypted)
}

// feed consumes b and calls fn for every completed message, with the whole
// message (header first) for kept types and nil for the others.
func (r *hsReader) feed(b []byte, fn func(typ uint8, msg []byte) error) error {
	for len(b) > 0 {
		if r.hdrN < 4 {
			k := copy(r.hdr[r.hdrN:], b)
			r.hdrN += k
			b = b[k:]
			if r.hdrN < 4 {
				return nil
			}
			r.need = int(r.hdr[1])<<16 | int(r.hdr[2])<<8 | int(r.hdr[3])
			r.keep = r.hdr[0] == hsClientHello || r.hdr[0] == hsServerHello
			if r.cert && (r.hdr[0] == ptls.TypeCertificate || r.hdr[0] == ptls.TypeCompressedCertificate) {
				r.keep = 4+r.need <= r.max
			}
			if r.keep {
				if 4+r.need > r.max {
					return fmt.Errorf("%w: %d-byte hello", ErrLimit, r.need)
				}
				r.msg = append(r.msg[:0], r.hdr[:]...)
			}
		}
		k := min(r.need, len(b))
		if r.keep {
			r.msg = append(r.msg, b[:k]...)
		}
		r.need -= k
		b = b[k:]
		if r.need == 0 {
			typ := r.hdr[0]
			var msg []byte
			if r.keep {
				msg = r.msg
			}
			r.hdrN = 0
			if err := fn(typ, msg); err != nil {
				return err
			}
		}
	}
	return nil
}
