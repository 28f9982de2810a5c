package rrdcached

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"rrdash/store"
)

// openError is rrd_open's message for a series that doesn't exist.
func openError(s *Server, prefix, file string, err error) reply {
	if errors.Is(err, store.ErrNotFound) {
		return errorf("%sopening '%s': No such file or directory\n", prefix, s.names.shown(file))
	}
	return errorf("%s%v\n", prefix, err)
}

type fetched struct {
	file string
	res  *store.FetchResult
	cols []int
}

// fetchArgs runs the common part of FETCH and FETCHBIN.
func fetchArgs(s *Server, cmd string, args []string) (*fetched, *reply) {
	if len(args) < 2 {
		r := syntaxError(s, cmd)
		return nil, &r
	}
	file, cfName := args[0], args[1]
	name, err := s.names.series(file)
	if err != nil {
		r := accessError(s, file, err)
		return nil, &r
	}
	now := s.nowUnix()
	start, end := now-86400, now
	for k, p := range []*int64{&start, &end} {
		if len(args) <= 2+k {
			break
		}
		v, ok := strtol(args[2+k])
		if !ok {
			which := [...]string{"start", "end"}[k]
			r := errorf("Cannot parse %s time `%s': Only simple integers are allowed.\n", which, args[2+k])
			return nil, &r
		}
		if v > 0 {
			*p = v
		} else {
			*p = now + v
		}
	}
	cf, err := store.ParseCF(cfName)
	if err != nil {
		r := errorf("rrd_fetch_r failed: unknown consolidation function '%s'\n", cfName)
		return nil, &r
	}
	if start > end {
		r := errorf("rrd_fetch_r failed: start (%d) should be less than end (%d)\n", start, end)
		return nil, &r
	}
	// rrdcached asks rrd_fetch for step -1, which picks the finest archive
	res, err := s.st.Fetch(name, store.FetchRequest{CF: cf, Start: start, End: end, Resolution: 1})
	if err != nil {
		r := openError(s, "rrd_fetch_r failed: ", file, err)
		return nil, &r
	}
	f := &fetched{file: file, res: res}
	if len(args) > 4 {
		for _, field := range args[4:] {
			if len(f.cols) >= len(res.DS) {
				r := errorf("too many fields given - duplicates!\n")
				return nil, &r
			}
			if field == "" {
				continue
			}
			k := -1
			for i, n := range res.DS {
				if n == field {
					k = i
					break
				}
			}
			if k < 0 {
				r := errorf("field %s not found in %s\n", field, s.names.shown(file))
				return nil, &r
			}
			for _, have := range f.cols {
				if have == k {
					r := errorf("field %s already used\n", field)
					return nil, &r
				}
			}
			f.cols = append(f.cols, k)
		}
	}
	if len(f.cols) == 0 {
		for i := range res.DS {
			f.cols = append(f.cols, i)
		}
	}
	return f, nil
}

func (f *fetched) header(b *bytes.Buffer) {
	fmt.Fprintf(b, "FlushVersion: 1\nStart: %d\nEnd: %d\nStep: %d\nDSCount: %d\n", f.res.Start, f.res.End, f.res.Step, len(f.cols))
}

func handleFetch(s *Server, c *conn, args []string) reply {
	f, bad := fetchArgs(s, "FETCH", args)
	if bad != nil {
		return *bad
	}
	var b bytes.Buffer
	f.header(&b)
	b.WriteString("DSName:")
	for _, k := range f.cols {
		b.WriteByte(' ')
		b.WriteString(f.res.DS[k])
	}
	b.WriteByte('\n')
	for i := 0; i < f.res.Rows(); i++ {
		fmt.Fprintf(&b, "%10d:", f.res.Start+int64(i+1)*f.res.Step)
		for _, k := range f.cols {
			b.WriteByte(' ')
			b.WriteString(formatE(f.res.Values[k][i], 17))
		}
		b.WriteByte('\n')
	}
	return ok("Success\n", b.Bytes())
}

