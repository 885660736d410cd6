//go:build !linux

package spool

// gather is empty here: runs are written through the Writer's buffer.
type gather struct{}

// writeGathered is Linux's only (writev(2)).
func (w *Writer) writeGathered() (n int64, ok bool, err error) { return 0, false, nil }
