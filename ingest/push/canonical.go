package push

import "rrdash/store"

// GraphiteSeries checks a Graphite series name (`a.b;k=v;…`) and returns it
// with its tags sorted by key, as the Graphite listener stores it; other
// ingest paths that build Graphite names (statsd) use it so that the same
// metric lands in the same series whichever path it came by.
func GraphiteSeries(name string) (string, error) {
	s, err := seriesWithSortedTags(name)
	if err != nil {
		return "", err
	}
	if err := store.ValidSeriesName(s); err != nil {
		return "", err
	}
	return s, nil
}

// Step is the step in seconds of the series the writer creates.
func (w *Writer) Step() int64 { return w.tmpl.Step }
