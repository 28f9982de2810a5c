package meta

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestAnnotationStarts: the start times within a range with every tag,
// oldest first; past the limit an error, never a short list.
func TestAnnotationStarts(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		u, err := m.EnsureUser(ctx, User{Handle: "alice", Issuer: "i", Subject: "a"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []Annotation{
			{Time: 5000, TimeEnd: 9000, Text: "outage", Tags: []string{"incident", "web"}},
			{Time: 1000, TimeEnd: 1000, Text: "deploy", Tags: []string{"deploy", "web"}},
			{Time: 2000, TimeEnd: 2000, Text: "deploy", Tags: []string{"deploy"}},
			{Time: 2000, TimeEnd: 2000, Text: "odd tag", Tags: []string{`de%p_"loy`}},
			{Time: 9999, TimeEnd: 9999, Text: "late", Tags: nil},
		} {
			if _, err := m.CreateAnnotation(ctx, u, a); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			from, to int64
			tags     []string
			limit    int
			want     []int64
			err      bool
		}{
			{0, 10000, nil, 10, []int64{1000, 2000, 2000, 5000, 9999}, false},
			{0, 10000, []string{"deploy"}, 10, []int64{1000, 2000}, false},
			{0, 10000, []string{"deploy", "web"}, 10, []int64{1000}, false},
			{0, 10000, []string{"web"}, 10, []int64{1000, 5000}, false},
			{0, 10000, []string{`de%p_"loy`}, 10, []int64{2000}, false},
			{0, 10000, []string{"de%"}, 10, nil, false},
			{2000, 5000, nil, 10, []int64{2000, 2000, 5000}, false}, // starts within, both ends included
			{6000, 9000, nil, 10, nil, false},                       // the outage started before
			{0, 10000, nil, 4, nil, true},
			{0, 10000, nil, 5, []int64{1000, 2000, 2000, 5000, 9999}, false},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprint(tc.from, tc.to, tc.tags, tc.limit), func(t *testing.T) {
				got, err := m.AnnotationStarts(ctx, tc.from, tc.to, tc.tags, tc.limit)
				if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
					t.Errorf("got %v, %v; want %v, error %v", got, err, tc.want, tc.err)
				}
			})
		}
	})
}
