package keylog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pcapng Decryption Secrets Block (pcapng spec, section "Decryption Secrets
// Block"): block type 0x0000000A; body = secrets type (u32), secrets length
// (u32), secrets data padded to 32 bits, options.
const (
	BlockTypeDSB       uint32 = 0x0000000A
	SecretsTypeTLS     uint32 = 0x544c534b // "TLSK": NSS key log text
	blockTypeSHB       uint32 = 0x0A0D0D0A
	byteOrderMagic     uint32 = 0x1A2B3C4D
	maxPcapngBlockSize        = 64 << 20
)

// ErrDSB is wrapped by every Decryption Secrets Block parse error.
var ErrDSB = errors.New("keylog: malformed decryption secrets block")

// ParseDSB splits the body of a Decryption Secrets Block (the bytes after
// the 8-byte block type and length, before the trailing length) into its
// secrets type and data. order is the section's byte order.
func ParseDSB(body []byte, order binary.ByteOrder) (secretsType uint32, data []byte, err error) {
	if len(body) < 8 {
		return 0, nil, fmt.Errorf("%w: %d-byte body", ErrDSB, len(body))
	}
	secretsType = order.Uint32(body)
	n := order.Uint32(body[4:])
	if uint64(n) > uint64(len(body)-8) {
		return 0, nil, fmt.Errorf("%w: secrets length %d past the block (%d bytes)", ErrDSB, n, len(body)-8)
	}
	return secretsType, body[8 : 8+n], nil
}

// AddDSB reads the secrets of one Decryption Secrets Block body. Blocks of
// other secrets types (SSH, WireGuard, ...) are skipped and reported with
// ok false.
func (l *Log) AddDSB(body []byte, order binary.ByteOrder) (ok bool, err error) {
	typ, data, err := ParseDSB(body, order)
	if err != nil {
		return false, err
	}
	if typ != SecretsTypeTLS {
		return false, nil
	}
	return true, l.Read(bytes.NewReader(data), "pcapng DSB")
}

// ReadPcapng walks the blocks of a pcapng stream and adds the secrets of
// every TLS Decryption Secrets Block. It returns the number of TLS DSBs
// read. It reads only block headers and DSB bodies; packets are skipped.
// It is for a pre-pass over a file; pkg/capture can instead hand each DSB
// body it meets to AddDSB.
func (l *Log) ReadPcapng(r io.Reader) (int, error) {
	var hdr [12]byte
	order := binary.ByteOrder(binary.LittleEndian)
	n := 0
	for first := true; ; first = false {
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			if err == io.EOF && !first {
				return n, nil
			}
			return n, fmt.Errorf("keylog: pcapng block header: %w", err)
		}
		typ := binary.LittleEndian.Uint32(hdr[:4])
		rest := 0 // body bytes already read into hdr
		if typ == blockTypeSHB {
			if _, err := io.ReadFull(r, hdr[8:12]); err != nil {
				return n, fmt.Errorf("keylog: pcapng section header: %w", err)
			}
			switch magic := binary.LittleEndian.Uint32(hdr[8:12]); magic {
			case byteOrderMagic:
				order = binary.LittleEndian
			case 0x4D3C2B1A:
				order = binary.BigEndian
			default:
				return n, errors.New("keylog: not a pcapng section header")
			}
			rest = 4
		} else if first {
			return n, errors.New("keylog: not a pcapng file")
		}
		typ = order.Uint32(hdr[:4])
		total := order.Uint32(hdr[4:8])
		if total < 12 || total%4 != 0 || total > maxPcapngBlockSize {
			return n, fmt.Errorf("keylog: pcapng block length %d", total)
		}
		bodyLen := int64(total) - 12 - int64(rest)
		if bodyLen < 0 {
			return n, fmt.Errorf("keylog: pcapng block length %d", total)
		}
		if typ != BlockTypeDSB {
			if _, err := io.CopyN(io.Discard, r, bodyLen+4); err != nil {
				return n, fmt.Errorf("keylog: pcapng block: %w", err)
			}
			continue
		}
		// Read what is there rather than allocating what the header claims.
		body, err := io.ReadAll(io.LimitReader(r, bodyLen+4))
		if err != nil {
			return n, fmt.Errorf("keylog: pcapng block: %w", err)
		}
		if int64(len(body)) < bodyLen+4 {
			return n, fmt.Errorf("keylog: pcapng block: %w", io.ErrUnexpectedEOF)
		}
		ok, err := l.AddDSB(body[:bodyLen], order)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
}
