package main

import (
	"fmt"
	"io"
	"strings"
)

// rrdtool 1.8 added update's --locking/-L MODE and the RRD_LOCKING
// environment variable for its default (1.7.2 has neither: it refuses
// the option with "invalid option -- 'locking'" and always tries the
// file's lock once). rrdash writes a data directory from one process at
// a time under the directory's lock, so the modes mean:
//   - try (the default): give up at once when another process holds the
//     directory — after a short wait, as a process that forks lends its
//     lock to the child for a moment — naming the holder;
//   - block: wait for as long as the holder keeps it;
//   - none (write without locking): refused, as an option; rrdash never
//     writes without the lock.
// When a serve holds the directory, the command runs through its socket
// and no lock is taken by the command at all.

// parseLocking reads a mode as rrdtool 1.8's _rrd_lock_parse: block
// reports "block"; "" is the default, try.
func parseLocking(m string) (block bool, err error) {
	switch m {
	case "", "try":
		return false, nil
	case "block":
		return true, nil
	case "none":
		return false, fmt.Errorf("--locking none is not supported: rrdash always writes a data directory under its lock (use try, the default, or block to wait for the lock)")
	}
	return false, fmt.Errorf("unsupported locking mode '%s'", m)
}

// lockingMode is the locking mode of update and updatev: their
// --locking/-L option, else $RRD_LOCKING (env). As rrdtool 1.8, a bad
// $RRD_LOCKING is reported on stderr and taken as try; "none" there is
// reported the same way, since rrdash always locks.
func lockingMode(cmd string, args []string, env string, stderr io.Writer) (block bool, err error) {
	if cmd != "update" && cmd != "updatev" {
		return false, nil
	}
	m, given := "", false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			i = len(args)
		case a == "--locking" || a == "-L":
			if i+1 < len(args) {
				m, given = args[i+1], true
				i++
			}
		case strings.HasPrefix(a, "--locking="):
			m, given = a[len("--locking="):], true
		}
	}
	if given {
		return parseLocking(m)
	}
	switch env {
	case "", "try":
		return false, nil
	case "block":
		return true, nil
	case "none":
		fmt.Fprintf(stderr, "RRD_LOCKING=none is not supported: rrdash always writes a data directory under its lock; assuming 'try'\n")
		return false, nil
	}
	fmt.Fprintf(stderr, "unsupported locking mode '%s' in $RRD_LOCKING; assuming 'try'\n", env)
	return false, nil
}
