# rrdash — `make run` starts the service with demo data, `make test` runs every test.
# Both install what they need when it is missing (Debian packages, npm packages).

GO      ?= go
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ECHARTS := ui/assets/echarts.min.js
KINESALITE := tools/kinesalite/node_modules/kinesalite/package.json
DYNALITE := tools/dynalite/node_modules/dynalite/package.json
S3RVER := tools/s3rver/node_modules/s3rver/package.json
OIDCPROV := tools/oidc/node_modules/oidc-provider/package.json
STATSD  := tools/statsd/node_modules/statsd/package.json
INGESTCLIENTS := tools/ingestclients/node_modules/@influxdata/influxdb-client/package.json
WEBJS   := tools/web/node_modules/echarts/dist/echarts.min.js
APT_STAMP := .tools/apt-updated
# DejaVu Sans Mono (Debian's fonts-dejavu-core), embedded by graph/ for
# graph text as rrdtool draws it (graph/fontdata/README.md)
DEJAVU  := graph/fontdata/DejaVuSansMono.ttf
DEJAVU_SRC := /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf

.PHONY: all build run test bench bench-million soak difftest deps-test rrdtool rrdcached collectd syslog-ng chromium python3 python3-statsd influxdb bubblewrap graphite-web graphite-carbon prometheus prometheus-node-exporter python3-influxdb clean release deb systemd postgresql victoria-metrics bench-deps

all: build

$(WEBJS): tools/web/package.json tools/web/package-lock.json
	npm ci --prefix tools/web --no-audit --no-fund
	touch $@

$(ECHARTS): $(WEBJS)
	cp $< $@

$(KINESALITE): tools/kinesalite/package.json tools/kinesalite/package-lock.json
	npm ci --prefix tools/kinesalite --no-audit --no-fund
	touch $@

# npm dynalite 4.0.0 (an in-memory DynamoDB) for ingest/kinesis's shard-lease tests
$(DYNALITE): tools/dynalite/package.json tools/dynalite/package-lock.json
	npm ci --prefix tools/dynalite --no-audit --no-fund

# npm s3rver 3.7.1 (an S3-compatible server) for the cluster's snapshot tests (store/cluster)
$(S3RVER): tools/s3rver/package.json tools/s3rver/package-lock.json
	npm ci --prefix tools/s3rver --no-audit --no-fund
	touch $@

# npm statsd 0.9.0 (Etsy's daemon), the reference of ingest/statsd's tests
$(STATSD): tools/statsd/package.json tools/statsd/package-lock.json
	npm ci --prefix tools/statsd --no-audit --no-fund
	touch $@

$(OIDCPROV): tools/oidc/package.json tools/oidc/package-lock.json
	npm ci --prefix tools/oidc --no-audit --no-fund
	touch $@

# the OpenTelemetry JS SDK and InfluxDB's 2.x client, for the HTTP ingest tests
$(INGESTCLIENTS): tools/ingestclients/package.json tools/ingestclients/package-lock.json
	npm ci --prefix tools/ingestclients --no-audit --no-fund
	touch $@

$(APT_STAMP):
	mkdir -p .tools
	$(SUDO) apt-get update -qq
	touch $@

$(DEJAVU):
	@test -f $(DEJAVU_SRC) || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core; }
	cp $(DEJAVU_SRC) $@
	cp /usr/share/doc/fonts-dejavu-core/copyright graph/fontdata/LICENSE-DejaVu

rrdtool:
	@command -v rrdtool >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rrdtool; }

# PostgreSQL 15 (Debian's) for store/meta's tests on both engines: the
# tests run initdb and postgres themselves from a temporary directory
postgresql:
	@test -x /usr/lib/postgresql/15/bin/initdb || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15; }

# real rrdcached and collectd (its rrdcached plugin) for ingest/rrdcached's tests and make bench
rrdcached:
	@command -v rrdcached >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rrdcached; }

collectd:
	@test -x /usr/sbin/collectd || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends collectd-core; }

syslog-ng:
	@command -v syslog-ng >/dev/null || test -x /usr/sbin/syslog-ng || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends syslog-ng-core; }

influxdb:
	@command -v influxd >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends influxdb; }

# Debian's python3-statsd client feeds the statsd comparison test
python3-statsd:
	@test -f /usr/lib/python3/dist-packages/statsd/__init__.py || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-statsd; }

# Debian's graphite-web 1.1.8 and python3-whisper: the oracle of
# ui/graphite's differential test (TestDifferentialGraphiteWeb)
graphite-web:
	@/usr/bin/python3 -c 'import graphite.settings, whisper, django' 2>/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphite-web python3-whisper; }

