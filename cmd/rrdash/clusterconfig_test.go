package main

import (
	"strings"
	"testing"
	"time"

	"rrdash/ui"
)

// TestCheckClusterConfig: an incomplete or malformed [cluster] section is
// refused with the key named; a complete one gives the lease duration.
func TestCheckClusterConfig(t *testing.T) {
	t.Parallel()
	ok := ui.ClusterConfig{Stream: "s", Group: "a", Node: "a1", AdvertiseURL: "http://127.0.0.1:8080", LeaseTable: "t", SecretFile: "/x"}
	tests := []struct {
		name string
		edit func(*ui.ClusterConfig)
		want string // error substring; "" for none
		dur  time.Duration
	}{
		{"complete", func(*ui.ClusterConfig) {}, "", 10 * time.Second},
		{"duration", func(c *ui.ClusterConfig) { c.LeaseDuration = "3s" }, "", 3 * time.Second},
		{"no group", func(c *ui.ClusterConfig) { c.Group = "" }, "group is not", 0},
		{"no secret", func(c *ui.ClusterConfig) { c.SecretFile = "" }, "secret_file is not", 0},
		{"node with @", func(c *ui.ClusterConfig) { c.Node = "a@b" }, "no '@'", 0},
		{"bad url", func(c *ui.ClusterConfig) { c.AdvertiseURL = "127.0.0.1:8080" }, "advertise_url", 0},
		{"group not in groups", func(c *ui.ClusterConfig) { c.Groups = []string{"b"} }, "do not include", 0},
		{"short duration", func(c *ui.ClusterConfig) { c.LeaseDuration = "100ms" }, "lease_duration", 0},
		{"bad duration", func(c *ui.ClusterConfig) { c.LeaseDuration = "soon" }, "lease_duration", 0},
		{"snapshots", func(c *ui.ClusterConfig) { c.SnapshotBucket, c.SnapshotInterval = "b", "1m" }, "", 10 * time.Second},
		{"snapshot endpoint without bucket", func(c *ui.ClusterConfig) { c.SnapshotEndpoint = "http://127.0.0.1:1" }, "snapshot_bucket is not", 0},
		{"bad snapshot interval", func(c *ui.ClusterConfig) { c.SnapshotBucket, c.SnapshotInterval = "b", "0s" }, "snapshot_interval", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := ok
			tc.edit(&c)
			d, err := checkClusterConfig(c)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "" && d != tc.dur:
				t.Fatalf("duration %v, want %v", d, tc.dur)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
