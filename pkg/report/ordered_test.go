package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// orderedPieceText is piece i of the writeOrdered tests: empty for every
// fifth, large for every seventh, written in several writes.
func orderedPieceText(i int) []string {
	if i%5 == 4 {
		return nil
	}
	n := 3
	if i%7 == 0 {
		n = 400
	}
	parts := make([]string, n)
	for k := range parts {
		parts[k] = fmt.Sprintf("piece %d part %d\n", i, k)
	}
	return parts
}

// TestWriteOrderedSameBytes: the pieces come out in order, each non-empty
// one after its lead, whatever the goroutines, the bytes allowed ahead and
// the size written on at a time.
func TestWriteOrderedSameBytes(t *testing.T) {
	defer func(f int) { headFlush = f }(headFlush)
	const n = 60
	var want strings.Builder
	for i := range n {
		if parts := orderedPieceText(i); len(parts) > 0 {
			fmt.Fprintf(&want, "lead %d\n", i)
			want.WriteString(strings.Join(parts, ""))
		}
	}
	for _, c := range []struct{ workers, ahead, flush int }{{1, 0, 1}, {2, 1 << 20, 64 << 10}, {3, 1, 10}, {7, 500, 1}, {2, 0, 1 << 20}} {
		headFlush = c.flush
		var out bytes.Buffer
		err := writeOrdered(&out, n, c.workers, c.ahead, func() func(int, io.Writer) error {
			return func(i int, w io.Writer) error {
				for _, p := range orderedPieceText(i) {
					if _, err := io.WriteString(w, p); err != nil {
						return err
					}
				}
				return nil
			}
		}, func(i int) error {
			_, err := fmt.Fprintf(&out, "lead %d\n", i)
			return err
		})
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if out.String() != want.String() {
			t.Errorf("%+v: %d bytes, want %d in order", c, out.Len(), want.Len())
		}
	}
}

// TestWriteOrderedErrors: an error of the writer, of a piece or of a lead
// is returned and stops the run (the test hangs if a goroutine is left
// waiting).
func TestWriteOrderedErrors(t *testing.T) {
	defer func(f int) { headFlush = f }(headFlush)
	headFlush = 16
	errPiece := errors.New("piece 9")
	errLead := errors.New("lead 12")
	for _, c := range []struct {
		name        string
		w           func() io.Writer
		piece, lead int
		want        error
	}{
		{"writer", func() io.Writer { return &failAfter{left: 2000} }, -1, -1, errFull},
		{"writer at once", func() io.Writer { return &failAfter{} }, -1, -1, errFull},
		{"piece", func() io.Writer { return io.Discard }, 9, -1, errPiece},
		{"lead", func() io.Writer { return io.Discard }, -1, 12, errLead},
	} {
		for _, workers := range []int{1, 2, 5} {
			err := writeOrdered(c.w(), 100, workers, 100, func() func(int, io.Writer) error {
				return func(i int, w io.Writer) error {
					if i == c.piece {
						return errPiece
					}
					for _, p := range orderedPieceText(i) {
						if _, err := io.WriteString(w, p); err != nil {
							return err
						}
					}
					return nil
				}
			}, func(i int) error {
				if i == c.lead {
					return errLead
				}
				return nil
			})
			if !errors.Is(err, c.want) {
				t.Errorf("%s, %d goroutines: got %v, want %v", c.name, workers, err, c.want)
			}
		}
	}
}
