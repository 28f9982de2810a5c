// Command xportcmp times `rrdtool xport` against `rrdash xport`, whole
// processes, on the same RRD of 1,000,000 rows and a 10-operator CDEF, in
// one run, after checking that both print the same bytes (make bench).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

func main() {
	bin := flag.String("rrdash", "./rrdash", "rrdash binary")
	runs := flag.Int("runs", 9, "timed runs of each (the median is reported)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "xportcmp")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)

	const rows = 1_000_000
	const t0 = 1_599_999_960
	xml := filepath.Join(dir, "big.xml")
	writeDump(xml, rows, t0)
	rrd := filepath.Join(dir, "big.rrd")
	run("rrdtool", "restore", xml, rrd)
	data := filepath.Join(dir, "data")
	run(*bin, "--data", data, "import", xml, "big")

	cdef := "CDEF:c=a,2,*,a,+,3,-,a,/,1.5,*,a,MAX,0,MIN,a,ADDNAN,10,+,a,-"
	opts := []string{"xport", "--start", strconv.Itoa(t0), "--end", strconv.Itoa(t0 + rows*60), "--maxrows", strconv.Itoa(rows)}
	rrdArgs := append(slices.Clone(opts), "DEF:a="+rrd+":a:AVERAGE", cdef, "XPORT:c")
	dashArgs := append([]string{"--data", data}, append(slices.Clone(opts), "DEF:a=big:a:AVERAGE", cdef, "XPORT:c")...)
	if !bytes.Equal(run("rrdtool", rrdArgs...), run(*bin, dashArgs...)) {
		fail(fmt.Errorf("rrdash xport output differs from rrdtool's"))
	}
	var tr, td []time.Duration
	for range *runs { // interleaved, so both see the same machine
		tr = append(tr, timed("rrdtool", rrdArgs))
		td = append(td, timed(*bin, dashArgs))
	}
	mr, md := median(tr), median(td)
	fmt.Println("| workload | rrdtool 1.7.2 | rrdash | rrdtool / rrdash |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| xport, 1,000,000 rows, 10-operator CDEF, whole process, XML to /dev/null (median of %d) | %.3f s | %.3f s | %.2f× |\n",
		*runs, mr.Seconds(), md.Seconds(), mr.Seconds()/md.Seconds())
}

// writeDump writes an `rrdtool dump` of one GAUGE with rows one-minute rows.
func writeDump(path string, rows, t0 int) {
	f, err := os.Create(path)
	if err != nil {
		fail(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "<rrd><version>0003</version><step>60</step><lastupdate>%d</lastupdate>"+
		"<ds><name>a</name><type>GAUGE</type><minimal_heartbeat>120</minimal_heartbeat><min>NaN</min><max>NaN</max>"+
		"<last_ds>1</last_ds><value>0</value><unknown_sec>0</unknown_sec></ds>"+
		"<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5</xff></params><cdp_prep><ds>"+
		"<primary_value>0</primary_value><secondary_value>0</secondary_value><value>NaN</value>"+
		"<unknown_datapoints>0</unknown_datapoints></ds></cdp_prep><database>\n", t0+rows*60)
	for i := range rows {
		fmt.Fprintf(w, "<row><v>%d.5</v></row>\n", (i*7)%101-30)
	}
	w.WriteString("</database></rra></rrd>\n")
	if err := w.Flush(); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

func run(bin string, args ...string) []byte {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		fail(fmt.Errorf("%s %v: %v %s", bin, args[:min(3, len(args))], err, stderr.Bytes()))
	}
	return out
}

// timed runs one command with stdout to /dev/null.
func timed(bin string, args []string) time.Duration {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fail(fmt.Errorf("%s: %v", bin, err))
	}
	return time.Since(start)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "xportcmp:", err)
	os.Exit(1)
}
