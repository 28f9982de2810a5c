//go:build race

package store

// raceEnabled: the race detector slows the tests that make 100,000 series
// about fivefold; they make fewer (their subject is the count under a
// descriptor limit, which 10,000 series also exceed tenfold).
const raceEnabled = true
