package tracelog

import (
	"testing"

	"rrdash/store"
)

// openTestSink opens a real store in a temporary directory.
func openTestSink(t *testing.T) *store.DB {
	t.Helper()
	return openStore(t, t.TempDir())
}

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sinkRows returns the 1-step AVERAGE rows of the last two days of a series by end time.
func sinkRows(t *testing.T, db *store.DB, name string) map[int64][]float64 {
	t.Helper()
	last, err := db.LastUpdate(name)
	if err != nil {
		t.Fatal(err)
	}
	return fetchRows(t, db, name, last-2*86400+120, last)
}

// fetchRows reads the 1-step AVERAGE rows of a series by end time.
func fetchRows(t *testing.T, db *store.DB, name string, from, to int64) map[int64][]float64 {
	t.Helper()
	res, err := db.Fetch(name, store.FetchRequest{CF: store.Average, Start: from, End: to, Resolution: 60})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]float64{}
	for i := 0; i < res.Rows(); i++ {
		row := make([]float64, len(res.DS))
		for d := range res.DS {
			row[d] = res.Values[d][i]
		}
		out[res.Start+int64(i+1)*res.Step] = row
	}
	return out
}
