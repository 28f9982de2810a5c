package remote

import (
	"errors"
	"strconv"

	"rrdash/store"
)

// XTUNE <series> <tune argument>…            → 0 tuned   (store.DB.Tune)
// XRESIZE <series> <rra> <GROW|SHRINK> <rows> → 0 resized (store.DB.ResizeArchive)
//
// The server parses tune's arguments itself, so its errors are the same
// through it as on the data directory.

// tuner is what XTUNE and XRESIZE need of a store; *store.DB has it.
type tuner interface {
	Tune(name string, args []string) error
	ResizeArchive(name string, rra int, grow bool, rows int64) error
}

var _ tuner = (*store.DB)(nil)

func serveTune(st Store, args []string) Reply {
	t, ok := st.(tuner)
	if !ok {
		return fail(errors.New("XTUNE: this store cannot tune a series"))
	}
	if len(args) < 1 {
		return usage("XTUNE <series> <argument>…")
	}
	if err := t.Tune(args[0], args[1:]); err != nil {
		return fail(err)
	}
	return Reply{Msg: "tuned"}
}

func serveResize(st Store, args []string) Reply {
	t, ok := st.(tuner)
	if !ok {
		return fail(errors.New("XRESIZE: this store cannot resize a series"))
	}
	const syntax = "XRESIZE <series> <rra> <GROW|SHRINK> <rows>"
	if len(args) != 4 || args[2] != "GROW" && args[2] != "SHRINK" {
		return usage(syntax)
	}
	rra, err1 := strconv.Atoi(args[1])
	rows, err2 := strconv.ParseInt(args[3], 10, 64)
	if err1 != nil || err2 != nil {
		return usage(syntax)
	}
	if err := t.ResizeArchive(args[0], rra, args[2] == "GROW", rows); err != nil {
		return fail(err)
	}
	return Reply{Msg: "resized"}
}

// Tune changes a series as store.DB.Tune does.
func (c *Client) Tune(name string, args []string) error {
	c.forget(name)
	_, err := c.ext(append([]string{"XTUNE", name}, args...)...)
	return err
}

// ResizeArchive resizes an archive as store.DB.ResizeArchive does.
func (c *Client) ResizeArchive(name string, rra int, grow bool, rows int64) error {
	op := "SHRINK"
	if grow {
		op = "GROW"
	}
	c.forget(name)
	_, err := c.ext("XRESIZE", name, strconv.Itoa(rra), op, strconv.FormatInt(rows, 10))
	return err
}

// forget drops the cached definition of a series a command changes.
func (c *Client) forget(name string) {
	c.mu.Lock()
	delete(c.specs, name)
	c.mu.Unlock()
}
