package main

import (
	"context"
	"io"
	"time"

	"rrdash/rpn"
)

// runXport implements `rrdash xport`: rrdtool xport's argv with a series
// name where rrdtool takes a file; rrdtool's XML, or valid JSON with --json.
func runXport(ctx context.Context, db rpn.Fetcher, args []string, stdout io.Writer) error {
	return rpn.RunXport(ctx, db, args, stdout, time.Now(), time.Local)
}
