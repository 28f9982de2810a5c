// Package packaging holds the files that ship rrdash (the systemd unit, the
// Debian package's scripts, the sample configuration) and tests them with
// the Dockerfile and the Makefile's release and deb targets.
package packaging

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"rrdash/tools/testdeps"
	"rrdash/ui"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case
	args string
}

func parseDockerfile(t *testing.T, src string) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		trimmed := strings.TrimSpace(l)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{start, strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile:%d: a continuation runs past the end", start)
	}
	return out
}

// TestDockerfile checks the Dockerfile as hadolint and a reviewer would
// (docker build cannot run here: no daemon): known instructions only;
// multi-stage, every base image pinned to a version; COPY --from names an
// earlier stage; apt-get with --no-install-recommends and its lists
// removed; npm ci from the lock file; a static, version-stamped go build;
// the last stage runs as a numeric non-root user, declares /data, exposes
// 8080, checks /-/healthz, and starts rrdash in exec form.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	ins := parseDockerfile(t, string(src))
	known := []string{"FROM", "RUN", "COPY", "WORKDIR", "ARG", "ENV", "USER", "VOLUME", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD", "STOPSIGNAL", "LABEL"}
	stages := map[string]bool{}
	var last []instruction // the final stage
	froms := 0
	for _, in := range ins {
		if !slices.Contains(known, in.cmd) {
			t.Errorf("Dockerfile:%d: unexpected instruction %s", in.line, in.cmd)
		}
		switch in.cmd {
		case "FROM":
			froms++
			f := strings.Fields(in.args)
			if len(f) != 3 || !strings.EqualFold(f[1], "AS") {
				t.Errorf("Dockerfile:%d: FROM %s: name every stage (FROM image AS name)", in.line, in.args)
				continue
			}
			img := f[0]
			if !strings.Contains(img, ":") || strings.HasSuffix(img, ":latest") {
				t.Errorf("Dockerfile:%d: base image %s is not pinned to a version (DL3006/DL3007)", in.line, img)
			}
			stages[f[2]] = true
			last = nil
		case "COPY":
			if from, ok := strings.CutPrefix(in.args, "--from="); ok {
				name, _, _ := strings.Cut(from, " ")
				if !stages[name] {
					t.Errorf("Dockerfile:%d: COPY --from=%s: no earlier stage of that name", in.line, name)
				}
			}
		case "RUN":
			if strings.Contains(in.args, "apt-get install") {
				if !strings.Contains(in.args, "--no-install-recommends") || !strings.Contains(in.args, "-y") {
					t.Errorf("Dockerfile:%d: apt-get install without -y --no-install-recommends (DL3015)", in.line)
				}
				if !strings.Contains(in.args, "rm -rf /var/lib/apt/lists/*") || !strings.Contains(in.args, "apt-get update") {
					t.Errorf("Dockerfile:%d: apt-get update and install without removing the lists in the same RUN (DL3009)", in.line)
				}
			}
			if strings.Contains(in.args, "npm install") {
				t.Errorf("Dockerfile:%d: npm install: use npm ci (the lock file)", in.line)
			}
			if strings.Contains(in.args, "go build") {
				for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "./cmd/rrdash"} {
					if !strings.Contains(in.args, want) {
						t.Errorf("Dockerfile:%d: go build without %s", in.line, want)
					}
				}
			}
			if strings.HasPrefix(in.args, "cd ") {
				t.Errorf("Dockerfile:%d: RUN cd: use WORKDIR (DL3003)", in.line)
			}
		}
		last = append(last, in)
	}
	if froms < 2 {
		t.Errorf("%d stages: want a multi-stage build", froms)
	}
	get := func(cmd string) []string {
		var out []string
		for _, in := range last {
			if in.cmd == cmd {
				out = append(out, in.args)
			}
		}
		return out
	}
	users := get("USER")
	if len(users) == 0 {
		t.Error("the final stage runs as root (no USER)")
	} else if u := users[len(users)-1]; !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(u) {
		t.Errorf("USER %s: want a numeric non-root uid (Kubernetes runAsNonRoot checks numbers)", u)
	}
	if v := get("VOLUME"); len(v) != 1 || !strings.Contains(v[0], `"/data"`) {
		t.Errorf("VOLUME %v: want /data", v)
	}
	if e := get("EXPOSE"); !slices.Contains(e, "8080") {
		t.Errorf("EXPOSE %v: want 8080", e)
	}
	if h := get("HEALTHCHECK"); len(h) != 1 || !strings.Contains(h[0], "/-/healthz") || !strings.Contains(h[0], "CMD [") {
		t.Errorf("HEALTHCHECK %v: want an exec-form check of /-/healthz", h)
	}
	var entry []string
	if e := get("ENTRYPOINT"); len(e) != 1 || json.Unmarshal([]byte(e[0]), &entry) != nil || len(entry) == 0 || !strings.HasSuffix(entry[0], "/rrdash") {
		t.Errorf("ENTRYPOINT %v: want the exec form [\"/usr/bin/rrdash\"] (DL3025)", e)
	}
	var cmd []string
	if c := get("CMD"); len(c) != 1 || json.Unmarshal([]byte(c[0]), &cmd) != nil || !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf("CMD %v: want [\"serve\"]", c)
	}
	env := strings.Join(get("ENV"), " ")
	if !strings.Contains(env, "RRDASH_DATA=/data") || !strings.Contains(env, "RRDASH_ADDR=0.0.0.0:8080") {
		t.Errorf("ENV %q: want RRDASH_DATA=/data and RRDASH_ADDR=0.0.0.0:8080", env)
	}
	ign, err := os.ReadFile("../.dockerignore")
	if err != nil || !strings.Contains(string(ign), "node_modules") || !strings.Contains(string(ign), ".git") {
		t.Errorf(".dockerignore must keep .git and node_modules out of the context: %v", err)
	}
}

