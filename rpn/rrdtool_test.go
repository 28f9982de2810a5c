package rpn

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"rrdash/store"
)

// runRRDTool runs rrdtool with a fixed locale and the given time zone.
func runRRDTool(bin, tz string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ="+tz)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("rrdtool %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()+out.String()))
	}
	return out.Bytes(), nil
}

// rrdFetcher is the test's Fetcher: it runs the real `rrdtool fetch` on RRD
// files. Their values are exactly representable with the 11 digits rrdtool
// prints (see makeMinuteRRD), so the rows are exactly rrdtool's.
type rrdFetcher struct {
	bin   string
	tz    string
	files map[string]string // series name → .rrd path

	mu    sync.Mutex
	cache map[string]*store.FetchResult
	calls int
}

func parseRRDValue(s string) (float64, error) {
	switch strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+") {
	case "nan", "NaN":
		return math.NaN(), nil
	}
	switch s {
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}

func (f *rrdFetcher) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	file, ok := f.files[name]
	if !ok {
		return nil, fmt.Errorf("no series %q", name)
	}
	args := []string{"fetch", file, req.CF.String(), "-s", strconv.FormatInt(req.Start, 10),
		"-e", strconv.FormatInt(req.End, 10), "-r", strconv.FormatInt(max(req.Resolution, 1), 10)}
	key := strings.Join(args, " ")
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.cache[key]; ok {
		return r, nil
	}
	f.calls++
	out, err := runRRDTool(f.bin, f.tz, args...)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	res := &store.FetchResult{CF: req.CF}
	var times []int64
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		ts, rest, ok := strings.Cut(line, ":")
		if !ok {
			res.DS = strings.Fields(line)
			res.Values = make([][]float64, len(res.DS))
			continue
		}
		t, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("fetch output %q: %v", line, err)
		}
		times = append(times, t)
		for i, fld := range strings.Fields(rest) {
			v, err := parseRRDValue(fld)
			if err != nil {
				return nil, fmt.Errorf("fetch output %q: %v", line, err)
			}
			res.Values[i] = append(res.Values[i], v)
		}
	}
	if len(times) < 2 {
		return nil, fmt.Errorf("fetch %s: fewer than 2 rows", key)
	}
	res.Step = times[1] - times[0]
	res.Start = times[0] - res.Step
	res.End = times[len(times)-1]
	f.cache[key] = res
	return res, nil
}

// xportXML is rrdtool xport's XML output.
type xportXML struct {
	Meta struct {
		Start int64 `xml:"start"`
		End   int64 `xml:"end"`
		Step  int64 `xml:"step"`
		Rows  int   `xml:"rows"`
	} `xml:"meta"`
	Rows []struct {
		V []string `xml:"v"`
	} `xml:"data>row"`
}

func parseXportXML(b []byte) (*xportXML, error) {
	var x xportXML
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return &x, nil
}

// libmOps are the operators computed by libm, where glibc and Go may differ
// in the last bit.
var libmOps = []string{"SIN", "COS", "LOG", "EXP", "POW", "ATAN", "ATAN2"}

func usesLibm(expr string) bool {
	for _, tok := range strings.Split(expr, ",") {
		for _, op := range libmOps {
			if tok == op {
				return true
			}
		}
	}
	return false
}

// perturbLibm multiplies the result of every libm operator in expr by f,
// to see how much a last-bits difference between glibc and Go can move the
// expression's value.
func perturbLibm(expr, f string) string {
	toks := strings.Split(expr, ",")
	var out []string
	for _, tok := range toks {
		out = append(out, tok)
		for _, op := range libmOps {
			if tok == op {
				out = append(out, f, "*")
			}
		}
	}
	return strings.Join(out, ",")
}

// near reports whether a and b agree to rel, treating NaN and infinities
// as equal only to themselves.
func near(a, b, rel float64) bool {
	if isNaN(a) || isNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b || isNaN(a) && isNaN(b)
	}
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

// verdict compares one of our values with rrdtool's text. Without libm the
// text must be identical. With libm (glibc and Go differ in the last bits)
// the row counts as well-conditioned when perturbing every libm result by
// ~1e-15 moves our value by at most 1e-12 relative; it must then agree
// with rrdtool within the printed precision, and otherwise is skipped.
func verdict(ours float64, theirs string, libm bool, perturbed []float64) (ok, skipped bool) {
	if xmlValue(ours) == theirs {
		return true, false
	}
	if !libm {
		return false, false
	}
	for _, p := range perturbed {
		if !near(ours, p, 1e-12) {
			return true, true
		}
	}
	t, err := parseRRDValue(theirs)
	if err != nil {
		return false, false
	}
	return near(ours, t, 6e-11), false
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
