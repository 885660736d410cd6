package bgwrite

import (
	"bytes"
	"errors"
	"testing"
)

// TestBytesInOrder: whatever the sizes of the writes and of the buffers,
// the underlying writer gets the same bytes in the same order.
func TestBytesInOrder(t *testing.T) {
	var src []byte
	for i := range 100_000 {
		src = append(src, byte(i*7+i/251))
	}
	for _, tc := range []struct{ size, chunk int }{
		{4096, 1}, {4096, 4095}, {4096, 4096}, {4096, 10_000}, {1 << 20, 333}, {5000, 100_000},
	} {
		var out bytes.Buffer
		w := New(&out, tc.size)
		for p := src; len(p) > 0; {
			n := min(tc.chunk, len(p))
			if k, err := w.Write(p[:n]); k != n || err != nil {
				t.Fatalf("%+v: Write = %d, %v", tc, k, err)
			}
			p = p[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatalf("%+v: Close: %v", tc, err)
		}
		if !bytes.Equal(out.Bytes(), src) {
			t.Errorf("%+v: %d bytes written differ from the %d given", tc, out.Len(), len(src))
		}
		if err := w.Close(); err != nil {
			t.Errorf("%+v: second Close: %v", tc, err)
		}
		if _, err := w.Write([]byte("x")); err == nil {
			t.Errorf("%+v: Write after Close succeeded", tc)
		}
	}
}

type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	f.n--
	return len(p), nil
}

// TestErrorReported: the underlying writer's first error comes back from
// a later Write or from Close, never lost.
func TestErrorReported(t *testing.T) {
	for _, okWrites := range []int{0, 1, 5} {
		boom := errors.New("disk full")
		w := New(&failAfter{n: okWrites, err: boom}, 4096)
		var werr error
		for range 100 {
			if _, werr = w.Write(make([]byte, 1000)); werr != nil {
				break
			}
		}
		cerr := w.Close()
		if !errors.Is(cerr, boom) || (werr != nil && !errors.Is(werr, boom)) {
			t.Errorf("after %d good writes: Write %v, Close %v, want %v", okWrites, werr, cerr, boom)
		}
	}
}
