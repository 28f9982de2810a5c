package remote

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"rrdash/store"
)

// maxRequest keeps an XUPDATE line under the server's line limit (rrdash
// serve reads 64 KiB); longer runs of updates go in several commands,
// which keeps rrdtool's semantics: the first refused update stops the
// run and those before it stay applied.
const maxRequest = 32 << 10

// specEntry caches a series' data sources for updates.
type specEntry struct {
	spec store.Spec
}

// storeError turns a server's refusal back into the store's error: the
// same text, and ErrNotFound still matches.
func storeError(err error) error {
	var se *ServerError
	if !errors.As(err, &se) {
		return err
	}
	if rest, ok := strings.CutPrefix(se.Msg, store.ErrNotFound.Error()+": "); ok {
		return fmt.Errorf("%w: %s", store.ErrNotFound, rest)
	}
	if strings.Contains(se.Msg, "illegal attempt to update using time ") {
		return tooOldError{err}
	}
	return err
}

// tooOldError is the store's refusal of an update at or before the last
// one, as the server tells it: errors.Is(err, store.ErrTooOld) holds, as
// locally (update --skip-past-updates passes over these).
type tooOldError struct{ err error }

func (e tooOldError) Error() string        { return e.err.Error() }
func (e tooOldError) Is(target error) bool { return target == store.ErrTooOld }
func (e tooOldError) Unwrap() error        { return e.err }

func (c *Client) ext(fields ...string) (*response, error) {
	res, err := c.request(fields...)
	if err != nil {
		var se *ServerError
		if errors.As(err, &se) && strings.HasPrefix(se.Msg, "Unknown command") {
			return nil, fmt.Errorf("the server at %s is not rrdash serve (it does not know %s): %s", c.addr, fields[0], se.Msg)
		}
		return nil, storeError(err)
	}
	return res, nil
}

// Delete removes series as store.DB.Delete does.
func (c *Client) Delete(names ...string) error {
	c.mu.Lock()
	for _, n := range names {
		delete(c.specs, n)
	}
	c.mu.Unlock()
	_, err := c.ext(append([]string{"XDELETE"}, names...)...)
	return err
}

// Rename renames a series as store.DB.Rename does.
func (c *Client) Rename(old, new string) error {
	c.mu.Lock()
	delete(c.specs, old)
	delete(c.specs, new)
	c.mu.Unlock()
	_, err := c.ext("XRENAME", old, new)
	return err
}

// Create makes a series as store.DB.Create does.
func (c *Client) Create(name string, spec store.Spec, overwrite bool) error {
	fields := []string{"XCREATE", name, strconv.FormatInt(spec.Step, 10), strconv.FormatInt(spec.Start, 10), "0"}
	if overwrite {
		fields[4] = "1"
	}
	for _, d := range spec.DS {
		fields = append(fields, d.String())
	}
	for _, r := range spec.RRA {
		fields = append(fields, r.String())
	}
	c.mu.Lock()
	delete(c.specs, name)
	c.mu.Unlock()
	_, err := c.ext(fields...)
	return err
}

// Info returns a series' definition and state as store.DB.Info does.
func (c *Client) Info(name string) (*store.Info, error) {
	res, err := c.ext("XINFO", name)
	if err != nil {
		return nil, err
	}
	in, err := parseInfo(res.lines)
	if err != nil {
		return nil, fmt.Errorf("rrdcached at %s: XINFO %s: %w", c.addr, name, err)
	}
	return in, nil
}