# Debian's graphite-carbon: its shipped storage-schemas.conf and
# storage-aggregation.conf example (store/carbonconf) and carbon-relay (the
# pickle protocol's client)
graphite-carbon:
	@test -x /usr/bin/carbon-relay -a -x /usr/bin/carbon-cache || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphite-carbon; }

# Prometheus 2.42 (remote_write), node-exporter (its scrape target) and
# InfluxDB's 1.x Python client (Debian's python3) for the HTTP ingest tests
prometheus:
	@command -v prometheus >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

prometheus-node-exporter:
	@command -v prometheus-node-exporter >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-node-exporter; }

python3-influxdb:
	@/usr/bin/python3 -c 'import influxdb' 2>/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-influxdb; }

python3:
	@command -v python3 >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3; }

# bubblewrap: the code-monitor sandbox (ingest/monitor); setpriv comes with util-linux.
bubblewrap:
	@command -v bwrap >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap; }

# systemd-analyze verifies the packaged unit (packaging/TestSystemdUnit)
systemd:
	@command -v systemd-analyze >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd; }

chromium:
	@command -v chromium >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# The ingest peers of make bench (cmd/rrdash/internal/peerbench): Debian's
# VictoriaMetrics 1.79 and carbon (graphite-carbon 1.1.7, its target above).
# Not test deps.
victoria-metrics:
	@command -v victoria-metrics >/dev/null || { $(MAKE) $(APT_STAMP) && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends victoria-metrics; }

bench-deps: rrdtool rrdcached victoria-metrics graphite-carbon $(STATSD)