// handleFetchBin answers as FETCH with each column as native doubles;
// rrdash writes little-endian and says so.
func handleFetchBin(s *Server, c *conn, args []string) reply {
	f, bad := fetchArgs(s, "FETCHBIN", args)
	if bad != nil {
		return *bad
	}
	var b bytes.Buffer
	f.header(&b)
	rows := f.res.Rows()
	for _, k := range f.cols {
		fmt.Fprintf(&b, "DSName-%s: BinaryData %d 8 LITTLE\n", f.res.DS[k], rows)
		for _, v := range f.res.Values[k][:rows] {
			b.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)))
		}
		b.WriteByte('\n')
	}
	return reply{bin: true, msg: fmt.Sprintf("%d Success\n", len(f.cols)+5), body: b.Bytes()}
}

// Types of INFO's lines (rrd_info_type_t).
const (
	infoVal = 0
	infoCnt = 1
	infoStr = 2
)

func handleInfo(s *Server, c *conn, args []string) reply {
	if len(args) == 0 {
		return syntaxError(s, "INFO")
	}
	file := args[0]
	name, err := s.names.series(file)
	if err != nil {
		return accessError(s, file, err)
	}
	in, err := s.st.Info(name)
	if err != nil {
		return openError(s, "RRD Error: ", file, err)
	}
	var b bytes.Buffer
	line := func(key string, typ int, v string) {
		b.WriteString(key)
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(typ))
		b.WriteByte(' ')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	val := func(v float64) string {
		if math.IsNaN(v) {
			return "NaN"
		}
		return formatE(v, 10)
	}
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	line("filename", infoStr, s.names.shown(file))
	line("rrd_version", infoStr, "0003")
	line("step", infoCnt, itoa(in.Step))
	line("last_update", infoCnt, itoa(in.LastUpdate))
	for i, d := range in.DS {
		p := "ds[" + d.Name + "]."
		line(p+"index", infoCnt, strconv.Itoa(i))
		line(p+"type", infoStr, d.Type)
		if d.Type == "COMPUTE" {
			line(p+"cdef", infoStr, d.CDEF)
		} else {
			line(p+"minimal_heartbeat", infoCnt, itoa(d.Heartbeat))
			line(p+"min", infoVal, val(d.Min))
			line(p+"max", infoVal, val(d.Max))
		}
		line(p+"last_ds", infoStr, d.LastDS)
		line(p+"value", infoVal, val(d.Value))
		line(p+"unknown_sec", infoCnt, itoa(d.UnknownSec))
	}
	for i, r := range in.RRA {
		p := "rra[" + strconv.Itoa(i) + "]."
		line(p+"cf", infoStr, r.CF)
		line(p+"rows", infoCnt, itoa(r.Rows))
		line(p+"cur_row", infoCnt, itoa(r.CurRow))
		line(p+"pdp_per_row", infoCnt, itoa(r.Steps))
		line(p+"xff", infoVal, val(r.XFF))
		for d, cdp := range r.CDP {
			q := p + "cdp_prep[" + strconv.Itoa(d) + "]."
			line(q+"value", infoVal, val(cdp.Value))
			line(q+"unknown_datapoints", infoCnt, itoa(cdp.UnknownPDP))
		}
	}
	return ok(fmt.Sprintf("Info for %s follows\n", s.names.shown(file)), b.Bytes())
}

