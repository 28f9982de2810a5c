package main

import (
	"path/filepath"

	"rrdash/ui"
)

// metadataLocation is where serve keeps its metadata: metadata_url's
// PostgreSQL when set, else DATA/metadata.db.
func metadataLocation(cfg ui.ServeConfig) string {
	if cfg.MetadataURL != "" {
		return string(cfg.MetadataURL)
	}
	return filepath.Join(cfg.Data, "metadata.db")
}
