package collectd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"rrdash/ingest/datagram"
	"rrdash/ingest/horizon"
	"rrdash/ingest/listen"
	"rrdash/ingest/push"
)

// DefaultTypesDB is Debian's types.db (package collectd-core).
const DefaultTypesDB = "/usr/share/collectd/types.db"

// DefaultMaxPending bounds the points waiting for the writer.
const DefaultMaxPending = 1 << 20

// Config configures a Server.
type Config struct {
	Addr    string // UDP, e.g. "127.0.0.1:25826"
	Level   SecurityLevel
	Users   map[string]string // from ReadAuthFile; required for sign and encrypt
	Types   TypesDB
	Horizon horizon.Horizon
	// MaxPending bounds the points read but not yet handed to the writer
	// (default DefaultMaxPending); beyond it, values are dropped and
	// counted (Stats.Overload).
	MaxPending int
	ReadBuffer int
	Logger     *slog.Logger
}

// Stats counts what a Server did.
type Stats struct {
	Packets, Values, Points int64
	Bad                     int64 // bad packets, parts and values (each logged, the first few per second)
	Refused                 int64 // parts refused by the security level
	Future, Late            int64
	Overload                int64 // values dropped: the writer fell MaxPending points behind
	WriteErrors             int64
	KernelDrops             int64
}

// Server receives collectd's binary protocol on UDP and writes the values
// through a PointWriter.
type Server struct {
	w   push.PointWriter
	dec Decoder
	cfg Config
	log *slog.Logger
	udp *datagram.Conn

	// Reader state (one UDP reader).
	names map[string][]string // identifier → series name per data source
	last  map[string]lastValue
	key   []byte
	pts   []push.Point // of the packet being decoded

	mu      sync.Mutex
	pending []push.Point
	wake    chan struct{}

	values, points, bad, refused, future, late, overload, writeErrs atomic.Int64
	logged                                                          atomic.Int64
	logSec                                                          atomic.Int64
}

type lastValue struct {
	v uint64
	t uint64 // cdtime
}

// New checks cfg and opens the socket.
func New(w push.PointWriter, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		return nil, errors.New("collectd: no UDP address")
	}
	if cfg.Types == nil {
		return nil, errors.New("collectd: no types.db")
	}
	if cfg.Level != SecurityNone && len(cfg.Users) == 0 {
		return nil, errors.New("collectd: security level sign or encrypt needs an auth file with users")
	}
	if err := cfg.Horizon.Validate(); err != nil {
		return nil, fmt.Errorf("collectd: %w", err)
	}
	if cfg.MaxPending < 0 || cfg.ReadBuffer < 0 {
		return nil, fmt.Errorf("collectd: negative limit in max_pending %d or read buffer %d", cfg.MaxPending, cfg.ReadBuffer)
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	udp, err := datagram.Listen(cfg.Addr, datagram.Config{Name: "collectd", ReadBuffer: cfg.ReadBuffer, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	return &Server{w: w, dec: Decoder{Level: cfg.Level, Users: cfg.Users}, cfg: cfg, log: cfg.Logger, udp: udp,
		names: map[string][]string{}, last: map[string]lastValue{}, wake: make(chan struct{}, 1)}, nil
}

// Addr is the UDP address listened on.
func (s *Server) Addr() net.Addr { return s.udp.Addr() }

// Status is the listener's state for health checks.
func (s *Server) Status() listen.Status { return s.udp.Status() }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	u := s.udp.Stats()
	return Stats{Packets: u.Packets, Values: s.values.Load(), Points: s.points.Load(), Bad: s.bad.Load(), Refused: s.refused.Load(),
		Future: s.future.Load(), Late: s.late.Load(), Overload: s.overload.Load(), WriteErrors: s.writeErrs.Load(), KernelDrops: u.KernelDrops}
}

// Run receives until ctx ends, then writes what was received and returns.
func (s *Server) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.writeLoop(ctx)
	}()
	err := s.udp.Serve(ctx, s.HandlePacket)
	<-done
	return err
}

// writeLoop hands the pending points to the writer, one Write at a time:
// points arriving meanwhile make the next batch.
func (s *Server) writeLoop(ctx context.Context) {
	wctx := context.WithoutCancel(ctx)
	for {
		select {
		case <-s.wake:
		case <-ctx.Done():
			s.writePending(wctx) // what was read before the end
			return
		}
		s.writePending(wctx)
	}
}

func (s *Server) writePending(ctx context.Context) {
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	res, err := s.w.Write(ctx, batch)
	s.late.Add(int64(res.Late))
	if err != nil {
		s.writeErrs.Add(int64(len(batch)))
		s.log.Error("collectd: write failed; the points are lost", "points", len(batch), "error", err)
		return
	}
	s.points.Add(int64(res.Accepted))
	if res.Late > 0 || res.Refused > 0 {
		s.log.Warn("collectd: points not stored", "late", res.Late, "refused", res.Refused, "first_refusal", res.FirstRefusal)
	}
}

// maxLoggedPerSecond bounds the bad packets logged (the rest is counted).
const maxLoggedPerSecond = 10

func (s *Server) logBad(from netip.AddrPort, msg string, args ...any) {
	now := time.Now().Unix()
	if s.logSec.Swap(now) != now {
		s.logged.Store(0)
	}
	if s.logged.Add(1) <= maxLoggedPerSecond {
		s.log.Warn("collectd: "+msg, append([]any{"remote", from.String()}, args...)...)
	}
}

