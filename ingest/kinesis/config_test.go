package kinesis

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", args: []string{"--stream", "s", "--endpoint", "http://127.0.0.1:1"}, check: func(t *testing.T, c Config) {
			if c.StartAt != TrimHorizon || c.Grace != time.Minute || c.IdleFlush != time.Minute || c.Region != "us-east-1" {
				t.Errorf("config %+v", c)
			}
			if c.DeadLetterPath != filepath.Join("/data", "kinesis-s.deadletter.jsonl") {
				t.Errorf("dead letter %s", c.DeadLetterPath)
			}
			want := DefaultTemplate()
			if c.Template.Step != 60 || len(c.Template.RRA) != 16 || c.Template.DS[0].Type != store.Gauge || c.Template.DS[0].Heartbeat != 600 {
				t.Errorf("template %+v", c.Template)
			}
			for i, r := range want.RRA {
				if c.Template.RRA[i] != r {
					t.Errorf("RRA %d = %v, default %v", i, c.Template.RRA[i], r)
				}
			}
		}},
		{name: "grace as seconds and duration", args: []string{"--stream", "s", "--grace", "90", "--start-at", "latest"}, check: func(t *testing.T, c Config) {
			if c.Grace != 90*time.Second || c.StartAt != Latest {
				t.Errorf("grace %v start %s", c.Grace, c.StartAt)
			}
		}},
		{name: "template", args: []string{"--stream", "s", "--step", "300", "--ds", "DS:v:COUNTER:900:0:U", "--rra", "RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:1h:1d"}, check: func(t *testing.T, c Config) {
			if c.Template.Step != 300 || c.Template.DS[0].Type != store.Counter || len(c.Template.RRA) != 2 || c.Template.RRA[1].Steps != 12 || c.Template.RRA[1].Rows != 24 {
				t.Errorf("template %+v", c.Template)
			}
		}},
		{name: "tags", args: []string{"--stream", "s", "--tags", "host,dc"}, check: func(t *testing.T, c Config) {
			if strings.Join(c.Decoder.Tags, ",") != "host,dc" {
				t.Errorf("tags %v", c.Decoder.Tags)
			}
		}},
		{name: "no stream", args: []string{}, wantErr: "no stream"},
		{name: "bad stream", args: []string{"--stream", "a b"}, wantErr: "stream name"},
		{name: "bad start", args: []string{"--stream", "s", "--start-at", "AT_TIMESTAMP"}, wantErr: "TRIM_HORIZON or LATEST"},
		{name: "bad grace", args: []string{"--stream", "s", "--grace", "soon"}, wantErr: "--grace"},
		{name: "two data sources", args: []string{"--stream", "s", "--ds", "DS:a:GAUGE:600:U:U DS:b:GAUGE:600:U:U"}, wantErr: "DS"},
		{name: "bad rra", args: []string{"--stream", "s", "--rra", "RRA:NOPE:0.5:1:10"}, wantErr: "NOPE"},
		{name: "bad limit", args: []string{"--stream", "s", "--limit", "0"}, wantErr: "--limit"},
		{name: "extra argument", args: []string{"--stream", "s", "extra"}, wantErr: "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseArgs(tc.args, "/data", io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
