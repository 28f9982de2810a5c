package ui

import (
	"strings"
	"testing"
)

func TestUDPIngestConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want string // error substring; "" = valid
	}{
		{map[string]string{"RRDASH_STATSD_UDP_ADDR": "127.0.0.1:8125", "RRDASH_STATSD_TCP_ADDR": "127.0.0.1:8125", "RRDASH_COLLECTD_ADDR": "127.0.0.1:25826"}, ""},
		{map[string]string{"RRDASH_STATSD_UDP_ADDR": "8125"}, "statsd.udp_addr"},
		{map[string]string{"RRDASH_COLLECTD_ADDR": "nohostport"}, "collectd.addr"},
		{map[string]string{"RRDASH_COLLECTD_SECURITY_LEVEL": "sign"}, "needs collectd.auth_file"},
		{map[string]string{"RRDASH_COLLECTD_SECURITY_LEVEL": "Encrypt", "RRDASH_COLLECTD_AUTH_FILE": "/etc/collectd/auth"}, ""},
		{map[string]string{"RRDASH_COLLECTD_SECURITY_LEVEL": "paranoid"}, "want none, sign or encrypt"},
	} {
		cfg, err := LoadServeConfig("", func(k string) string { return tc.env[k] })
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: error %v, want %q", tc.env, err, tc.want)
		}
		if tc.want == "" && (len(cfg.Collectd.TypesDB) != 1 || cfg.Collectd.TypesDB[0] != "/usr/share/collectd/types.db") {
			t.Errorf("%v: types_db default %v", tc.env, cfg.Collectd.TypesDB)
		}
	}
}
