package kinesis

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseArgsLeaseFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		ok   func(Config) bool
		err  string
	}{
		{[]string{"--stream", "s"}, func(c Config) bool { return c.Leases.Table == "" }, ""},
		{[]string{"--stream", "s", "--lease-table", "rrdash-a", "--dynamodb-endpoint", "http://127.0.0.1:8000", "--worker-id", "n1", "--lease-duration", "3s"},
			func(c Config) bool {
				return c.Leases == LeaseConfig{Table: "rrdash-a", Endpoint: "http://127.0.0.1:8000", Worker: "n1", Duration: 3 * time.Second}
			}, ""},
		{[]string{"--stream", "s", "--lease-table", "rrdash-a"}, func(c Config) bool {
			return strings.HasSuffix(c.Leases.Worker, ":/data/dir") && c.Leases.Duration == 10*time.Second
		}, ""},
		{[]string{"--stream", "s", "--worker-id", "n1"}, nil, "--worker-id need --lease-table"},
		{[]string{"--stream", "s", "--lease-duration", "5s", "--dynamodb-endpoint", "http://x"}, nil, "need --lease-table"},
	} {
		c, err := ParseArgs(tt.args, "/data/dir", io.Discard)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v: %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || !tt.ok(c) {
			t.Errorf("%v: %+v, %v", tt.args, c.Leases, err)
		}
	}
}
