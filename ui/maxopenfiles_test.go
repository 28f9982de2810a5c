package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxOpenFilesConfig: max_open_files is read from the file and the
// environment (which wins), and a negative value is refused.
func TestMaxOpenFilesConfig(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rrdash.toml")
	if err := os.WriteFile(path, []byte("max_open_files = 300\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		env  map[string]string
		want int64
		err  string
	}{
		{"", nil, 0, ""},
		{path, nil, 300, ""},
		{path, map[string]string{"RRDASH_MAX_OPEN_FILES": "64"}, 64, ""},
		{"", map[string]string{"RRDASH_MAX_OPEN_FILES": "-1"}, 0, "max_open_files -1: must be 0 (default) or more"},
		{"", map[string]string{"RRDASH_MAX_OPEN_FILES": "many"}, 0, "RRDASH_MAX_OPEN_FILES"},
	} {
		cfg, err := LoadServeConfig(tc.path, func(k string) string { return tc.env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %v: err = %v, want %q", tc.path, tc.env, err, tc.err)
			}
			continue
		}
		if err != nil || cfg.MaxOpenFiles != tc.want {
			t.Errorf("%s %v: max_open_files %d, %v; want %d", tc.path, tc.env, cfg.MaxOpenFiles, err, tc.want)
		}
	}
}
