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
	"time"
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

// TestGraphCommandOutputs: graph prints WxH and the PRINT lines as rrdtool
// graph does (0x0 and no file when only PRINTs), --imgformat SVG writes SVG
// whatever the file's extension, graphv - ends with the image blob, and an
// unsupported option is an error naming it.
func TestGraphCommandOutputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	must := func(args ...string) string {
		t.Helper()
		out.Reset()
		if err := run(ctx, append([]string{"--data", dir}, args...), nil, &out, &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	must("create", "s", "--start", "1000000000", "--step", "60", "DS:v:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:1000")
	args := []string{"update", "s"}
	for i := 1; i <= 600; i++ {
		args = append(args, fmt.Sprintf("%d:%d", 1000000000+60*i, i%50))
	}
	must(args...)
	rng := []string{"--start", "1000000000", "--end", "1000030000", "DEF:v=s:v:AVERAGE", "VDEF:m=v,MAXIMUM"}
	file := filepath.Join(dir, "o.png")
	if got := must(append(append([]string{"graph", file}, rng...), "PRINT:m:%.1lf", "LINE1:v#ff0000:v\\l", "GPRINT:m:max %.0lf")...); got != "481x169\n46.8\n" { // as rrdtool 1.7.2 prints
		t.Errorf("graph printed %q, want 481x169 and the PRINT line", got)
	}
	only := filepath.Join(dir, "only.png")
	if got := must(append(append([]string{"graph", only}, rng...), "PRINT:m:%.1lf")...); got != "0x0\n46.8\n" {
		t.Errorf("PRINT-only graph printed %q, want 0x0 and the PRINT line", got)
	}
	if _, err := os.Stat(only); !os.IsNotExist(err) {
		t.Errorf("PRINT-only graph wrote a file: %v", err)
	}
	must(append(append([]string{"graph", file, "--imgformat", "SVG"}, rng...), "LINE1:v#ff0000:v")...)
	if b, err := os.ReadFile(file); err != nil || !bytes.HasPrefix(b, []byte("<?xml")) || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("--imgformat SVG into o.png: %.40q, %v", b, err)
	}
	got := must(append(append([]string{"graphv", "-"}, rng...), "LINE1:v#ff0000:v")...)
	if !strings.Contains(got, "graph_width = 400\n") || !strings.Contains(got, "legend[0] = \"  v\"\n") ||
		!strings.Contains(got, "image = BLOB_SIZE:") || !strings.Contains(got, "\x89PNG") {
		t.Errorf("graphv - output: %.300q", got)
	}
	for _, bad := range [][]string{{"--graph-render-mode", "mono"}, {"--imgformat", "EPS"}, {"--first-weekday", "1"}} {
		err := run(ctx, append(append([]string{"--data", dir, "graph", file}, bad...), rng...), nil, &out, &out)
		if err == nil || !strings.Contains(err.Error(), bad[0]) && !strings.Contains(err.Error(), "EPS") {
			t.Errorf("graph %v: err = %v, want one naming the option", bad, err)
		}
	}
}

// TestGraphLazyImgInfo: --imginfo prints its line (file name, image size)
// instead of WxH, and as graphv's image_info; --lazy keeps a file written
// less than a pixel's worth of time ago (graphv then stops after the
// geometry, as rrdtool) and redraws an older one.
func TestGraphLazyImgInfo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	must := func(args ...string) string {
		t.Helper()
		out.Reset()
		if err := run(ctx, append([]string{"--data", dir}, args...), nil, &out, &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	must("create", "s", "--start", "1000000000", "--step", "60", "DS:v:GAUGE:120:0:U", "RRA:AVERAGE:0.5:1:1000")
	must("update", "s", "1000000060:1", "1000000120:2", "1000000180:3")
	file := filepath.Join(dir, "g.png")
	el := []string{"--start", "1000000000", "--end", "1000003600", "DEF:v=s:v:AVERAGE", "LINE1:v#ff0000:v", "VDEF:m=v,MAXIMUM", "PRINT:m:%.1lf"}
	got := must(append([]string{"graph", file, "--imginfo", `<img src="%s" width="%lu" height="%lu"> 100%%`}, el...)...)
	if want := "<img src=\"g.png\" width=\"481\" height=\"155\"> 100%\n"; !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 2 {
		t.Errorf("graph --imginfo printed %q, want %q and the PRINT line", got, want)
	}
	if err := run(ctx, append([]string{"--data", dir, "graph", file, "--imginfo", "%lu %s %lu"}, el...), nil, &out, &out); err == nil ||
		!strings.Contains(err.Error(), "invalid format string") {
		t.Errorf("--imginfo %%lu %%s %%lu: %v", err)
	}
	// A recent file is kept: graphv stops after the geometry.
	if err := os.WriteFile(file, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01"), 0o644); err != nil {
		t.Fatal(err)
	}
	got = must(append([]string{"graphv", file, "--lazy"}, el...)...)
	if strings.Contains(got, "value_min") || strings.Contains(got, "legend[") || !strings.Contains(got, "image_height = 155") {
		t.Errorf("lazy graphv printed %q", got)
	}
	if b, _ := os.ReadFile(file); len(b) != 24 {
		t.Errorf("lazy graphv rewrote the file (%d bytes)", len(b))
	}
	// One pixel here is 3600/400 = 9 s: a file a minute old is redrawn.
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	got = must(append([]string{"graphv", file, "--lazy"}, el...)...)
	if !strings.Contains(got, "value_min") {
		t.Errorf("graphv of an old file printed %q", got)
	}
	if f, err := os.Open(file); err != nil {
		t.Fatal(err)
	} else if _, err := png.Decode(f); err != nil {
		t.Errorf("the old file was not redrawn: %v", err)
	}
}
