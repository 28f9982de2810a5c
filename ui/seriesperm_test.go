package ui

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"

	"rrdash/store/meta"
)

func TestMayChangeSeries(t *testing.T) {
	t.Parallel()
	cfg := SeriesAdminConfig{Admins: []string{"root"}, Owners: []SeriesOwner{{Prefix: "team-a.", Users: []string{"carol", "dave"}}, {Prefix: "shared.", Users: []string{"carol"}}}}
	tests := []struct {
		name  string
		cfg   SeriesAdminConfig
		local bool
		user  string
		names []string
		want  bool
	}{
		{"no section: every signed-in user", SeriesAdminConfig{}, false, "eve", []string{"anything"}, true},
		{"local mode: the local user", cfg, true, "local", []string{"x"}, true},
		{"admin: any series", cfg, false, "root", []string{"x", "team-a.y"}, true},
		{"owner under the prefix", cfg, false, "dave", []string{"team-a.web1.cpu"}, true},
		{"owner outside the prefix", cfg, false, "dave", []string{"team-b.web1.cpu"}, false},
		{"rename out of the prefix", cfg, false, "dave", []string{"team-a.x", "elsewhere.x"}, false},
		{"rename between owned prefixes", cfg, false, "carol", []string{"team-a.x", "shared.x"}, true},
		{"a prefix is no glob: team-ab is not team-a.", cfg, false, "carol", []string{"team-ab.x"}, false},
		{"someone else", cfg, false, "eve", []string{"team-a.x"}, false},
		{"nobody signed in", cfg, false, "", []string{"team-a.x"}, false},
		{"no names", cfg, false, "carol", nil, false},
	}
	e := echo.New()
	for _, tt := range tests {
		s := &Server{cfg: Config{LocalMode: tt.local, SeriesAdmin: tt.cfg}}
		c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
		c.Set(userKey, meta.User{Handle: tt.user})
		if got := s.mayChangeSeries(c, tt.names...); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSeriesChangeRefused: the API refuses who may not (403) and changes
// nothing; series info tells the builder whether to show the controls.
func TestSeriesChangeRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	ts.srv.cfg.LocalMode = false
	ts.srv.cfg.SeriesAdmin = SeriesAdminConfig{Owners: []SeriesOwner{{Prefix: "tracelog.", Users: []string{"carol"}}}}
	e := echo.New()
	call := func(user, method, target, body string, h func(*echo.Context) error) error {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		c := e.NewContext(req, httptest.NewRecorder())
		c.Set(userKey, meta.User{Handle: user})
		return h(c)
	}
	code := func(err error) int {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he.Code
		}
		if err != nil {
			return 500
		}
		return 200
	}
	if got := code(call("eve", "DELETE", "/api/v1/series?name=tracelog.web1", "", ts.srv.apiDeleteSeries)); got != 403 {
		t.Errorf("eve deletes: %d, want 403", got)
	}
	if got := code(call("carol", "POST", "/api/v1/series/rename", `{"old":"tracelog.web1","new":"other.web1"}`, ts.srv.apiRenameSeries)); got != 403 {
		t.Errorf("carol renames out of her prefix: %d, want 403", got)
	}
	if l, _ := ts.store.List(""); !slices.Contains(l, "tracelog.web1") {
		t.Fatal("a refused change changed the store")
	}
	for _, tt := range []struct {
		user string
		want string
	}{{"eve", `"may_change":false`}, {"carol", `"may_change":true`}} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/series/info?name=tracelog.web1", nil)
		rec := httptest.NewRecorder()
		c := e.NewContext(req, rec)
		c.Set(userKey, meta.User{Handle: tt.user})
		if err := ts.srv.apiSeriesInfo(c); err != nil || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("series info for %s: %v %s, want %s", tt.user, err, rec.Body.String(), tt.want)
		}
	}
	if got := code(call("carol", "DELETE", "/api/v1/series?name=tracelog.web1", "", ts.srv.apiDeleteSeries)); got != 200 {
		t.Errorf("carol deletes under her prefix: %d, want 200", got)
	}
}

func TestSeriesAdminConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  SeriesAdminConfig
		want string
	}{
		{SeriesAdminConfig{Admins: []string{"a"}, Owners: []SeriesOwner{{Prefix: "x.", Users: []string{"b"}}}}, ""},
		{SeriesAdminConfig{Owners: []SeriesOwner{{Prefix: "", Users: []string{"b"}}}}, "prefix is empty"},
		{SeriesAdminConfig{Owners: []SeriesOwner{{Prefix: "x.*", Users: []string{"b"}}}}, "not a glob"},
		{SeriesAdminConfig{Owners: []SeriesOwner{{Prefix: "x."}}}, "no users"},
		{SeriesAdminConfig{Admins: []string{""}}, "empty user"},
	} {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestServeConfigSeriesAdmin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := writeTestFile(t, dir, "sa.toml", `[series_admin]
admins = ["root"]
[[series_admin.owners]]
prefix = "team-a."
users = ["carol", "dave"]
`)
	c, err := LoadServeConfig(p, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.SeriesAdmin.Admins, []string{"root"}) || len(c.SeriesAdmin.Owners) != 1 || c.SeriesAdmin.Owners[0].Prefix != "team-a." || len(c.SeriesAdmin.Owners[0].Users) != 2 {
		t.Errorf("series_admin read as %+v", c.SeriesAdmin)
	}
	bad := writeTestFile(t, dir, "bad.toml", "[[series_admin.owners]]\nprefix = \"x.*\"\nusers = [\"a\"]\n")
	if _, err := LoadServeConfig(bad, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "series_admin") {
		t.Errorf("a glob prefix: %v", err)
	}
}
