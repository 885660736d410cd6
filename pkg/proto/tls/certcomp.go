package tls

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/cryptobyte"
)

// TypeCompressedCertificate is the handshake type of a TLS 1.3
// CompressedCertificate message (RFC 8879), which a server sends instead
// of its Certificate when the client offered compress_certificate.
const TypeCompressedCertificate = 25

// Certificate compression algorithms (RFC 8879 section 3; zstd from the
// IANA registry).
const (
	CertCompressionZlib   = 1
	CertCompressionBrotli = 2
	CertCompressionZstd   = 3
)

// MaxUncompressedCertificate is the largest Certificate message body a
// CompressedCertificate may announce: memory for the decompressed chain is
// reserved from the announced length, and a larger one is not decoded.
const MaxUncompressedCertificate = 256 << 10

// certZstdMaxWindow bounds the zstd window accepted in a compressed
// certificate (a real encoder's window for at most
// MaxUncompressedCertificate bytes is no larger).
const certZstdMaxWindow = 1 << 20

// ErrCertCompression is the error of a CompressedCertificate that could
// not be decompressed into the length it announced.
var ErrCertCompression = errors.New("tls: compressed certificate")

// CertCompressionName names a certificate compression algorithm.
func CertCompressionName(alg uint16) string {
	switch alg {
	case CertCompressionZlib:
		return "zlib"
	case CertCompressionBrotli:
		return "brotli"
	case CertCompressionZstd:
		return "zstd"
	}
	return fmt.Sprintf("%#04x", alg)
}

// DecompressCertificate turns a CompressedCertificate message (msg, header
// first) into the Certificate message it carries (header first, type 11),
// with zlib (RFC 1950), brotli (RFC 7932) or zstd (RFC 8878). The output is
// at most MaxUncompressedCertificate bytes and must be exactly the
// uncompressed_length announced: anything else is an error, and no more
// than the announced length plus one byte is ever decompressed.
func DecompressCertificate(msg []byte) ([]byte, error) {
	body, err := handshakeBody(msg, TypeCompressedCertificate)
	if err != nil {
		return nil, err
	}
	s := cryptobyte.String(body)
	var alg uint16
	var n uint32
	var data cryptobyte.String
	if !s.ReadUint16(&alg) || !s.ReadUint24(&n) || !s.ReadUint24LengthPrefixed(&data) || len(data) == 0 || !s.Empty() {
		return nil, malformed("compressed certificate")
	}
	name := CertCompressionName(alg)
	if n == 0 || n > MaxUncompressedCertificate {
		return nil, fmt.Errorf("%w (%s): %d bytes announced, limit %d", ErrCertCompression, name, n, MaxUncompressedCertificate)
	}
	src := bytes.NewReader(data)
	var r io.Reader
	switch alg {
	case CertCompressionZlib:
		zr, err := zlib.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("%w (%s): %v", ErrCertCompression, name, err)
		}
		defer zr.Close()
		r = zr
	case CertCompressionBrotli:
		r = brotli.NewReader(src)
	case CertCompressionZstd:
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(certZstdMaxWindow))
		if err != nil {
			return nil, fmt.Errorf("%w (%s): %v", ErrCertCompression, name, err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("%w: unknown algorithm %s", ErrCertCompression, name)
	}
	out := make([]byte, 4+int(n))
	out[0] = TypeCertificate
	out[1], out[2], out[3] = byte(n>>16), byte(n>>8), byte(n)
	if k, err := io.ReadFull(r, out[4:]); err != nil {
		return nil, fmt.Errorf("%w (%s): %d of %d announced bytes: %v", ErrCertCompression, name, k, n, err)
	}
	var one [1]byte
	switch k, err := io.ReadFull(r, one[:]); {
	case k > 0:
		return nil, fmt.Errorf("%w (%s): longer than the %d bytes announced", ErrCertCompression, name, n)
	case err != io.EOF:
		return nil, fmt.Errorf("%w (%s): %v", ErrCertCompression, name, err)
	}
	return out, nil
}