func handleFirst(s *Server, c *conn, args []string) reply {
	if len(args) < 2 {
		return syntaxError(s, "FIRST")
	}
	file := args[0]
	name, err := s.names.series(file)
	if err != nil {
		return accessError(s, file, err)
	}
	idx := atoi(args[1])
	if idx < 0 {
		return errorf("Invalid index specified (%d)\n", idx)
	}
	spec, err := s.st.Spec(name)
	if err != nil {
		return openError(s, "RRD Error: ", file, err)
	}
	if idx >= int64(len(spec.RRA)) {
		return errorf("RRD Error: invalid rraindex number\n")
	}
	last, err := s.st.LastUpdate(name)
	if err != nil {
		return openError(s, "RRD Error: ", file, err)
	}
	r := spec.RRA[idx]
	span := r.Steps * spec.Step
	t := last - last%span - (r.Rows-1)*span
	if t < 1 {
		return errorf("RRD Error: \n")
	}
	return ok(fmt.Sprintf("%d\n", t), nil)
}

// handleLast answers the last update time rounded down to the step, as
// rrdcached 1.7.2 does.
func handleLast(s *Server, c *conn, args []string) reply {
	if len(args) == 0 {
		return syntaxError(s, "LAST")
	}
	file := args[0]
	name, err := s.names.series(file)
	if err != nil {
		return accessError(s, file, err)
	}
	spec, err := s.st.Spec(name)
	if err != nil {
		return openError(s, "RRD Error: ", file, err)
	}
	last, err := s.st.LastUpdate(name)
	if err != nil {
		return openError(s, "RRD Error: ", file, err)
	}
	t := last - last%spec.Step
	if t < 1 {
		return errorf("Error: rrdcached: Invalid timestamp returned\n")
	}
	return ok(fmt.Sprintf("%d\n", t), nil)
}

// handleList lists series as files under a path of the data directory:
// series names with "/" are files in directories.
func handleList(s *Server, c *conn, args []string) reply {
	var dir string
	recursive := false
	switch {
	case len(args) == 0:
		return syntaxError(s, "LIST")
	case strings.HasPrefix(args[0], "/"):
		dir = args[0]
	case args[0] == "RECURSIVE":
		recursive = true
		if len(args) < 2 {
			return syntaxError(s, "LIST")
		}
		dir = args[1]
	default:
		return syntaxError(s, "LIST")
	}
	full := s.names.dir + "/" + strings.TrimPrefix(dir, "/")
	if !strings.HasPrefix(dir, "/") {
		full = s.names.dir + "/" + dir
	}
	if strings.Contains(dir, "..") {
		return errorf("Cannot read: %s\n", full)
	}
	names, err := s.st.List("")
	if err != nil {
		return errorf("List %s: %v\n", full, err)
	}
	var files []string
	for _, n := range names {
		if f := fileOf(n); f != "" {
			files = append(files, f)
		}
	}
	rel := strings.Trim(path.Clean("/"+dir), "/")
	var out []string
	switch {
	case strings.ContainsAny(rel, "*?["):
		if recursive {
			return errorf("List %s: Invalid argument\n", full)
		}
		for _, f := range files {
			if ok, _ := path.Match(rel, f); ok {
				out = append(out, path.Base(f))
			}
		}
		if len(out) == 0 {
			return errorf("List %s: No such file or directory\n", full)
		}
	case strings.HasSuffix(rel, ".rrd"):
		for _, f := range files {
			if f == rel {
				out = append(out, path.Base(f))
			}
		}
		if len(out) == 0 {
			return errorf("List %s: No such file or directory\n", full)
		}
	default:
		prefix := rel + "/"
		if rel == "" {
			prefix = ""
		}
		seen := map[string]bool{}
		found := rel == ""
		for _, f := range files {
			sub, under := strings.CutPrefix(f, prefix)
			if !under {
				continue
			}
			found = true
			if recursive {
				out = append(out, sub)
				continue
			}
			if d, _, isDir := strings.Cut(sub, "/"); isDir {
				sub = d
			}
			if !seen[sub] {
				seen[sub] = true
				out = append(out, sub)
			}
		}
		if !found {
			return errorf("List %s: No such file or directory\n", full)
		}
	}
	sort.Strings(out)
	var b bytes.Buffer
	for _, f := range out {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	return ok("RRDs\n", b.Bytes())
}
