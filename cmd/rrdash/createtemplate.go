package main

import (
	"errors"
	"fmt"
	"strings"

	"rrdash/store"
)

// templateSpec is `create --template OLD`: the step (unless --step is
// given), data sources and archives of series OLD, then the DS: and RRA:
// arguments after them, as rrdtool 1.7.2 takes them from a template file;
// the new series starts empty.
func templateSpec(db seriesStore, tmpl string, step int64, stepGiven bool, start int64, args []string) (store.Spec, error) {
	t, err := db.Spec(tmpl)
	if errors.Is(err, store.ErrNotFound) {
		return store.Spec{}, fmt.Errorf("Cannot open template RRD %s", tmpl)
	}
	if err != nil {
		return store.Spec{}, err
	}
	spec := store.Spec{Step: t.Step, Start: start, DS: append([]store.DS(nil), t.DS...), RRA: append([]store.RRA(nil), t.RRA...)}
	if stepGiven {
		spec.Step = step
	}
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "DS:"):
			ds, err := store.ParseDS(a)
			if err != nil {
				return store.Spec{}, err
			}
			for _, d := range spec.DS {
				if d.Name == ds.Name {
					return store.Spec{}, fmt.Errorf("Duplicate DS name: %s", ds.Name)
				}
			}
			spec.DS = append(spec.DS, ds)
		case strings.HasPrefix(a, "RRA:"):
			r, err := store.ParseRRA(a, spec.Step)
			if err != nil {
				return store.Spec{}, err
			}
			spec.RRA = append(spec.RRA, r)
		default:
			return store.Spec{}, fmt.Errorf("can't parse argument %q: want DS:… or RRA:…", a)
		}
	}
	return spec, spec.Validate()
}
