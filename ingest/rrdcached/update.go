package rrdcached

import (
	"errors"
	"fmt"

	"rrdash/store"
)

// handleUpdate applies UPDATE <file> <values>…: values in order, stopping
// at the first one refused (those before it stay applied, as rrdcached
// keeps them in its cache); the answer waits until they are durable.
func handleUpdate(s *Server, c *conn, args []string) reply {
	if len(args) == 0 {
		return syntaxError(s, "UPDATE")
	}
	s.updatesRx.Add(1)
	file := args[0]
	vals := args[1:]
	// The connection remembers file names: a batch names the same files
	// again and again. A stale DS count (the series was created anew) is
	// refused by the store with a clear error.
	fi, cached := c.names[file]
	if !cached {
		name, err := s.names.series(file)
		if err != nil {
			return accessError(s, file, err)
		}
		spec, err := s.specOrAdopt(file, name)
		if errors.Is(err, store.ErrNotFound) {
			return errorf("No such file: %s\n", s.names.shown(file))
		}
		if err != nil {
			return errorf("RRD Error: %v\n", err)
		}
		key, ok := s.seriesKey(name)
		if !ok {
			key = -1
		}
		fi = fileInfo{file, name, key, len(spec.DS), spec.InputIndexes()}
		if c.names == nil || len(c.names) > 1<<16 {
			c.names = map[string]fileInfo{}
			c.lastFile, c.lastFI = "", fileInfo{}
		}
		c.names[file] = fi
	}
	name, nds := fi.name, fi.nds
	if c.batch && len(vals) == 1 {
		if t, ok := stamp(vals[0]); ok && t > 0 {
			k := len(c.chunk)
			c.chunk = append(c.chunk, store.Update{})
			u, err := store.ParseUpdateArgInto(vals[0], fi.tmpl, nds, s.cfg.Now(), make([]string, nds))
			if err == nil {
				u.Series = name
				c.chunk[k] = u
				c.chunkKeys = append(c.chunkKeys, fi.key)
				c.chunkCmds = c.chunkCmds.add(c.batchCmd)
				c.chunkLen += len("update ") + len(file) + 1 + len(vals[0]) + 1
				if len(c.chunk) >= maxChunk {
					c.flushChunk()
				}
				return reply{deferred: true}
			}
			c.chunk = c.chunk[:k]
		}
	}
	c.sync() // the chunk's updates come first
	b := store.Batch{StopOnError: true, Updates: make([]store.Update, 0, len(vals))}
	backing := make([]string, len(vals)*nds)
	var refusal *reply
	now := s.cfg.Now()
	for i, v := range vals {
		t, ok := stamp(v)
		if !ok {
			r := errorf("Cannot find timestamp in '%s'!\n", v)
			refusal = &r
			break
		}
		if t <= 0 {
			r := tooOld(s, name, t)
			refusal = &r
			break
		}
		u, err := store.ParseUpdateArgInto(v, fi.tmpl, nds, now, backing[i*nds:(i+1)*nds])
		if err != nil {
			r := errorf("RRD Error: %s: %v\n", name, err)
			refusal = &r
			break
		}
		u.Series = name
		b.Updates = append(b.Updates, u)
	}
	if len(vals) == 0 {
		return errorf("No values updated.\n")
	}
	if len(b.Updates) == 0 {
		return *refusal
	}
	res, wait, err := s.st.ApplyAsync(c.ctx, b)
	if err != nil {
		return errorf("RRD Error: %v\n", err)
	}
	s.touch(name)
	if res.Applied > 0 {
		s.written.Add(1)
		s.dataSets.Add(int64(res.Applied))
		n := len("update")
		for _, a := range args {
			n += 1 + len(a)
		}
		s.jbytes.Add(int64(n + 1))
	}
	r := ok(fmt.Sprintf("errors, enqueued %d value(s).\n", res.Applied), nil)
	switch {
	case len(res.Errors) > 0:
		ue := res.Errors[0]
		if errors.Is(ue, store.ErrTooOld) {
			u := b.Updates[ue.Index]
			r = tooOld(s, name, float64(u.Time)+float64(u.Usec)/1e6)
		} else {
			r = errorf("RRD Error: %v\n", ue)
		}
	case refusal != nil:
		r = *refusal
	}
	r.wait = wait
	return r
}

// tooOld is rrdcached's answer to an update at or before the last one.
func tooOld(s *Server, name string, t float64) reply {
	last, err := s.st.LastUpdate(name)
	if err != nil {
		return errorf("RRD Error: %v\n", err)
	}
	return errorf("illegal attempt to update using time %f when last update time is %f (minimum one second step)\n", t, float64(last))
}

func syntaxError(s *Server, name string) reply {
	i, _ := lookup(s.table, name)
	return errorf("Usage: %s", s.table[i].syntax)
}

// accessError answers a file name that maps to no series.
func accessError(s *Server, file string, err error) reply {
	if errors.Is(err, errOutside) {
		return errorf("%s: Permission denied\n", s.names.shown(file))
	}
	return errorf("No such file: %s\n", s.names.shown(file))
}

// nowUnix is the server's clock in seconds.
func (s *Server) nowUnix() int64 { return s.cfg.Now().Unix() }
