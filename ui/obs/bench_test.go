package obs

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkMiddleware: the per-request cost of request metrics and
// self-monitoring around a ServeMux route that does nothing.
func BenchmarkMiddleware(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /g/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, tc := range []struct {
		name string
		obs  []HTTPObserver
	}{
		{"none", nil},
		{"metrics", []HTTPObserver{NewMetrics()}},
		{"metrics+selfmon", []HTTPObserver{NewMetrics(), NewSelfMon(nil, SelfMonConfig{})}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := Middleware(mux, tc.obs...)
			req := httptest.NewRequest(http.MethodGet, "/g/abc", nil)
			w := httptest.NewRecorder()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
