package spool

import "syscall"

// punchHole gives back the file space (and page cache) of [off, off+n) of
// f, whose bytes are no longer needed; false when the file system or the
// file cannot.
func punchHole(f file, off, n int64) bool {
	fd, ok := f.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	const keepSize, punch = 0x01, 0x02 // FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE
	return syscall.Fallocate(int(fd.Fd()), keepSize|punch, off, n) == nil
}
