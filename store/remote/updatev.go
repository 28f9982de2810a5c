package remote

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"rrdash/store"
)

// XUPDATEV <series> <time[.usec]:value:…>…
//
//	→ N updatev, then per row written "row <update index> <time> <rra>
//	  <pdp_per_row> <cf> <value>…" (rrdtool updatev's report, in its
//	  order), and, when an update was refused, a last line "refused <K>
//	  <quoted error>" (those before it are applied and durable, none
//	  after). Answered once durable.

// updateVer is what XUPDATEV needs of a store; *store.DB has it.
type updateVer interface {
	UpdateV(ctx context.Context, name string, ups []store.Update) ([][]store.RowWrite, *store.UpdateError, error)
}

var _ updateVer = (*store.DB)(nil)

func serveUpdateV(ctx context.Context, st Store, args []string) Reply {
	uv, ok := st.(updateVer)
	if !ok {
		return fail(errors.New("XUPDATEV: this store cannot report the rows an update writes"))
	}
	if len(args) < 2 {
		return usage("XUPDATEV <series> <time[.usec]:value:…>…")
	}
	name := args[0]
	ups := make([]store.Update, 0, len(args)-1)
	var parseErr error
	for _, a := range args[1:] {
		u, err := parseSent(a)
		if err != nil {
			parseErr = fmt.Errorf("%s: %w", name, err)
			break
		}
		ups = append(ups, u)
	}
	rows, refused, err := uv.UpdateV(ctx, name, ups)
	if err != nil {
		return fail(err)
	}
	var lines []string
	var b []byte
	for i, rs := range rows {
		for _, r := range rs {
			b = fmt.Appendf(b[:0], "row %d %d %d %d %s", i, r.Time, r.RRA, r.Steps, r.CF)
			for _, v := range r.Values {
				b = append(append(b, ' '), num(v)...)
			}
			lines = append(lines, string(b))
		}
	}
	switch {
	case refused != nil:
		lines = append(lines, fmt.Sprintf("refused %d %s", refused.Index, strconv.Quote(refused.Error())))
	case parseErr != nil:
		lines = append(lines, fmt.Sprintf("refused %d %s", len(ups), strconv.Quote(parseErr.Error())))
	}
	return Reply{Msg: "updatev", Lines: lines}
}

// UpdateV applies updates of one series as store.DB.UpdateV does and
// returns the rows each wrote.
func (c *Client) UpdateV(ctx context.Context, name string, ups []store.Update) ([][]store.RowWrite, *store.UpdateError, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	fields := []string{"XUPDATEV", name}
	for _, u := range ups {
		fields = append(fields, string(formatSent(nil, u)))
	}
	res, err := c.ext(fields...)
	if err != nil {
		return nil, nil, err
	}
	rows, refused, err := parseUpdateV(res.lines, len(ups))
	if err != nil {
		return nil, nil, fmt.Errorf("rrdcached at %s: XUPDATEV %s: %w", c.addr, name, err)
	}
	return rows, refused, nil
}

func parseUpdateV(lines []string, n int) ([][]store.RowWrite, *store.UpdateError, error) {
	bad := func(l string) error { return fmt.Errorf("%w: line %q", errBadAnswer, truncate(l)) }
	rows := [][]store.RowWrite{}
	var refused *store.UpdateError
	for li, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			return nil, nil, bad(l)
		}
		switch f[0] {
		case "row":
			if len(f) < 6 || refused != nil {
				return nil, nil, bad(l)
			}
			var iv [4]int64
			for k := range iv {
				v, err := strconv.ParseInt(f[1+k], 10, 64)
				if err != nil {
					return nil, nil, bad(l)
				}
				iv[k] = v
			}
			cf, err := store.ParseCF(f[5])
			if err != nil || iv[0] < int64(len(rows))-1 || iv[0] >= int64(n) {
				return nil, nil, bad(l)
			}
			r := store.RowWrite{Time: iv[1], RRA: int(iv[2]), Steps: iv[3], CF: cf}
			for _, s := range f[6:] {
				v, err := parseNum(s)
				if err != nil {
					return nil, nil, err
				}
				r.Values = append(r.Values, v)
			}
			for int64(len(rows)) <= iv[0] {
				rows = append(rows, nil)
			}
			rows[iv[0]] = append(rows[iv[0]], r)
		case "refused":
			ks, q, _ := strings.Cut(strings.TrimPrefix(l, "refused "), " ")
			k, kerr := strconv.Atoi(ks)
			msg, qerr := strconv.Unquote(q)
			if kerr != nil || qerr != nil || k < 0 || k > n || li != len(lines)-1 {
				return nil, nil, bad(l)
			}
			refused = &store.UpdateError{Index: k, Err: storeError(&ServerError{Msg: msg})}
		default:
			return nil, nil, bad(l)
		}
	}
	// updates that wrote no row have no line: the count is what was applied
	applied := n
	if refused != nil {
		applied = refused.Index
	}
	if len(rows) > applied {
		return nil, nil, fmt.Errorf("%w: rows of %d updates, %d applied", errBadAnswer, len(rows), applied)
	}
	for len(rows) < applied {
		rows = append(rows, nil)
	}
	return rows, refused, nil
}
