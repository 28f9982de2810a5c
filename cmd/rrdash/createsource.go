package main

import (
	"errors"
	"strings"

	"rrdash/store"
)

// takeSources takes every `--source OLD` (-r OLD, --source=OLD) out of
// create's arguments: rrdtool takes the option many times, in order.
func takeSources(args []string) (sources, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if v, ok := strings.CutPrefix(a, "--source="); ok {
			sources = append(sources, v)
			continue
		}
		if a == "--source" || a == "-r" {
			if i+1 >= len(args) {
				return nil, nil, usageError{"option " + a + " needs a value"}
			}
			i++
			sources = append(sources, args[i])
			continue
		}
		rest = append(rest, a)
	}
	return sources, rest, nil
}

// takeDSMappings rewrites create's DS:new=old[index]:… arguments in place
// as DS:new:… and returns their mappings (used by --source; without it
// rrdtool parses and ignores them, and so does rrdash).
func takeDSMappings(args []string) ([]store.DSMapping, error) {
	var maps []store.DSMapping
	for i, a := range args {
		plain, m, ok, err := store.SplitDSMapping(a)
		if err != nil {
			return nil, err
		}
		if ok {
			args[i] = plain
			maps = append(maps, m)
		}
	}
	return maps, nil
}

// sourceCreator is a store that creates a series from others' data: the
// data directory, or a server, which runs it itself (XCREATE --source).
type sourceCreator interface {
	CreateFromSources(name string, spec store.Spec, startGiven bool, sources []string, maps []store.DSMapping, overwrite bool) error
}

func createFromSources(db seriesStore, name string, spec store.Spec, startGiven bool, sources []string, maps []store.DSMapping, overwrite bool) error {
	sc, ok := db.(sourceCreator)
	if !ok {
		return errors.New("create --source: this store cannot create a series from sources")
	}
	return sc.CreateFromSources(name, spec, startGiven, sources, maps, overwrite)
}