// TestSystemdUnit runs systemd-analyze verify on the unit (ExecStart
// pointed at a real file) and checks the hardening it promises.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	unit, err := os.ReadFile("rrdash.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "User=rrdash", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "ReadWritePaths=/var/lib/rrdash", "PrivateTmp=yes", "CapabilityBoundingSet=\n", "StateDirectory=rrdash", "Delegate=yes"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("rrdash.service lacks %q", strings.TrimSpace(want))
		}
	}
	sa := testdeps.Program(t, "systemd-analyze")
	dir := t.TempDir()
	bin := filepath.Join(dir, "rrdash")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "rrdash.service")
	if err := os.WriteFile(p, bytes.ReplaceAll(unit, []byte("/usr/bin/rrdash"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", p).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify only warns about a bad line of the unit: any line naming it fails
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, p) {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}

// TestSampleConfig: the configuration the package installs loads and
// validates, and points at the package's data directory.
func TestSampleConfig(t *testing.T) {
	t.Parallel()
	cfg, err := ui.LoadServeConfig("rrdash.toml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "/var/lib/rrdash" || cfg.Addr != "127.0.0.1:8080" {
		t.Errorf("sample config: data %q addr %q", cfg.Data, cfg.Addr)
	}
	for _, s := range []string{"deb/postinst", "deb/prerm", "deb/postrm"} {
		if out, err := exec.Command("sh", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
	}
}

// TestReleaseAndDeb runs make release (amd64 only: the arm64 cross build
// of the same target takes minutes and was run by hand, see the README)
// and make deb with a fixed version: the tarball holds a static x86-64
// binary that reports the version, the README, unit and config, and its
// SHA256SUMS line verifies; the .deb, unpacked with dpkg -x into a temp
// root, has the layout, conffiles and control fields it should.
func TestReleaseAndDeb(t *testing.T) {
	t.Parallel()
	testdeps.Program(t, "dpkg-deb")
	dist := t.TempDir()
	const version = "1.2.3-test"
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("make", append([]string{"-s", "-C", "..", "DIST=" + dist, "VERSION=" + version, "COMMIT=0123456789abcdef", "COMMIT_TIME=2026-12-01T00:00:00Z"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("release", "ARCHES=amd64")
	rel := filepath.Join(dist, "release")
	tgz := filepath.Join(rel, "rrdash-"+version+"-linux-amd64.tar.gz")
	b, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	sums, _ := os.ReadFile(filepath.Join(rel, "SHA256SUMS"))
	if want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(tgz) + "\n"; string(sums) != want {
		t.Errorf("SHA256SUMS %q, want %q", sums, want)
	}
	files := map[string]*tar.Header{}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	binPath := filepath.Join(t.TempDir(), "rrdash")
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d", h.Name, h.Uid, h.Gid)
		}
		if strings.HasSuffix(h.Name, "/rrdash") {
			data, _ := io.ReadAll(tr)
			if err := os.WriteFile(binPath, data, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	top := "rrdash-" + version + "-linux-amd64/"
	for _, f := range []string{"rrdash", "README.md", "rrdash.service", "rrdash.toml"} {
		if files[top+f] == nil {
			t.Errorf("release tarball lacks %s (has %v)", top+f, keys(files))
		}
	}
	checkStatic(t, binPath, elf.EM_X86_64)
	if out, err := exec.Command(binPath, "version").CombinedOutput(); err != nil || !strings.Contains(string(out), "rrdash "+version+" (commit 0123456789abcdef") {
		t.Errorf("rrdash version: %v %q", err, out)
	}

	out := run("deb", "DEBARCH=amd64")
	deb := filepath.Join(dist, "deb", "rrdash_1.2.3+test_amd64.deb")
	if !strings.Contains(out, deb) {
		t.Fatalf("make deb made no %s:\n%s", deb, out)
	}
	info, err := exec.Command("dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends", "Recommends").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Package: rrdash", "Version: 1.2.3+test", "Architecture: amd64", "Depends: passwd", "Recommends: bubblewrap, python3"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("control lacks %q:\n%s", want, info)
		}
	}
	root := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -x: %v\n%s", err, out)
	}
	for p, mode := range map[string]os.FileMode{
		"usr/bin/rrdash": 0o755, "usr/lib/systemd/system/rrdash.service": 0o644, "etc/rrdash/rrdash.toml": 0o640,
		"etc/logrotate.d/rrdash": 0o644, "usr/share/doc/rrdash/README.md": 0o644,
	} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Errorf("the package lacks /%s", p)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("/%s: mode %v, want %v", p, fi.Mode().Perm(), mode)
		}
	}
	checkStatic(t, filepath.Join(root, "usr/bin/rrdash"), elf.EM_X86_64)
	ctl := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	conf, _ := os.ReadFile(filepath.Join(ctl, "conffiles"))
	if string(conf) != "/etc/rrdash/rrdash.toml\n/etc/logrotate.d/rrdash\n" {
		t.Errorf("conffiles %q", conf)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		fi, err := os.Stat(filepath.Join(ctl, s))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("maintainer script %s: %v", s, err)
		}
	}
	if post, _ := os.ReadFile(filepath.Join(ctl, "postinst")); !strings.Contains(string(post), "useradd --system") {
		t.Error("postinst makes no system user")
	}
	if unit, _ := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/rrdash.service")); !strings.Contains(string(unit), "ExecStart=/usr/bin/rrdash serve --config /etc/rrdash/rrdash.toml") {
		t.Error("the packaged unit does not start the packaged binary with the packaged config")
	}
}

func checkStatic(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s: machine %v, want %v", path, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked (has an interpreter)", path)
		}
	}
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
