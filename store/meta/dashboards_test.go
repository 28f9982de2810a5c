package meta

import (
	"context"
	"errors"
	"testing"
)

func TestDashboardsCRUD(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		alice, err := m.EnsureUser(ctx, User{Handle: "alice", Issuer: "i", Subject: "a"})
		if err != nil {
			t.Fatal(err)
		}
		bob, err := m.EnsureUser(ctx, User{Handle: "bob", Issuer: "i", Subject: "b"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := m.CreateDashboard(ctx, alice, "Web tier", `{"panels":[]}`)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.CreateDashboard(ctx, bob, "DB tier", `{}`); err != nil {
			t.Fatal(err)
		}
		got, err := m.Dashboard(ctx, d.ID)
		if err != nil || got.Title != "Web tier" || got.Owner != "alice" || got.Definition != `{"panels":[]}` {
			t.Fatalf("Dashboard = %+v, %v", got, err)
		}
		if _, err := m.UpdateDashboard(ctx, bob, d.ID, "mine now", `{}`); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob updates alice's dashboard: %v", err)
		}
		if err := m.DeleteDashboard(ctx, bob, d.ID); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob deletes alice's dashboard: %v", err)
		}
		if _, err := m.UpdateDashboard(ctx, alice, d.ID, "Web", `{"panels":[{"graph":"x"}]}`); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			q    ListQuery
			want int
		}{{ListQuery{}, 2}, {ListQuery{Owner: "alice"}, 1}, {ListQuery{Search: "db"}, 1}, {ListQuery{Search: "%"}, 0}}
		for _, tt := range tests {
			ds, err := m.ListDashboards(ctx, tt.q)
			if err != nil || len(ds) != tt.want {
				t.Errorf("ListDashboards(%+v) = %d, %v; want %d", tt.q, len(ds), err, tt.want)
			}
		}
		if err := m.DeleteDashboard(ctx, alice, d.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Dashboard(ctx, d.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
	})
}

func TestAnnotations(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		alice, err := m.EnsureUser(ctx, User{Handle: "alice", Issuer: "i", Subject: "a"})
		if err != nil {
			t.Fatal(err)
		}
		bob, err := m.EnsureUser(ctx, User{Handle: "bob", Issuer: "i", Subject: "b"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []Annotation{
			{Time: 1000, TimeEnd: 1000, Text: "deploy", Tags: []string{"deploy", "web"}},
			{Time: 5000, TimeEnd: 9000, Text: "outage", Tags: []string{"incident"}},
			{Time: 20000, TimeEnd: 20000, Text: "later", Tags: []string{"webby"}},
		} {
			if _, err := m.CreateAnnotation(ctx, alice, a); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			q    AnnotationQuery
			want []string
		}{
			{AnnotationQuery{From: 0, To: 30000}, []string{"later", "outage", "deploy"}},
			{AnnotationQuery{From: 6000, To: 7000}, []string{"outage"}}, // inside the range
			{AnnotationQuery{From: 0, To: 30000, Tags: []string{"web"}}, []string{"deploy"}},
			{AnnotationQuery{From: 0, To: 30000, Tags: []string{"web", "deploy"}}, []string{"deploy"}},
			{AnnotationQuery{From: 0, To: 30000, Tags: []string{"%"}}, nil},
			{AnnotationQuery{From: 0, To: 30000, Limit: 1}, []string{"later"}},
			{AnnotationQuery{From: 9001, To: 19999}, nil},
		}
		for _, tt := range tests {
			as, err := m.Annotations(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range as {
				got = append(got, a.Text)
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) || (len(got) == 3 && got[2] != tt.want[2]) {
				t.Errorf("Annotations(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		}
		as, _ := m.Annotations(ctx, AnnotationQuery{From: 0, To: 2000})
		if len(as) != 1 || as[0].Owner != "alice" || len(as[0].Tags) != 2 {
			t.Fatalf("stored annotation: %+v", as)
		}
		if err := m.DeleteAnnotation(ctx, bob, as[0].ID); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob deletes alice's annotation: %v", err)
		}
		if err := m.DeleteAnnotation(ctx, alice, as[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := m.DeleteAnnotation(ctx, alice, as[0].ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
	})
}
