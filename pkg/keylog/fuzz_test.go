package keylog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func FuzzRead(f *testing.F) {
	f.Add([]byte("CLIENT_RANDOM " + cr1 + " " + ms + "\n"))
	f.Add([]byte("# c\r\n\r\nQUIC_CLIENT_TRAFFIC_SECRET_0 " + cr1 + " " + s32 + "\r\nRSA ab " + ms))
	f.Add([]byte("CLIENT_RANDOM " + cr1 + " " + ms + "\nCLIENT_RANDOM " + cr1 + " " + ms + "\nCLIENT_RANDOM x y\n"))
	files, _ := filepath.Glob(filepath.Join("..", "tlsdecrypt", "testdata", "*.keys"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l := NewLimits(Limits{MaxSessions: 8, MaxLine: 256})
		if err := l.Read(bytes.NewReader(in), "fuzz"); err != nil {
			t.Fatal(err)
		}
		st := l.Stats()
		if l.Len() > 8 || len(st.BadLines) > MaxBadLines {
			t.Fatalf("limits not held: %d sessions, %d bad lines", l.Len(), len(st.BadLines))
		}
		for _, b := range st.BadLines {
			if len(b.Reason) > 80 {
				t.Fatalf("reason too long, may echo input: %q", b.Reason)
			}
		}
		// A DSB body wrapping the same text reads the same.
		body := binary.LittleEndian.AppendUint32(nil, SecretsTypeTLS)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(in)))
		body = append(body, in...)
		l2 := NewLimits(Limits{MaxSessions: 8, MaxLine: 256})
		if _, err := l2.AddDSB(body, binary.LittleEndian); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(l2.Stats().Entries, l2.Len()) != fmt.Sprint(st.Entries, l.Len()) {
			t.Fatal("DSB and file reads differ")
		}
		_, _ = l2.ReadPcapng(bytes.NewReader(in))
	})
}
