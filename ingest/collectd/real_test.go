package collectd

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"rrdash/tools/testdeps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rrdash/ingest/push"
	"rrdash/store"
)

// tap is a PointWriter that keeps what it passes to a real writer.
type tap struct {
	w   push.PointWriter
	mu  sync.Mutex
	pts []push.Point
}

func (r *tap) Write(ctx context.Context, pts []push.Point) (push.WriteResult, error) {
	r.mu.Lock()
	r.pts = append(r.pts, pts...)
	r.mu.Unlock()
	return r.w.Write(ctx, pts)
}

func (r *tap) points() []push.Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]push.Point(nil), r.pts...)
}

func newStoreWriter(t testing.TB) (*store.DB, *push.Writer) {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Few rows: the tests create many series.
	tmpl, err := store.ParseSpecArgs(1, 0, []string{"DS:value:GAUGE:600:U:U", "RRA:LAST:0.5:1:100"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := push.NewWriter(db, push.WriterConfig{Template: tmpl, MaxDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return db, w
}

// TestRealCollectd runs Debian's collectd with its network plugin sending
// load, memory and cpu every second to rrdash's listener on loopback, in
// each security mode, and checks the series and their values.
func TestRealCollectd(t *testing.T) {
	testdeps.Program(t, "collectd", "/usr/sbin/collectd")
	testdeps.File(t, "collectd's types.db", DefaultTypesDB)
	types, err := ReadTypesDB(DefaultTypesDB)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, mode, password string }{
		{"None", "None", ""}, {"Sign", "Sign", "s3cret pass"}, {"Encrypt", "Encrypt", "s3cret pass"},
		{"SignWrongPassword", "Sign", "wrong"}, {"EncryptWrongPassword", "Encrypt", "wrong"},
	} {
		mode := tc.mode
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			level, err := ParseSecurityLevel(mode)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			auth := filepath.Join(dir, "auth")
			if err := os.WriteFile(auth, []byte("# collectd users\nalice: s3cret pass\nbob:other\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			users, err := ReadAuthFile(auth)
			if err != nil {
				t.Fatal(err)
			}
			db, w := newStoreWriter(t)
			rec := &tap{w: w}
			srv, err := New(rec, Config{Addr: "127.0.0.1:0", Level: level, Users: users, Types: types})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- srv.Run(ctx) }()

			security := ""
			if mode != "None" {
				security = fmt.Sprintf("SecurityLevel %s\n    Username \"alice\"\n    Password %q", mode, tc.password)
			}
			conf := fmt.Sprintf(`Hostname "rrdash-test"
FQDNLookup false
Interval 1
BaseDir %q
PIDFile %q
PluginDir "/usr/lib/collectd"
TypesDB %q
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File %q
</Plugin>
LoadPlugin load
LoadPlugin memory
LoadPlugin cpu
LoadPlugin network
<Plugin network>
  <Server "127.0.0.1" "%d">
    %s
  </Server>
</Plugin>
`, dir, filepath.Join(dir, "pid"), DefaultTypesDB, filepath.Join(dir, "log"), srv.Addr().(*net.UDPAddr).Port, security)
			confPath := filepath.Join(dir, "collectd.conf")
			if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(ctx, "/usr/sbin/collectd", "-f", "-C", confPath)
			out, _ := os.Create(filepath.Join(dir, "stdout"))
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Three intervals give two rates of the DERIVE values.
			want := []string{"collectd.load.load.shortterm;host=rrdash-test", "collectd.memory.memory;host=rrdash-test;type_instance=used",
				"collectd.cpu.cpu;host=rrdash-test;plugin_instance=0;type_instance=idle"}
			if tc.password == "wrong" {
				// Every packet is refused, counted and logged; nothing stored.
				deadline := time.Now().Add(20 * time.Second)
				for srv.Stats().Bad < 2 && time.Now().Before(deadline) {
					time.Sleep(200 * time.Millisecond)
				}
				cmd.Process.Kill()
				cmd.Wait()
				cancel()
				<-done
				if st := srv.Stats(); st.Bad < 2 || st.Points != 0 || len(rec.points()) != 0 {
					t.Fatalf("with a wrong password: stats %+v, %d points", st, len(rec.points()))
				}
				return
			}
			deadline := time.Now().Add(20 * time.Second)
			for !hasAll(rec.points(), want, 2) && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
			}
			cmd.Process.Kill()
			cmd.Wait()
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			pts := rec.points()
			if !hasAll(pts, want, 2) {
				log, _ := os.ReadFile(filepath.Join(dir, "log"))
				t.Fatalf("after 20 s, not every series has two points: %d points, stats %+v\ncollectd log:\n%s", len(pts), srv.Stats(), log)
			}
			st := srv.Stats()
			if st.Bad != 0 || st.Refused != 0 || st.KernelDrops != 0 {
				t.Errorf("stats %+v", st)
			}
			for _, p := range pts {
				v, err := strconv.ParseFloat(p.Value, 64)
				if p.Value == "U" {
					continue
				}
				if err != nil {
					t.Fatalf("%s: value %q", p.Series, p.Value)
				}
				switch {
				case strings.HasPrefix(p.Series, "collectd.load."):
					if v < 0 || v > 5000 {
						t.Errorf("%s = %v", p.Series, v)
					}
				case strings.HasPrefix(p.Series, "collectd.memory."):
					if v < 0 || v > 1<<48 {
						t.Errorf("%s = %v", p.Series, v)
					}
				case strings.HasPrefix(p.Series, "collectd.cpu.cpu;"):
					// jiffies per second: at most USER_HZ (100) per CPU
					if v < 0 || v > 1000 {
						t.Errorf("%s = %v jiffies/s", p.Series, v)
					}
				}
				if d := time.Since(time.Unix(p.Sec, 0)); d < -time.Second || d > time.Minute {
					t.Errorf("%s stamped %d, %v ago", p.Series, p.Sec, d)
				}
			}
			for _, name := range want {
				if _, err := db.LastUpdate(name); err != nil {
					t.Errorf("series %s not in the store: %v", name, err)
				}
			}
			t.Logf("%s: %d points, %d series kinds; stats %+v", mode, len(pts), len(want), st)
		})
	}
}

func hasAll(pts []push.Point, names []string, n int) bool {
	count := map[string]int{}
	for _, p := range pts {
		count[p.Series]++
	}
	for _, name := range names {
		if count[name] < n {
			return false
		}
	}
	return true
}