# rrdash version and rrdash_build_info: git describe (tags when there are
# any, else the short hash; -dirty for uncommitted changes), the commit and its time.
# Outside a git checkout both are empty and the binary reports what go build
# stamped, or "(devel)".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
COMMIT_TIME ?= $(shell TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.commitTime=$(COMMIT_TIME)

# A static binary (no cgo): no dynamic loader at start, 3-4 ms less per command.
build: $(ECHARTS) $(DEJAVU)
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o rrdash ./cmd/rrdash

run: build python3 bubblewrap
	./rrdash --data ./data serve --addr 127.0.0.1:8080 --demo

deps-test: $(ECHARTS) $(DEJAVU) $(KINESALITE) $(OIDCPROV) $(STATSD) $(INGESTCLIENTS) rrdtool rrdcached collectd syslog-ng chromium python3 python3-statsd influxdb bubblewrap graphite-web graphite-carbon prometheus prometheus-node-exporter python3-influxdb systemd $(DYNALITE) postgresql $(S3RVER)

# go test -race over everything, the rrdtool differential suite included
# (store: TestDifferentialAgainstRRDtool; rpn: its xport corpus).
test: deps-test
	$(GO) vet ./...
	$(GO) test -race -timeout 20m ./...

# 30 minutes of mixed ingest, reads and kill -9 at random (not part of make
# test, which runs the same test for a few seconds): zero acknowledged points
# lost, RSS under a ceiling. SOAK=10m for another length.
SOAK ?= 30m
soak:
	RRDASH_SOAK=$(SOAK) $(GO) test -run '^TestSoak$$' -count=1 -timeout 0 -v ./cmd/rrdash/

# A larger differential run against rrdtool (not part of make test).
difftest: rrdtool
	RRDASH_DIFF_CASES=1000 $(GO) test -run Differential -v ./store
	RRDASH_GRAPHV_CASES=1500 $(GO) test -run TestGraphvDifferential -timeout 30m -v ./cmd/rrdash

bench: build bench-deps $(KINESALITE)
	$(GO) test -run '^$$' -bench . ./store/... ./cmd/... ./rpn/... ./ingest/tracelog/... ./graph/... ./ui/...
	# remote_write and OTLP: durable, one core (docs/BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchtime 5s -cpu 1 ./ingest/promrw/ ./ingest/otlp/
	# collectd and statsd listeners, one core (issue 24 goals: 300 k values/s, 500 k metrics/s)
	$(GO) test -run '^$$' -bench . -benchtime 3000x -cpu 1 ./ingest/collectd/
	$(GO) test -run '^$$' -bench . -benchtime 3s -cpu 1 ./ingest/statsd/
	# the decode benchmarks replay a fixed record set: bound their iterations;
	# each kinesalite iteration makes a 2-shard stream (kinesalite allows 50 shards)
	$(GO) test -run '^$$' -bench 'Decode' -benchtime 20000x ./ingest/kinesis/...
	$(GO) test -run '^$$' -bench 'KinesaliteToStore' -benchtime 5x ./ingest/kinesis/...
	$(GO) run ./store/internal/benchcmp --rrdash ./rrdash
	$(GO) run ./rpn/internal/xportcmp --rrdash ./rrdash
	$(GO) run ./ingest/rrdcached/internal/bench --rrdash ./rrdash --rounds 2
	# rrdash graph vs rrdtool graph, whole processes (docs/BENCHMARKS.md)
	$(GO) run ./graph/internal/benchcmp --rrdash ./rrdash
	# push latency (idle; 1,000 pushes/s) and rrdash vs VictoriaMetrics on the same streams (issue 15)
	$(GO) test -run '^$$' -bench 'PushIdle|PushLoad' -benchtime 2000x ./ingest/push/
	$(GO) run ./cmd/rrdash/internal/peerbench --rrdash ./rrdash
	# rrdash's statsd listener vs npm statsd 0.9.0, same lines over TCP (issue 24)
	RRDASH_STATSD_BENCH=1 $(GO) test -run TestBenchAgainstEtsyStatsd -v ./ingest/statsd/

# a data directory of 1,000,000 small series: creation rate, disk per series,
# startup, a pass over every series and a kill -9 recovery, memory (anonymous
# vs page cache) — docs/BENCHMARKS.md. Takes several minutes and ~4 GB of
# disk; RRDASH_MILLION_DIR=dir keeps the directory for the next run.
bench-million:
	RRDASH_MILLION=1 $(GO) test -run '^$$' -bench '^BenchmarkMillionSeries$$' -benchtime 1x -timeout 60m ./store/
# Release archives: a static binary per architecture with its version (the
# LDFLAGS above), the README, the systemd unit and a sample configuration,
# reproducible (-trimpath, file times and owners from the commit), and
# SHA256SUMS. `make release VERSION=1.2.3` names another version.
DIST ?= dist
ARCHES ?= amd64 arm64
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
release: $(ECHARTS) $(DEJAVU)
	rm -rf $(DIST)/release && mkdir -p $(DIST)/release
	set -e; for a in $(ARCHES); do \
		n=rrdash-$(VERSION)-linux-$$a; d=$(DIST)/release/$$n; mkdir -p $$d; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $$d/rrdash ./cmd/rrdash; \
		cp README.md packaging/rrdash.service packaging/rrdash.toml $$d/; \
		tar -C $(DIST)/release --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$(SOURCE_DATE_EPOCH) -czf $$d.tar.gz $$n; \
		rm -r $$d; \
	done
	cd $(DIST)/release && sha256sum *.tar.gz > SHA256SUMS
	@cat $(DIST)/release/SHA256SUMS

# A Debian package for one architecture (DEBARCH, default the machine's):
# /usr/bin/rrdash, the systemd unit, /etc/rrdash/rrdash.toml and the
# logrotate file (conffiles), a system user made by postinst. The Debian
# version is VERSION without a leading v (a bare commit hash becomes 0~gHASH).
DEBARCH ?= $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)
DEBVERSION ?= $(shell echo '$(VERSION)' | sed -e 's/^v//' -e 's/^[^0-9]/0~g&/' -e 's/[-_]/+/g')
deb: $(ECHARTS) $(DEJAVU)
	set -e; r=$(DIST)/deb/rrdash_$(DEBVERSION)_$(DEBARCH); rm -rf $$r; \
	install -d $$r/DEBIAN $$r/usr/bin $$r/usr/lib/systemd/system $$r/etc/rrdash $$r/etc/logrotate.d $$r/usr/share/doc/rrdash; \
	CGO_ENABLED=0 GOOS=linux GOARCH=$(DEBARCH) $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $$r/usr/bin/rrdash ./cmd/rrdash; \
	install -m 0644 packaging/rrdash.service $$r/usr/lib/systemd/system/rrdash.service; \
	install -m 0640 packaging/rrdash.toml $$r/etc/rrdash/rrdash.toml; \
	install -m 0644 packaging/rrdash.logrotate $$r/etc/logrotate.d/rrdash; \
	install -m 0644 README.md docs/STORE.md $$r/usr/share/doc/rrdash/; \
	sed -e 's/@VERSION@/$(DEBVERSION)/' -e 's/@ARCH@/$(DEBARCH)/' packaging/deb/control > $$r/DEBIAN/control; \
	echo "Installed-Size: $$(du -sk --exclude=DEBIAN $$r | cut -f1)" >> $$r/DEBIAN/control; \
	install -m 0644 packaging/deb/conffiles $$r/DEBIAN/conffiles; \
	install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm $$r/DEBIAN/; \
	dpkg-deb --root-owner-group -Zxz --build $$r $$r.deb; \
	rm -r $$r; echo $$r.deb

clean:
	rm -rf rrdash .tools $(ECHARTS) $(DIST) $(DEJAVU) graph/fontdata/LICENSE-DejaVu
