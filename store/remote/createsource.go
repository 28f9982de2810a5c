package remote

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"rrdash/store"
)

// create --source through a server: XCREATE takes, between <overwrite>
// and the DS and RRA arguments, the options
//
//	--source=OLD      a source, in order (a series, else an rrdtool file's
//	                  absolute path on the server's machine)
//	--map=NEW=OLD:I   a DS:NEW=OLD[I] mapping (I -1: none given)
//	--start-given     --start was given (else the sources' latest last
//	                  update is the start)
//
// and the server runs store.DB.CreateFromSources itself, so the rows it
// fills (rrdtool's rrd_prefill_data) are what a local create gives. A
// server without them answers "can't parse argument '--source=…'".

// sourceCreator is what XCREATE with sources needs; *store.DB has it.
type sourceCreator interface {
	CreateFromSources(name string, spec store.Spec, startGiven bool, sources []string, maps []store.DSMapping, overwrite bool) error
}

var _ sourceCreator = (*store.DB)(nil)

// createSources are XCREATE's source options.
type createSources struct {
	sources    []string
	maps       []store.DSMapping
	startGiven bool
}

// takeCreateSources takes the source options from the front of args.
func takeCreateSources(args []string) (createSources, []string, error) {
	var cs createSources
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		a := args[0]
		switch {
		case a == "--start-given":
			cs.startGiven = true
		case strings.HasPrefix(a, "--source="):
			cs.sources = append(cs.sources, a[len("--source="):])
		case strings.HasPrefix(a, "--map="):
			m, err := parseMap(a[len("--map="):])
			if err != nil {
				return cs, nil, err
			}
			cs.maps = append(cs.maps, m)
		default:
			return cs, nil, fmt.Errorf("XCREATE: unknown option %q", a)
		}
		args = args[1:]
	}
	return cs, args, nil
}

func parseMap(s string) (store.DSMapping, error) {
	name, rest, ok1 := strings.Cut(s, "=")
	old, idx, ok2 := strings.Cut(rest, ":")
	i, err := strconv.Atoi(idx)
	if !ok1 || !ok2 || err != nil || name == "" || old == "" {
		return store.DSMapping{}, fmt.Errorf("XCREATE: bad --map=%s: want NEW=OLD:INDEX", s)
	}
	return store.DSMapping{Name: name, Old: old, Index: i}, nil
}

// serveCreateSources creates a series from its sources on the server.
func serveCreateSources(st Store, name string, spec store.Spec, cs createSources, overwrite bool) Reply {
	sc, ok := st.(sourceCreator)
	if !ok {
		return fail(errors.New("XCREATE: this store cannot create a series from sources"))
	}
	if err := sc.CreateFromSources(name, spec, cs.startGiven, cs.sources, cs.maps, overwrite); err != nil {
		return fail(err)
	}
	return Reply{Msg: "created"}
}

// CreateFromSources creates a series from the data of others on the
// server, as store.DB.CreateFromSources does. A source that is a file here
// (an rrdtool file) is sent as its absolute path, for the server to read
// when no series has that name: the same file when the server runs on
// this machine.
func (c *Client) CreateFromSources(name string, spec store.Spec, startGiven bool, sources []string, maps []store.DSMapping, overwrite bool) error {
	fields := []string{"XCREATE", name, strconv.FormatInt(spec.Step, 10), strconv.FormatInt(spec.Start, 10), "0"}
	if overwrite {
		fields[4] = "1"
	}
	if startGiven {
		fields = append(fields, "--start-given")
	}
	for _, s := range sources {
		if fi, err := os.Stat(s); err == nil && fi.Mode().IsRegular() && !filepath.IsAbs(s) {
			if abs, err := filepath.Abs(s); err == nil {
				s = abs
			}
		}
		fields = append(fields, "--source="+s)
	}
	for _, m := range maps {
		fields = append(fields, fmt.Sprintf("--map=%s=%s:%d", m.Name, m.Old, m.Index))
	}
	for _, d := range spec.DS {
		fields = append(fields, d.String())
	}
	for _, r := range spec.RRA {
		fields = append(fields, r.String())
	}
	c.forget(name)
	_, err := c.ext(fields...)
	return err
}
