package ui

import (
	"fmt"
	"strings"
	"testing"
)

func TestServeConfigMetadataURL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pg := writeTestFile(t, dir, "pg.toml", "metadata_url = \"postgres://rrdash:hunter2@db.lan/rrdash\"\n")
	checkServeConfigs(t, []configCase{
		{"", nil, func(c ServeConfig) bool { return c.MetadataURL == "" }, ""},
		{pg, nil, func(c ServeConfig) bool {
			return string(c.MetadataURL) == "postgres://rrdash:hunter2@db.lan/rrdash" && !strings.Contains(fmt.Sprint(c), "hunter2")
		}, ""},
		{"", map[string]string{"RRDASH_METADATA_URL": "postgresql:///rrdash?host=/run/postgresql"}, func(c ServeConfig) bool {
			return c.MetadataURL == "postgresql:///rrdash?host=/run/postgresql"
		}, ""},
		{"", map[string]string{"RRDASH_METADATA_URL": "mysql://db.lan/rrdash"}, nil, "metadata_url: want a postgres://"},
		{"", map[string]string{"RRDASH_METADATA_URL": "/var/lib/rrdash/meta.db"}, nil, "metadata_url"},
	})
}
