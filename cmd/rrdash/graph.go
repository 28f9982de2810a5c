package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"rrdash/graph"
)

// runGraph is `rrdash graph FILE [rrdtool graph options and elements…]`:
// it renders the graph to FILE as PNG ("-" for stdout) and prints its size,
// as rrdtool graph does.
func runGraph(ctx context.Context, db graph.Fetcher, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || len(args[0]) > 1 && args[0][0] == '-' {
		return usageError{"graph needs an output file (or -) followed by rrdtool graph arguments"}
	}
	out := args[0]
	spec, warnings, err := graph.ParseArgs(args)
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "graph:", w)
	}
	data, err := graph.Evaluate(ctx, db, spec, graph.Options{})
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	w, h := spec.Size()
	png, err := graph.PNG(spec, data, w, h)
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	if out == "-" {
		_, err = stdout.Write(png)
		return err
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	fmt.Fprintf(stdout, "%dx%d\n", w, h)
	return nil
}
