// Package influxtest runs a real InfluxDB 1.x server (Debian's influxd) on
// loopback for tests, from a temporary directory.
package influxtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"rrdash/tools/testdeps"
	"strings"
	"testing"
	"time"
)

// Server is a running influxd.
type Server struct {
	URL string // http://127.0.0.1:PORT

	t    testing.TB
	cfg  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts influxd with its data in a temporary directory; it is
// stopped when the test ends. A missing influxd skips the test, except
// with CI=true, where it fails it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := testdeps.Program(t, "influxd")
	dir := t.TempDir()
	httpPort, rpcPort := freePort(t), freePort(t)
	cfg := filepath.Join(dir, "influxdb.conf")
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:%d"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), t: t, cfg: cfg}
	s.cmd = exec.Command(bin, "-config", cfg)
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts a stopped server on the same port and data.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command(s.cmd.Path, "-config", s.cfg)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("influxd: %v", err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		select {
		case <-s.done:
			s.t.Fatalf("influxd exited at start (config %s)", s.cfg)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("influxd did not answer /ping within 30 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server (idempotent).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Query runs an InfluxQL statement (POST /query) in db and returns the
// rows of every series of every result, each row a column→value map
// with the series' tags (GROUP BY) as columns too; statements without
// rows return nil.
func (s *Server) Query(db, q string) ([]map[string]any, error) {
	resp, err := http.PostForm(s.URL+"/query", url.Values{"db": {db}, "q": {q}, "epoch": {"ns"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Tags    map[string]string `json:"tags"`
				Columns []string          `json:"columns"`
				Values  [][]any           `json:"values"`
			} `json:"series"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("query %q: %s: %w", q, resp.Status, err)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("query %q: %s", q, out.Error)
	}
	var rows []map[string]any
	for _, r := range out.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("query %q: %s", q, r.Error)
		}
		for _, ser := range r.Series {
			for _, v := range ser.Values {
				row := map[string]any{}
				for k, tv := range ser.Tags {
					row[k] = tv
				}
				for i, c := range ser.Columns {
					row[c] = v[i]
				}
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

// MustQuery is Query failing the test on error.
func (s *Server) MustQuery(db, q string) []map[string]any {
	s.t.Helper()
	rows, err := s.Query(db, q)
	if err != nil {
		s.t.Fatal(err)
	}
	return rows
}

// CreateDatabase creates db.
func (s *Server) CreateDatabase(db string) {
	s.t.Helper()
	s.MustQuery("", "CREATE DATABASE "+strings.ReplaceAll(db, `"`, ``))
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
