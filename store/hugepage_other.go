//go:build !linux

package store

// MakeColumn allocates n float64s (huge-page advice is Linux only).
func MakeColumn(n int) []float64 { return make([]float64, n) }
