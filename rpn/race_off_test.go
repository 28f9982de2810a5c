//go:build !race

package rpn

const raceEnabled = false