func parseInfo(lines []string) (*store.Info, error) {
	in := &store.Info{}
	bad := func(l string) error { return fmt.Errorf("%w: line %q", errBadAnswer, truncate(l)) }
	for _, l := range lines {
		key, rest, _ := strings.Cut(l, " ")
		switch key {
		case "name":
			s, err := strconv.Unquote(rest)
			if err != nil {
				return nil, bad(l)
			}
			in.Name = s
		case "step", "last_update":
			n, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				return nil, bad(l)
			}
			if key == "step" {
				in.Step = n
			} else {
				in.LastUpdate = n
			}
		case "ds":
			f := strings.SplitN(rest, " ", 8)
			if len(f) != 8 {
				return nil, bad(l)
			}
			d := store.DSInfo{Name: f[0], Type: f[1]}
			var errs [6]error
			d.Heartbeat, errs[0] = strconv.ParseInt(f[2], 10, 64)
			d.Min, errs[1] = parseNum(f[3])
			d.Max, errs[2] = parseNum(f[4])
			d.Value, errs[3] = parseNum(f[5])
			d.UnknownSec, errs[4] = strconv.ParseInt(f[6], 10, 64)
			d.LastDS, errs[5] = strconv.Unquote(f[7])
			if errors.Join(errs[:]...) != nil {
				return nil, bad(l)
			}
			d.JMin, d.JMax, d.JValue = finite(d.Min), finite(d.Max), finite(d.Value)
			in.DS = append(in.DS, d)
		case "rra":
			f := strings.Fields(rest)
			if len(f) != 5 {
				return nil, bad(l)
			}
			r := store.RRAInfo{CF: f[0]}
			var errs [4]error
			r.Rows, errs[0] = strconv.ParseInt(f[1], 10, 64)
			r.CurRow, errs[1] = strconv.ParseInt(f[2], 10, 64)
			r.Steps, errs[2] = strconv.ParseInt(f[3], 10, 64)
			r.XFF, errs[3] = parseNum(f[4])
			if errors.Join(errs[:]...) != nil {
				return nil, bad(l)
			}
			in.RRA = append(in.RRA, r)
		case "cdp":
			f := strings.Fields(rest)
			if len(f) != 2 || len(in.RRA) == 0 {
				return nil, bad(l)
			}
			v, err1 := parseNum(f[0])
			u, err2 := strconv.ParseInt(f[1], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, bad(l)
			}
			r := &in.RRA[len(in.RRA)-1]
			r.CDP = append(r.CDP, store.CDPInfo{Value: v, JValue: finite(v), UnknownPDP: u})
		case "rrd_version", "hwdef", "hw":
			if err := parseHWInfoLine(in, key, rest); err != nil {
				return nil, bad(l)
			}
		case "meta":
			k, v, err := unquotePair(rest)
			if err != nil {
				return nil, bad(l)
			}
			if in.Meta == nil {
				in.Meta = map[string]string{}
			}
			in.Meta[k] = v
		default:
			return nil, bad(l)
		}
	}
	return in, nil
}

// unquotePair reads two quoted strings separated by a space.
func unquotePair(s string) (string, string, error) {
	k, err := strconv.QuotedPrefix(s)
	if err != nil || len(s) <= len(k) || s[len(k)] != ' ' {
		return "", "", errBadAnswer
	}
	ks, _ := strconv.Unquote(k)
	vs, err := strconv.Unquote(s[len(k)+1:])
	return ks, vs, err
}

// finite mirrors the store's JSON fields: nil (null) unless finite.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Spec returns the data sources and archives of a series (its start is
// not kept by the store after create, and is 0 here).
func (c *Client) Spec(name string) (store.Spec, error) {
	c.mu.Lock()
	e, ok := c.specs[name]
	c.mu.Unlock()
	if ok {
		return e.spec, nil
	}
	in, err := c.Info(name)
	if err != nil {
		return store.Spec{}, err
	}
	spec := store.Spec{Step: in.Step}
	for _, d := range in.DS {
		t, err := store.ParseDSType(d.Type)
		if err != nil {
			return store.Spec{}, fmt.Errorf("rrdcached at %s: series %s: %w", c.addr, name, err)
		}
		spec.DS = append(spec.DS, store.DS{Name: d.Name, Type: t, Heartbeat: d.Heartbeat, Min: d.Min, Max: d.Max})
	}
	for _, r := range in.RRA {
		cf, err := store.ParseCF(r.CF)
		if err != nil {
			return store.Spec{}, fmt.Errorf("rrdcached at %s: series %s: %w", c.addr, name, err)
		}
		spec.RRA = append(spec.RRA, store.RRA{CF: cf, XFF: r.XFF, Steps: r.Steps, Rows: r.Rows})
	}
	c.mu.Lock()
	c.specs[name] = specEntry{spec: spec}
	c.mu.Unlock()
	return spec, nil
}

// LastUpdate returns the time of a series' last update (exactly, not
// rounded to the step as rrdcached's LAST answers).
func (c *Client) LastUpdate(name string) (int64, error) {
	in, err := c.Info(name)
	if err != nil {
		return 0, err
	}
	return in.LastUpdate, nil
}

// List returns the series names matching a glob, sorted.
func (c *Client) List(pattern string) ([]string, error) {
	fields := []string{"XLIST"}
	if pattern != "" {
		fields = append(fields, pattern)
	}
	res, err := c.ext(fields...)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(res.lines))
	for _, l := range res.lines {
		n, err := strconv.Unquote(l)
		if err != nil {
			return nil, fmt.Errorf("rrdcached at %s: XLIST: %w: %q", c.addr, errBadAnswer, truncate(l))
		}
		names = append(names, n)
	}
	return names, nil
}

// Fetch answers like store.DB.Fetch.
func (c *Client) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	align := "0"
	if req.AlignStart {
		align = "1"
	}
	res, err := c.ext("XFETCH", name, req.CF.String(), strconv.FormatInt(req.Start, 10), strconv.FormatInt(req.End, 10),
		strconv.FormatInt(req.Resolution, 10), align)
	if err != nil {
		return nil, err
	}
	out, err := parseFetch(res.lines)
	if err != nil {
		return nil, fmt.Errorf("rrdcached at %s: XFETCH %s: %w", c.addr, name, err)
	}
	return out, nil
}

