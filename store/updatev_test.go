package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// PreviewRows changes nothing; UpdateV applies and reports the same rows.
func TestPreviewRowsChangesNothing(t *testing.T) {
	t.Parallel()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec, err := ParseSpecArgs(10, 1000000000, []string{"DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:5", "RRA:MAX:0.5:2:5"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("s", spec, false); err != nil {
		t.Fatal(err)
	}
	ups := []Update{{Time: 1000000010, Values: []string{"1"}}, {Time: 1000000041, Usec: 500000, Values: []string{"2"}}, {Time: 1000000030, Values: []string{"3"}}}
	before, _ := db.Info("s")
	rows, err := db.PreviewRows("s", ups)
	var ue *UpdateError
	if !errors.As(err, &ue) || ue.Index != 2 || !errors.Is(err, ErrTooOld) {
		t.Fatalf("preview: %v", err)
	}
	// printed: NaN is not DeepEqual to itself
	if after, _ := db.Info("s"); fmt.Sprintf("%+v", before) != fmt.Sprintf("%+v", after) {
		t.Fatalf("preview changed the series:\n%+v\n%+v", before, after)
	}
	if len(rows) != 2 || len(rows[0]) != 1 || len(rows[1]) != 5 { // 1 row, then 3 AVERAGE rows and 2 MAX rows
		t.Fatalf("rows: %+v", rows)
	}
	got, refused, err := db.UpdateV(context.Background(), "s", ups)
	if err != nil || refused == nil || refused.Index != 2 {
		t.Fatalf("UpdateV: %v %v", refused, err)
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", rows) {
		t.Errorf("UpdateV reported %+v, the preview %+v", got, rows)
	}
	if last, _ := db.LastUpdate("s"); last != 1000000041 {
		t.Errorf("last update %d after UpdateV", last)
	}
	if _, err := db.PreviewRows("nope", ups); !errors.Is(err, ErrNotFound) {
		t.Errorf("preview of a missing series: %v", err)
	}
}
