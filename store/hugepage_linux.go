package store

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePageBytes is the size of a transparent huge page on amd64 and arm64.
const hugePageBytes = 2 << 20

// MakeColumn allocates n float64s. Large columns (a fetch of a million rows
// is 8 MB) ask the kernel for transparent huge pages before their first
// touch: filling them then takes a few faults instead of one per 4 KiB,
// which is a sixth of an xport's time where page faults are dear (VMs).
// The advice is only advice: where THP is off, nothing changes.
func MakeColumn(n int) []float64 {
	col := make([]float64, n)
	size := uintptr(n) * 8
	if size < 2*hugePageBytes {
		return col
	}
	base := unsafe.Pointer(unsafe.SliceData(col))
	start := uintptr(base)
	lo := (start + hugePageBytes - 1) &^ (hugePageBytes - 1)
	hi := (start + size) &^ (hugePageBytes - 1)
	if hi > lo {
		_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(base, lo-start)), hi-lo), unix.MADV_HUGEPAGE)
	}
	return col
}