// HandlePacket decodes one datagram and queues its points. It is not safe
// for concurrent use (one reader); Run calls it.
func (s *Server) HandlePacket(pkt []byte, from netip.AddrPort) {
	s.pts = s.pts[:0]
	refused, err := s.dec.Decode(pkt, func(vl *ValueList) { s.convert(vl, from) })
	s.refused.Add(int64(refused))
	if err != nil {
		if errors.Is(err, ErrUnsigned) || errors.Is(err, ErrUnencrypted) {
			s.logBad(from, "parts refused by the security level", "parts", refused, "error", err)
		} else {
			s.bad.Add(1)
			s.logBad(from, "bad packet; the values before the bad part are kept", "bytes", len(pkt), "error", err)
		}
	}
	if len(s.pts) == 0 {
		return
	}
	s.mu.Lock()
	if room := s.cfg.MaxPending - len(s.pending); room < len(s.pts) {
		s.overload.Add(int64(len(s.pts) - max(room, 0)))
		s.pts = s.pts[:max(room, 0)]
		s.logBad(from, "writer behind: values dropped", "max_pending", s.cfg.MaxPending)
	}
	s.pending = append(s.pending, s.pts...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// convert turns a value list into points: GAUGE as is (NaN as unknown),
// DERIVE and COUNTER as the rate since the previous value of the series
// (the first value gives none), ABSOLUTE divided by the interval — what
// collectd's write_graphite stores by default (StoreRates).
func (s *Server) convert(vl *ValueList, from netip.AddrPort) {
	s.values.Add(int64(len(vl.Values)))
	names, err := s.seriesNames(vl)
	if err != nil {
		s.bad.Add(int64(len(vl.Values)))
		s.logBad(from, "bad value list", "host", vl.Host, "plugin", vl.Plugin, "type", vl.Type, "error", err)
		return
	}
	t := vl.Time
	if t == 0 {
		now := time.Now()
		t = uint64(now.Unix())<<30 + uint64(now.Nanosecond())<<30/1e9
	}
	sec := int64(t >> 30)
	usec := int64((t & (1<<30 - 1)) * 1e6 >> 30)
	if err := s.cfg.Horizon.Check(sec, usec); err != nil {
		s.future.Add(int64(len(vl.Values)))
		s.logBad(from, "values from the future", "series", names[0], "error", err)
		return
	}
	for i, name := range names {
		var v float64
		switch vl.Types[i] {
		case DSGauge:
			v = vl.Float(i)
		case DSAbsolute:
			if vl.Interval == 0 {
				s.bad.Add(1)
				s.logBad(from, "ABSOLUTE value without an interval", "series", name)
				continue
			}
			v = float64(vl.Values[i]) / (float64(vl.Interval) / (1 << 30))
		default:
			prev, ok := s.last[name]
			s.last[name] = lastValue{vl.Values[i], t}
			if !ok || t <= prev.t {
				continue
			}
			dt := float64(t-prev.t) / (1 << 30)
			if vl.Types[i] == DSDerive {
				v = float64(int64(vl.Values[i]-prev.v)) / dt
			} else {
				v = float64(counterDiff(prev.v, vl.Values[i])) / dt
			}
		}
		val := "U"
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			val = strconv.FormatFloat(v, 'g', -1, 64)
		}
		s.pts = append(s.pts, push.Point{Series: name, Sec: sec, Usec: usec, Value: val})
	}
}

// counterDiff is the increase of a COUNTER, wrapping at 32 or 64 bits as
// collectd's counter_diff does.
func counterDiff(old, cur uint64) uint64 {
	if old <= cur {
		return cur - old
	}
	if old <= math.MaxUint32 {
		return math.MaxUint32 - old + cur + 1
	}
	return math.MaxUint64 - old + cur + 1
}

// maxNames bounds the name cache and the rate state; both are dropped
// when full (a counter then skips one value).
const maxNames = 1 << 18

// seriesNames returns the series of each value of vl:
// collectd.<plugin>.<type>[.<ds>] (the data source name only when the type
// has several) with tags host, plugin_instance and type_instance (those
// not empty).
func (s *Server) seriesNames(vl *ValueList) ([]string, error) {
	k := append(s.key[:0], vl.Host...)
	for _, p := range []string{vl.Plugin, vl.PluginInstance, vl.Type, vl.TypeInstance} {
		k = append(append(k, 0), p...)
	}
	s.key = k
	names, ok := s.names[string(k)]
	if !ok {
		dss, found := s.cfg.Types[vl.Type]
		if !found {
			return nil, fmt.Errorf("type %q is not in types.db", vl.Type)
		}
		if vl.Plugin == "" || vl.Host == "" {
			return nil, fmt.Errorf("value list without a plugin or host (plugin %q, host %q)", vl.Plugin, vl.Host)
		}
		var tags strings.Builder
		for _, t := range [][2]string{{"host", vl.Host}, {"plugin_instance", vl.PluginInstance}, {"type_instance", vl.TypeInstance}} {
			if t[1] != "" {
				tags.WriteString(";" + t[0] + "=" + t[1])
			}
		}
		for _, ds := range dss {
			n := "collectd." + vl.Plugin + "." + vl.Type
			if len(dss) > 1 {
				n += "." + ds.Name
			}
			name, err := push.GraphiteSeries(n + tags.String())
			if err != nil {
				return nil, err
			}
			names = append(names, name)
		}
		if len(s.names) >= maxNames {
			clear(s.names)
			clear(s.last)
		}
		s.names[string(k)] = names
	}
	if len(names) != len(vl.Values) {
		return nil, fmt.Errorf("type %q has %d data sources in types.db, the packet %d values", vl.Type, len(names), len(vl.Values))
	}
	for i, ds := range s.cfg.Types[vl.Type] {
		if ds.Type != vl.Types[i] {
			return nil, fmt.Errorf("type %q: value %d is of type %d, types.db says %d", vl.Type, i, vl.Types[i], ds.Type)
		}
	}
	return names, nil
}
