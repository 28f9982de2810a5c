package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestServeMaxOpenFilesFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-open-files", "-2"}, "max_open_files -2: must be 0 (default) or more"},
		{[]string{"--max-open-files", "few"}, `invalid value "few" for flag -max-open-files`},
	} {
		args := append([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)
		err := runServe(context.Background(), args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}
