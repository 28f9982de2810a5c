package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// runFirst is `rrdtool first NAME [--rraindex N]`: the time of the oldest
// row of archive N (0 by default), computed as rrd_first does from the
// last update and the archive's length, whether or not the rows hold data.
// As rrdtool, a failure prints -1 to stdout before the error.
func runFirst(db seriesStore, args []string, stdout io.Writer) error {
	opts, pos, err := options(args, map[string]string{"--rraindex": "rraindex"}, nil)
	if err == nil {
		for _, p := range pos {
			// rrdtool's own short options: none; "-x" is not a name
			if strings.HasPrefix(p, "-") && p != "-" {
				err = usageError{fmt.Sprintf("first: unknown option %s", p)}
			}
		}
	}
	if err == nil && len(pos) != 1 {
		// rrdtool ignores names after the first; rrdash refuses them
		err = usageError{"first takes one series name (usage: rrdash first NAME [--rraindex N])"}
	}
	idx := int64(0)
	if err == nil {
		if v, ok := opts["rraindex"]; ok {
			idx = strtol(v)
			if idx < 0 {
				err = errors.New("invalid rraindex number")
			}
		}
	}
	var first int64
	if err == nil {
		first, err = firstTime(db, pos[0], idx)
	}
	if err != nil {
		fmt.Fprintln(stdout, -1)
		return err
	}
	fmt.Fprintln(stdout, first)
	return nil
}

// firstTime is rrd_first_r's arithmetic: the end of the row that follows
// the current one in the ring, i.e. the last update aligned to the
// archive's row length, minus rows-1 rows.
func firstTime(db seriesStore, name string, idx int64) (int64, error) {
	info, err := db.Info(name)
	if err != nil {
		return 0, err
	}
	if idx >= int64(len(info.RRA)) {
		return 0, errors.New("invalid rraindex number")
	}
	r := info.RRA[idx]
	rowLen := r.Steps * info.Step
	return info.LastUpdate - info.LastUpdate%rowLen - (r.Rows-1)*rowLen, nil
}

// strtol reads an integer as C's strtol(s, &end, 0) does: leading blanks,
// a sign, 0x for hex, 0 for octal, the longest valid prefix; no digits is 0.
func strtol(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isDigit(s[2], 16):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	n := 0
	for n < len(s) && isDigit(s[n], base) {
		n++
	}
	v, err := strconv.ParseInt(s[:n], base, 64)
	if err != nil {
		if n == 0 {
			return 0
		}
		v = 1<<63 - 1 // ERANGE: strtol saturates
		if neg {
			return -v - 1
		}
	}
	if neg {
		return -v
	}
	return v
}

func isDigit(c byte, base int) bool {
	switch {
	case c >= '0' && c <= '9':
		return int(c-'0') < base
	case c >= 'a' && c <= 'f':
		return base == 16
	case c >= 'A' && c <= 'F':
		return base == 16
	}
	return false
}

// runLastUpdate is `rrdtool lastupdate NAME`: the DS names, then the time
// of the last update and the last value given to each DS, as it was
// written (unknown is U).
func runLastUpdate(db seriesStore, args []string, stdout io.Writer) error {
	for _, a := range args {
		if strings.HasPrefix(a, "-") && a != "-" {
			return usageError{fmt.Sprintf("lastupdate: unknown option %s", a)}
		}
	}
	if len(args) != 1 {
		return usageError{"Usage: rrdash lastupdate NAME"}
	}
	info, err := db.Info(args[0])
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	for _, d := range info.DS {
		fmt.Fprintf(w, " %s", d.Name)
	}
	fmt.Fprintf(w, "\n\n%10d:", info.LastUpdate)
	for _, d := range info.DS {
		fmt.Fprintf(w, " %s", d.LastDS)
	}
	fmt.Fprintln(w)
	return w.Flush()
}
