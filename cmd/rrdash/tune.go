package main

import (
	"errors"
	"strconv"
	"strings"
)

// runTune is `rrdtool tune NAME ARG…` (store.DB.Tune): it prints nothing,
// as rrdtool 1.7.2.
func runTune(db seriesStore, args []string) error {
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		return usageError{"usage: rrdash tune NAME [--heartbeat|-h ds:hb] [--minimum|-i ds:min] [--maximum|-a ds:max] [--data-source-type|-d ds:TYPE] [--data-source-rename|-r old:new] [DEL:ds] [DS:…] [DELRRA:i] [RRA#i:=|+|-rows]"}
	}
	return db.Tune(args[0], args[1:])
}

// runResize is `rrdtool resize NAME RRA-NUM GROW|SHRINK ROWS`, in place:
// rrdtool writes the result to ./resize.rrd for the user to move over the
// file; a series has no file to move, so rrdash changes the series itself
// (atomically: the old archive or the new one, never half of each).
func runResize(db seriesStore, args []string) error {
	if len(args) != 4 {
		return errors.New("wrong number of parameters")
	}
	rra, _ := strconv.Atoi(args[1]) // atoi, as rrdtool: no digits is archive 0
	var grow bool
	switch args[2] {
	case "GROW":
		grow = true
	case "SHRINK":
	default:
		return errors.New("I can only GROW or SHRINK")
	}
	rows, _ := strconv.ParseInt(args[3], 10, 64)
	if rows < 1 {
		return errors.New("Please grow or shrink with at least 1 row")
	}
	return db.ResizeArchive(args[0], rra, grow, rows)
}
