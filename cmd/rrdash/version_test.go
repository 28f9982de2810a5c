package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"rrdash/ui/obs"
)

func TestVersionLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b    obs.BuildInfo
		want string
	}{
		{obs.BuildInfo{Version: "0.4.0-12-gabc1234", Revision: "abc1234ef", Time: "2026-12-03T10:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			"rrdash 0.4.0-12-gabc1234 (commit abc1234ef, 2026-12-03T10:00:00Z, go1.26.8 linux/amd64)"},
		{obs.BuildInfo{Version: "(devel)", Revision: "abc", Modified: true, GoVersion: "go1.26.8", Platform: "linux/arm64"},
			"rrdash (devel) (commit abc modified, go1.26.8 linux/arm64)"},
		{obs.BuildInfo{Version: "(devel)", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			"rrdash (devel) (commit unknown, go1.26.8 linux/amd64)"},
	}
	for _, tt := range tests {
		if got := versionLine(tt.b); got != tt.want {
			t.Errorf("versionLine = %q, want %q", got, tt.want)
		}
	}
}

// TestVersionCommand builds rrdash as the Makefile does (version and commit
// by -ldflags -X) and runs `rrdash version` and `rrdash version --json` in
// an empty directory with --data and $RRDASH_DATA set: both exit 0, report
// the stamped version, and create no data directory.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "rrdash")
	const ver, rev, when = "9.8.7-1-gdeadbee-dirty", "deadbeefcafe", "2026-12-03T10:00:00Z"
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-X main.version="+ver+" -X main.commit="+rev+" -X main.commitTime="+when, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	runIn := func(args ...string) (string, string) {
		t.Helper()
		wd := t.TempDir()
		cmd := exec.Command(bin, append([]string{"--data", filepath.Join(wd, "mydata")}, args...)...)
		cmd.Dir = wd
		cmd.Env = append(os.Environ(), "RRDASH_DATA="+filepath.Join(wd, "envdata"), "RRDASH_CONFIG=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("rrdash %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		ents, _ := os.ReadDir(wd)
		for _, e := range ents {
			t.Errorf("rrdash %s created %s", strings.Join(args, " "), e.Name())
		}
		return stdout.String(), stderr.String()
	}
	out, _ := runIn("version")
	want := "rrdash " + ver + " (commit " + rev + ", " + when + ", " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if out != want {
		t.Errorf("rrdash version = %q, want %q", out, want)
	}
	out, _ = runIn("version", "--json")
	var j map[string]any
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("rrdash version --json: %v\n%s", err, out)
	}
	if j["version"] != ver || j["revision"] != rev || j["time"] != when || j["go_version"] != runtime.Version() || j["platform"] != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("rrdash version --json = %v", j)
	}
	// An unknown argument is refused, not ignored.
	if err := run(t.Context(), []string{"version", "--short"}, nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--short") {
		t.Errorf("rrdash version --short: err %v, want it refused", err)
	}
}
