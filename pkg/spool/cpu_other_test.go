//go:build !linux

package spool

// threadCPU is not measured elsewhere than Linux.
func threadCPU() int64 { return 0 }
