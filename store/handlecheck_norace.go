//go:build !race

package store

const checkHandles = false
