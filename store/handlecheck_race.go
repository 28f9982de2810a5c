//go:build race

package store

// checkHandles: under the race detector (the tests) every use of a
// Handle is checked against the lookup by name it saves.
const checkHandles = true
