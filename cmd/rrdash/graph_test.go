package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGraphCommandWritesPNG(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	must := func(args ...string) {
		t.Helper()
		out.Reset()
		if err := run(ctx, append([]string{"--data", dir}, args...), nil, &out, &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
	}
	must("create", "web.1", "--start", "1000000000", "--step", "60", "DS:req:GAUGE:120:0:U", "RRA:AVERAGE:0.5:1:1000")
	args := []string{"update", "web.1"}
	for i := 1; i <= 300; i++ {
		args = append(args, fmt.Sprintf("%d:%d", 1000000000+60*i, i%17))
	}
	must(args...)
	file := filepath.Join(dir, "g.png")
	must("graph", file, "--start", "1000000000", "--end", "1000018000", "--title", "requests <b>", "--width", "400", "--height", "150",
		"DEF:r=web.1:req:AVERAGE", "CDEF:r2=r,2,*", "LINE2:r2#ff0000:twice", "VDEF:m=r,MAXIMUM", "GPRINT:m:max %6.2lf")
	if !strings.Contains(out.String(), "x") {
		t.Errorf("no size printed: %q", out.String())
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 150 {
		t.Errorf("image %v smaller than the graph area", b)
	}
	if err := run(ctx, []string{"--data", dir, "graph", file, "DEF:r=web.1:req:AVERAGE", "CDEF:x=r,+", "LINE1:x#000000"}, nil, &out, &out); err == nil ||
		!strings.Contains(err.Error(), "'+'") {
		t.Errorf("bad CDEF: %v", err)
	}
}
