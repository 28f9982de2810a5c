package main

import (
	"encoding/json"
	"fmt"
	"io"

	"rrdash/ui/obs"
)

// version, commit and commitTime are set by the Makefile: -ldflags "-X
// main.version=$(git describe --tags --always --dirty) -X
// main.commit=$(git rev-parse HEAD) -X main.commitTime=…". Empty in a plain
// go build, which then reports what go build stamped from the VCS.
var version, commit, commitTime string

const versionUsage = "usage: rrdash version [--json]\n" +
	"  Prints rrdash's version, VCS commit and time, and Go version and platform; opens no data directory."

// runVersion prints the build of this binary: one line, or JSON with --json.
func runVersion(args []string, stdout io.Writer) error {
	asJSON := false
	for _, a := range args {
		switch a {
		case "--json", "-json":
			asJSON = true
		default:
			return fmt.Errorf("version: unknown argument %q\n%s", a, versionUsage)
		}
	}
	b := obs.ReadBuildInfo(version, commit, commitTime)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Version   string `json:"version"`
			Revision  string `json:"revision"`
			Time      string `json:"time,omitempty"`
			Modified  bool   `json:"modified"`
			GoVersion string `json:"go_version"`
			Platform  string `json:"platform"`
		}{b.Version, b.Revision, b.Time, b.Modified, b.GoVersion, b.Platform})
	}
	_, err := fmt.Fprintln(stdout, versionLine(b))
	return err
}

// versionLine is e.g. "rrdash 0.4.0-12-gabc1234 (commit abc1234…, 2026-12-03T10:00:00Z, go1.26.8 linux/amd64)".
func versionLine(b obs.BuildInfo) string {
	commit := "commit unknown"
	if b.Revision != "" {
		commit = "commit " + b.Revision
		if b.Modified {
			commit += " modified"
		}
	}
	if b.Time != "" {
		commit += ", " + b.Time
	}
	return fmt.Sprintf("rrdash %s (%s, %s %s)", b.Version, commit, b.GoVersion, b.Platform)
}
