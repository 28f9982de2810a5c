package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// listDir is rrdtool list's form, `list [--recursive] [--noflush] DIR`,
// over series names with "/" as the directory level (a series a/b/c is
// "c" in directory a/b, as rrdcached maps a/b/c.rrd): the series and
// directories directly in DIR, or with --recursive every series under it
// by its path relative to DIR. "." (or "/") is the top. Series names are
// printed as they are (no ".rrd": they are what the other commands
// take), sorted; names that are no relative path (a leading or doubled
// "/", a "." or ".." level, e.g. //host/check#m) have no directory and
// are left out. --noflush is accepted: nothing waits to be flushed.
func listDir(db seriesStore, dir string, recursive bool, w io.Writer) error {
	all, err := db.List("")
	if err != nil {
		return err
	}
	prefix := strings.Trim(dir, "/")
	if prefix == "." {
		prefix = ""
	}
	if prefix != "" {
		if !relativeName(prefix) {
			return fmt.Errorf("list %s: not a directory of series names", dir)
		}
		prefix += "/"
	}
	var out []string
	seen := map[string]bool{}
	found := false
	for _, name := range all {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || !relativeName(name) {
			continue
		}
		found = true
		if recursive {
			out = append(out, rest)
			continue
		}
		entry, _, _ := strings.Cut(rest, "/")
		if !seen[entry] {
			seen[entry] = true
			out = append(out, entry)
		}
	}
	if !found && prefix != "" {
		return fmt.Errorf("list %s: no series under it", dir)
	}
	slices.Sort(out)
	for _, s := range out {
		fmt.Fprintln(w, s)
	}
	return nil
}

// relativeName reports whether a series name reads as a relative path.
func relativeName(name string) bool {
	for _, p := range strings.Split(name, "/") {
		if p == "" || p == "." || p == ".." {
			return false
		}
	}
	return true
}
