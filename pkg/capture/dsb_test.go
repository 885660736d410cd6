package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
)

// ngBlock is one pcapng block: type, body padded to 4 bytes, lengths.
func ngBlock(o binary.AppendByteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, uint32(12+len(body)))
	b = append(b, body...)
	return o.AppendUint32(b, uint32(12+len(body)))
}

// ngWithSecrets is a pcapng section: SHB, IDB (Ethernet), then for each
// secret a DSB followed by one Enhanced Packet Block.
func ngWithSecrets(o binary.AppendByteOrder, secrets ...string) []byte {
	shb := o.AppendUint32(nil, 0x1a2b3c4d)
	shb = o.AppendUint16(shb, 1)
	shb = o.AppendUint16(shb, 0)
	shb = o.AppendUint64(shb, ^uint64(0))
	out := ngBlock(o, 0x0a0d0d0a, shb)
	idb := o.AppendUint16(nil, 1)
	idb = o.AppendUint16(idb, 0)
	idb = o.AppendUint32(idb, 65535)
	out = append(out, ngBlock(o, 1, idb)...)
	frame := make([]byte, 60)
	for _, s := range secrets {
		dsb := o.AppendUint32(nil, 0x544c534b)
		dsb = o.AppendUint32(dsb, uint32(len(s)))
		out = append(out, ngBlock(o, 10, append(dsb, s...))...)
		epb := o.AppendUint32(nil, 0)
		epb = o.AppendUint64(epb, 0)
		epb = o.AppendUint32(epb, uint32(len(frame)))
		epb = o.AppendUint32(epb, uint32(len(frame)))
		out = append(out, ngBlock(o, 6, append(epb, frame...))...)
	}
	return out
}

type dsbSeen struct {
	secrets []string // the secrets data of each DSB
	before  []uint64 // frames delivered when each DSB was handed over
}

func readWithSecrets(t *testing.T, r io.Reader) (*dsbSeen, uint64, error) {
	t.Helper()
	seen := &dsbSeen{}
	var rd *Reader
	opt := Options{DecryptionSecrets: func(body []byte, o binary.ByteOrder) {
		n := o.Uint32(body[4:])
		seen.secrets = append(seen.secrets, string(body[8:8+n]))
		seen.before = append(seen.before, rd.Frames())
	}}
	rd, err := NewReaderWith(r, "test", opt)
	if err != nil {
		return nil, 0, err
	}
	defer rd.Close()
	var f Frame
	for {
		if err := rd.Next(&f); err != nil {
			if err == io.EOF {
				err = nil
			}
			return seen, rd.Frames(), err
		}
	}
}

// TestDecryptionSecretsBlocks checks that each DSB reaches the callback
// before the packets after it, in both byte orders, and that a DSB cut
// short is damage, not a callback with half a key log.
func TestDecryptionSecretsBlocks(t *testing.T) {
	const a, b = "CLIENT_RANDOM 00 11\n", "# second block, odd length"
	for _, tc := range []struct {
		name    string
		data    []byte
		secrets []string
		before  []uint64
		frames  uint64
		damaged bool
	}{
		{"little-endian", ngWithSecrets(binary.LittleEndian, a, b), []string{a, b}, []uint64{0, 1}, 2, false},
		{"big-endian", ngWithSecrets(binary.BigEndian, a, b), []string{a, b}, []uint64{0, 1}, 2, false},
		{"DSB cut short", ngWithSecrets(binary.LittleEndian, a)[:28+20+20], nil, nil, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen, frames, err := readWithSecrets(t, bytes.NewReader(tc.data))
			if (err != nil) != tc.damaged {
				t.Fatalf("error %v, want damage %v", err, tc.damaged)
			}
			if frames != tc.frames || len(seen.secrets) != len(tc.secrets) {
				t.Fatalf("%d frames, secrets %q; want %d, %q", frames, seen.secrets, tc.frames, tc.secrets)
			}
			for i := range tc.secrets {
				if seen.secrets[i] != tc.secrets[i] || seen.before[i] != tc.before[i] {
					t.Errorf("DSB %d: %q after %d frames, want %q after %d", i, seen.secrets[i], seen.before[i], tc.secrets[i], tc.before[i])
				}
			}
		})
	}
	// Without a callback the blocks are dropped and the packets read.
	n, err := readAll(t, bytes.NewReader(ngWithSecrets(binary.LittleEndian, a, b)))
	if err != nil || n != 2 {
		t.Errorf("without callback: %d frames, %v", n, err)
	}
}

// TestCorpusInjectedSecrets embeds the key logs of the shared corpus's
// real TLS captures with editcap --inject-secrets (as Wireshark users and
// PCAPdroid ship them) and checks that the reader hands the whole key log
// over before the first packet, and reads every packet tshark counts.
func TestCorpusInjectedSecrets(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("shared corpus not found (../shared/corpus or $PHONEHOME_CORPUS)")
	}
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap not installed")
	}
	for _, name := range []string{"tls-1.2-stream-keylog", "tls12-decryption"} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(dir, "decrypt", name)
			keys, err := os.ReadFile(base + ".keys")
			if err != nil {
				t.Skip(err)
			}
			out := filepath.Join(t.TempDir(), name+".pcapng")
			if b, err := exec.Command("editcap", "--inject-secrets", "tls,"+base+".keys", base+".pcap", out).CombinedOutput(); err != nil {
				t.Fatalf("editcap: %v: %s", err, b)
			}
			plain, err := os.Open(base + ".pcap")
			if err != nil {
				t.Fatal(err)
			}
			want, err := readAll(t, plain)
			plain.Close()
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			seen, frames, err := readWithSecrets(t, f)
			if err != nil {
				t.Fatal(err)
			}
			if frames != uint64(want) || len(seen.secrets) != 1 || seen.before[0] != 0 {
				t.Fatalf("%d frames (want %d), %d DSBs", frames, want, len(seen.secrets))
			}
			if !bytes.Equal(bytes.TrimRight([]byte(seen.secrets[0]), "\n"), bytes.TrimRight(keys, "\n")) {
				t.Errorf("DSB holds %d bytes, the key log %d", len(seen.secrets[0]), len(keys))
			}
		})
	}
}

// FuzzDecryptionSecrets reads fuzzed pcapng with a secrets callback: every
// body handed over lies within the input, nothing panics.
func FuzzDecryptionSecrets(f *testing.F) {
	f.Add(ngWithSecrets(binary.LittleEndian, "CLIENT_RANDOM 00 11\n", "x"))
	f.Add(ngWithSecrets(binary.BigEndian, "CLIENT_RANDOM 00 11\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{MaxRecord: 4096, DecryptionSecrets: func(body []byte, _ binary.ByteOrder) {
			if len(body) > len(data) {
				t.Fatalf("%d-byte DSB body from %d bytes of input", len(body), len(data))
			}
		}}
		r, err := NewReaderWith(bytes.NewReader(data), "fuzz", opt)
		if err != nil {
			return
		}
		var fr Frame
		for i := 0; i < 10000; i++ {
			if r.Next(&fr) != nil {
				return
			}
		}
	})
}
