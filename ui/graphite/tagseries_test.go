package graphite

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// canonicalTagged follows graphite-web 1.1.8's TaggedSeries.parse and
// format: carbon and OpenMetrics paths, tags sorted as formatted strings,
// the metric as the name, and its errors.
func TestCanonicalTagged(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want, err string }{
		{"app.cpu;host=b;dc=eu", "app.cpu;dc=eu;host=b", ""},
		{"app.cpu", "app.cpu", ""},
		{"~app.cpu;a=1", "app.cpu;a=1", ""},
		{"app.cpu;name=other;x=1", "app.cpu;x=1", ""},
		{"a;b.c=1;b=2", "a;b.c=1;b=2", ""}, // ";b.c=1" < ";b=2": '.' sorts before '='
		{`app.cpu{host="b",dc="e\"u"}`, `app.cpu;dc=e"u;host=b`, ""},
		{`app.cpu{host="b":,dc="eu"}`, "app.cpu;dc=eu;host=b", ""},
		{";a=1", "", "no metric found"},
		{"m;a", "", "invalid segment a"},
		{"m;=1", "", "invalid segment =1"},
		{"m;a=", "", `Value for tag "a" may not be empty`},
		{"m;a!=1", "", `Character '!' is not allowed in tag "a!"`},
		{"m;a=~x", "", `not allowed to start with "~"`},
		{"~~~;a=1", "", "results in emptry string"},
		{`m{a=1"}`, "", "invalid segment"},
		{`{a="1"}`, "", "no metric found"},
	} {
		got, err := canonicalTagged(tt.in)
		if tt.err == "" && (err != nil || got != tt.want) || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%q: %q, %v; want %q (error %q)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzCanonicalTagged(f *testing.F) {
	for _, s := range []string{"app.cpu;host=b;dc=eu", `m{a="1",b="x\\y"}`, "m;a=~", ";", "m{", `m{a=""}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := canonicalTagged(s)
		if err != nil {
			return
		}
		// a canonical path is its own canonical form
		if c2, err := canonicalTagged(c); err != nil || c2 != c {
			t.Fatalf("%q → %q → %q, %v", s, c, c2, err)
		}
	})
}

// The endpoints: POST only; a series that exists answers its canonical
// name; one that does not is refused, saying why; no path is a 400.
func TestTagSeriesEndpoints(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{})
	post := func(h http.HandlerFunc, form url.Values) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h(rec, req)
		return rec.Code, rec.Body.String()
	}
	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
		form url.Values
		code int
		want string
	}{
		{"existing", api.TagSeries, v("path", "app.cpu;host=a"), 200, `"app.cpu;host=a"` + "\n"},
		{"OpenMetrics form", api.TagSeries, v("path", `app.cpu{host="b"}`), 200, `"app.cpu;host=b"` + "\n"},
		{"plain existing", api.TagSeries, v("path", "a.b.c"), 200, `"a.b.c"` + "\n"},
		{"missing", api.TagSeries, v("path", "app.cpu;host=zz"), 400, "does not exist"},
		{"bad", api.TagSeries, v("path", "app.cpu;host"), 400, "invalid segment host"},
		{"no path", api.TagSeries, v(), 400, "no path specified"},
		{"multi", api.TagMultiSeries, v("path", "app.cpu;host=b", "path", "a.b.d"), 200, `["app.cpu;host=b","a.b.d"]` + "\n"},
		{"multi path[]", api.TagMultiSeries, v("path[]", "a.b.c"), 200, `["a.b.c"]` + "\n"},
		{"multi none", api.TagMultiSeries, v(), 400, "no paths specified"},
	} {
		code, body := post(tt.h, tt.form)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %q, want %d with %q", tt.name, code, body, tt.code, tt.want)
		}
	}
	rec := httptest.NewRecorder()
	api.TagSeries(rec, httptest.NewRequest(http.MethodGet, "/tags/tagSeries?path=a.b.c", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", rec.Code)
	}
}
