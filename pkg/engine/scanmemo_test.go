package engine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/leak"
)

// TestScanMemo: an input is clean only after add and only as it was added
// (every field compared), and the memo starts over past its byte budget.
func TestScanMemo(t *testing.T) {
	c := newScanMemo()
	in := leak.Input{Location: "header:User-Agent", Data: []byte("Dalvik/2.1.0"), ContentType: "", Page: ""}
	if _, ok := c.clean(&in); ok {
		t.Fatal("clean before add")
	}
	k, _ := c.clean(&in)
	c.add(k, &in)
	if _, ok := c.clean(&in); !ok {
		t.Fatal("not clean after add")
	}
	for name, o := range map[string]leak.Input{
		"data":         {Location: in.Location, Data: []byte("Dalvik/2.1.1")},
		"location":     {Location: "header:X-Agent", Data: in.Data},
		"content type": {Location: in.Location, Data: in.Data, ContentType: "text/plain"},
		"page":         {Location: in.Location, Data: in.Data, Page: "http://example.com/"},
	} {
		if _, ok := c.clean(&o); ok {
			t.Errorf("another %s is clean", name)
		}
	}
	// A forged entry under the input's hash is not taken for it.
	c.m[k] = memoEntry{loc: in.Location, data: "other"}
	if _, ok := c.clean(&in); ok {
		t.Error("an entry of another input under the same hash is taken")
	}
	c.add(k, &in)
	big := leak.Input{Location: "body", Data: bytes.Repeat([]byte("x"), memoMaxInput)}
	for i := 0; c.bytes < memoBytes-2*memoMaxInput; i++ {
		big.Data[0] = byte(i)
		big.Data[1] = byte(i >> 8)
		k, _ := c.clean(&big)
		c.add(k, &big)
	}
	n := len(c.m)
	for i := 0; i < 4; i++ {
		big.Data[2] = byte(i + 1)
		k, _ := c.clean(&big)
		c.add(k, &big)
	}
	if len(c.m) >= n || c.bytes > memoBytes {
		t.Errorf("memo did not start over: %d entries (had %d), %d bytes of %d", len(c.m), n, c.bytes, memoBytes)
	}
}

// TestCorpusScanMemoChangesNothing: the JSON of every dev capture of the
// shared corpus (known values of the lab devices file, generic detectors)
// is the same with and without the memo of clean inputs.
func TestCorpusScanMemoChangesNothing(t *testing.T) {
	entries := corpus.Dev(t)
	cfg := labConfig(t)
	for _, e := range entries {
		with, _ := runJSON(t, cfg, e.Path, 2)
		scanMemoOff = true
		without, _ := runJSON(t, cfg, e.Path, 2)
		scanMemoOff = false
		if !bytes.Equal(with, without) {
			t.Errorf("%s: the memo changes the JSON (%d vs %d bytes)", e.Name(), len(with), len(without))
		}
		if with != nil && !strings.Contains(string(with), `"leak_scanned_bytes"`) {
			t.Logf("%s: nothing scanned", e.Name())
		}
	}
}
