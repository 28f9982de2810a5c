//go:build race

package rpn

// raceEnabled: the race detector slows evaluation ~20×, so the
// differential test draws a smaller corpus.
const raceEnabled = true
