package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"rrdash/graph"
)

// rrdtool graph's default plot size.
const rrdtoolW, rrdtoolH = 400, 100

// renderGraph parses rrdtool graph arguments (the output file first),
// evaluates and lays out the graph, and renders the image in the format
// --imgformat names (PNG by default, never guessed from the file name).
// The image is nil when the arguments only PRINT, or when --lazy finds
// the file recent enough to keep (graph.Image.Lazy).
func renderGraph(ctx context.Context, db graph.Fetcher, cmd string, args []string, stderr io.Writer) (*graph.Image, []byte, error) {
	if len(args) < 2 || len(args[0]) > 1 && args[0][0] == '-' {
		return nil, nil, usageError{cmd + " needs an output file (or -) followed by rrdtool graph arguments"}
	}
	spec, warnings, err := graph.ParseArgs(args)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, cmd+":", w)
	}
	if spec.Width == 0 {
		spec.Width = rrdtoolW
	}
	if spec.Height == 0 {
		spec.Height = rrdtoolH
	}
	// One row per pixel of the width asked for, as rrdtool fetches.
	data, err := graph.Evaluate(ctx, db, spec, graph.Options{MaxRows: spec.Width, Loc: time.Local})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	im, err := graph.Layout(spec, data, graph.LayoutOptions{Loc: time.Local})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if !im.Graphed || im.Lazy(args[0], time.Now()) {
		return im, nil, nil // only PRINT, or --lazy and the file is recent
	}
	img, err := graph.Render(im, time.Local)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return im, img, nil
}

// runGraph is `rrdash graph FILE|- [rrdtool graph options and elements…]`:
// it writes the image to FILE ("-": stdout) and, for a file, prints its
// size and the PRINT lines, as rrdtool graph does.
func runGraph(ctx context.Context, db graph.Fetcher, args []string, stdout, stderr io.Writer) error {
	im, img, err := renderGraph(ctx, db, "graph", args, stderr)
	if err != nil {
		return err
	}
	out := args[0]
	if out == "-" {
		_, err = stdout.Write(img)
		return err
	}
	if img != nil {
		if err := os.WriteFile(out, img, 0o644); err != nil {
			return fmt.Errorf("graph: %w", err)
		}
	}
	// rrdtool prints the --imginfo line instead of WxH
	if line, ok := im.ImageInfo(out); ok {
		fmt.Fprintln(stdout, line)
	} else {
		fmt.Fprintf(stdout, "%dx%d\n", im.Width, im.Height)
	}
	for _, p := range im.Prints {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// runGraphv is `rrdash graphv FILE|- …`: as graph, printing rrdtool
// graphv's key = value lines; with "-" the image follows them as
// "image = BLOB_SIZE:n" and its bytes.
func runGraphv(ctx context.Context, db graph.Fetcher, args []string, stdout, stderr io.Writer) error {
	im, img, err := renderGraph(ctx, db, "graphv", args, stderr)
	if err != nil {
		return err
	}
	if args[0] != "-" && img != nil {
		if err := os.WriteFile(args[0], img, 0o644); err != nil {
			return fmt.Errorf("graphv: %w", err)
		}
	}
	lazy := args[0] != "-" && img == nil && im.Graphed // --lazy kept the file
	if err := im.WriteInfoFor(stdout, args[0], lazy); err != nil {
		return err
	}
	if args[0] == "-" && img != nil {
		if _, err := fmt.Fprintf(stdout, "image = BLOB_SIZE:%d\n", len(img)); err != nil {
			return err
		}
		_, err = stdout.Write(img)
	}
	return err
}