func parseFetch(lines []string) (*store.FetchResult, error) {
	if len(lines) < 6 {
		return nil, fmt.Errorf("%w: %d lines", errBadAnswer, len(lines))
	}
	var out store.FetchResult
	var hdr [5]string
	for i, k := range []string{"Start", "End", "Step", "CF", "RRA"} {
		v, ok := strings.CutPrefix(lines[i], k+": ")
		if !ok {
			return nil, fmt.Errorf("%w: want %s, got %q", errBadAnswer, k, truncate(lines[i]))
		}
		hdr[i] = v
	}
	var errs [5]error
	out.Start, errs[0] = strconv.ParseInt(hdr[0], 10, 64)
	out.End, errs[1] = strconv.ParseInt(hdr[1], 10, 64)
	out.Step, errs[2] = strconv.ParseInt(hdr[2], 10, 64)
	out.CF, errs[3] = store.ParseCF(hdr[3])
	out.RRA, errs[4] = strconv.Atoi(hdr[4])
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadAnswer, err)
	}
	ds, ok := strings.CutPrefix(lines[5], "DSName: ")
	if !ok {
		return nil, fmt.Errorf("%w: want DSName, got %q", errBadAnswer, truncate(lines[5]))
	}
	if ds != "" {
		out.DS = strings.Split(ds, " ")
	}
	rows := len(lines) - 6
	if out.Step <= 0 || out.End-out.Start != int64(rows)*out.Step {
		return nil, fmt.Errorf("%w: %d rows for start %d, end %d, step %d", errBadAnswer, rows, out.Start, out.End, out.Step)
	}
	out.Values = make([][]float64, len(out.DS))
	for d := range out.Values {
		out.Values[d] = make([]float64, rows)
	}
	for i, l := range lines[6:] {
		ts, vals, ok := strings.Cut(l, ":")
		t, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || t != out.Start+int64(i+1)*out.Step {
			return nil, fmt.Errorf("%w: row %d: %q", errBadAnswer, i, truncate(l))
		}
		f := strings.Fields(vals)
		if len(f) != len(out.DS) {
			return nil, fmt.Errorf("%w: row %d has %d values for %d data sources", errBadAnswer, i, len(f), len(out.DS))
		}
		for d, s := range f {
			if out.Values[d][i], err = parseNum(s); err != nil {
				return nil, fmt.Errorf("row %d: %w", i, err)
			}
		}
	}
	return &out, nil
}

// Apply applies a batch as store.DB.Apply does: when the answer comes,
// the server has made the updates durable. Positions cannot be sent.
func (c *Client) Apply(ctx context.Context, b store.Batch) (store.Result, error) {
	res, wait, err := c.ApplyAsync(ctx, b)
	if err != nil {
		return res, err
	}
	return res, wait()
}

// ApplyAsync is Apply; the server has already made the updates durable,
// so wait returns nil at once. Consecutive updates of one series go in
// one XUPDATE; the first refused update stops the batch when
// b.StopOnError, else the rest of its run is sent again after it.
func (c *Client) ApplyAsync(ctx context.Context, b store.Batch) (store.Result, func() error, error) {
	var res store.Result
	if len(b.Positions) > 0 {
		return res, nil, errors.New("source positions cannot be sent through the rrdcached protocol")
	}
	done := func() error { return nil }
	for i := 0; i < len(b.Updates); {
		if err := ctx.Err(); err != nil {
			return res, nil, err
		}
		name := b.Updates[i].Series
		fields := []string{"XUPDATE", name}
		size, j := len(name), i
		for ; j < len(b.Updates) && b.Updates[j].Series == name && (j == i || size < maxRequest); j++ {
			s := string(formatSent(nil, b.Updates[j]))
			size += len(s) + 1
			fields = append(fields, s)
		}
		_, err := c.ext(fields...)
		var se *ServerError
		switch {
		case err == nil:
			res.Applied += j - i
			i = j
			continue
		case !errors.As(err, &se):
			return res, nil, err
		}
		// "-1 K msg": the K-th update of the command was refused, the
		// ones before it were applied
		ks, msg, _ := strings.Cut(se.Msg, " ")
		k, kerr := strconv.Atoi(ks)
		if kerr != nil || k < 0 || k >= j-i {
			return res, nil, fmt.Errorf("rrdcached at %s: XUPDATE: %w: %q", c.addr, errBadAnswer, truncate(se.Msg))
		}
		res.Applied += k
		res.Errors = append(res.Errors, &store.UpdateError{Index: i + k, Err: storeError(&ServerError{Status: se.Status, Msg: msg})})
		if b.StopOnError {
			return res, done, nil
		}
		i += k + 1
	}
	return res, done, nil
}
