package tracelog

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"rrdash/ingest/horizon"
)

// Naming turns a logging process into an instance name. The template may use
// {host}, {program} and {pid}; the default is "{host}.{program}".
type Naming string

// DefaultNaming is the default instance naming.
const DefaultNaming Naming = "{host}.{program}"

// Validate checks that the template uses only known placeholders.
func (n Naming) Validate() error {
	s := string(n)
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return fmt.Errorf("instance naming %q: unclosed {", string(n))
		}
		switch s[i : i+j+1] {
		case "{host}", "{program}", "{pid}":
		default:
			return fmt.Errorf("instance naming %q: unknown placeholder %s (want {host}, {program} or {pid})", string(n), s[i:i+j+1])
		}
		s = s[i+j+1:]
	}
	return nil
}

// Instance names the process that logged r.
func (n Naming) Instance(r *Record) string {
	t := string(n)
	if t == "" {
		t = string(DefaultNaming)
	}
	if len(r.Program) == 0 {
		// a message without tag: only the host is known
		t = strings.ReplaceAll(t, ".{program}", "")
	}
	rep := strings.NewReplacer("{host}", string(r.Host), "{program}", string(r.Program), "{pid}", string(r.PID))
	return rep.Replace(t)
}

// FileInstance is the instance name of raw lines of a file without --instance:
// its base name without extensions (web1.trace.log → web1).
func FileInstance(path string) string {
	b := filepath.Base(path)
	if i := strings.IndexByte(b, '.'); i > 0 {
		b = b[:i]
	}
	return b
}

// Stats counts what was read from one file.
type Stats struct {
	Lines   int64 // complete lines read
	Records int64 // request records folded into series
	Custom  int64 // custom and D records: counted, ignored
	Bad     int64 // lines that are not trace records, or contradict the state
	Late    int64 // records whose step was already written
}

func (s *Stats) add(o Stats) {
	s.Lines += o.Lines
	s.Records += o.Records
	s.Custom += o.Custom
	s.Bad += o.Bad
	s.Late += o.Late
}

// source is one file being read.
type source struct {
	id        int32
	path      string
	parser    *Parser
	raw       string // instance of raw lines
	rawKey    string
	naming    Naming
	stats     Stats
	line      int64 // number of the last line read
	lineExact bool  // reading started at offset 0, so line numbers are exact
	limit     badLimiter
	lastKey   []byte
	lastProc  *Process
	rec       Record
}

func newSource(id int32, path string, loc *time.Location, instance string, naming Naming, fromStart bool) *source {
	if instance == "" {
		instance = FileInstance(path)
	}
	return &source{
		id: id, path: path, parser: NewParser(loc), raw: instance, rawKey: "\x00raw\x00" + instance,
		naming: naming, lineExact: fromStart,
	}
}

// where names a line for messages.
func (s *source) where(off int64) string {
	if s.lineExact {
		return fmt.Sprintf("%s:%d", s.path, s.line)
	}
	return fmt.Sprintf("%s@%d", s.path, off)
}

// badLimiter logs the first bad lines of a file, then at most one a minute.
type badLimiter struct {
	logged     int
	last       time.Time
	suppressed int64
}

const badBurst = 10

func (b *badLimiter) allow(now time.Time) (ok bool, suppressed int64) {
	if b.logged < badBurst || now.Sub(b.last) >= time.Minute {
		b.logged++
		b.last = now
		s := b.suppressed
		b.suppressed = 0
		return true, s
	}
	b.suppressed++
	return false, 0
}

// feeder parses lines of sources into a deriver.
type feeder struct {
	d   *Deriver
	log *slog.Logger
	now func() time.Time
	// future is how far after the wall clock a record may be.
	future time.Duration
	nowUs  int64
}

// begin refreshes the wall clock once per chunk of lines.
func (f *feeder) begin() {
	f.nowUs = f.now().UnixMicro()
}

// line folds one complete line (without newline) read at off of src.
func (f *feeder) line(src *source, off int64, line []byte) error {
	src.line++
	src.stats.Lines++
	r := &src.rec
	if err := src.parser.Parse(line, r); err != nil {
		f.bad(src, off, err.Error())
		return nil
	}
	if !IsRequestCode(r.Code) {
		src.stats.Custom++
		return nil
	}
	if err := horizon.CheckAt(time.UnixMicro(f.nowUs), f.future, floorDiv(r.Time, 1e6), r.Time-floorDiv(r.Time, 1e6)*1e6); err != nil {
		f.bad(src, off, err.Error())
		return nil
	}
	var p *Process
	if src.lastProc != nil && !src.lastProc.gone && string(src.lastKey) == string(r.Key) {
		p = src.lastProc
	} else {
		key := r.Key
		if len(key) == 0 {
			key = []byte(src.rawKey)
		}
		p = f.d.Process(key, func() string {
			if len(r.Key) == 0 {
				return src.raw
			}
			return src.naming.Instance(r)
		})
		src.lastKey = append(src.lastKey[:0], r.Key...)
		src.lastProc = p
	}
	late := f.d.Late
	warn, err := f.d.Add(p, src.id, off, r)
	if err != nil {
		return fmt.Errorf("%s: %w", src.where(off), err)
	}
	src.stats.Late += f.d.Late - late
	if warn != "" {
		f.bad(src, off, warn)
		return nil
	}
	src.stats.Records++
	return nil
}

func (f *feeder) bad(src *source, off int64, reason string) {
	src.stats.Bad++
	if f.log == nil {
		return
	}
	if ok, sup := src.limit.allow(f.now()); ok {
		if sup > 0 {
			f.log.Warn("bad trace-log line", "where", src.where(off), "reason", reason, "suppressed_since_last", sup)
		} else {
			f.log.Warn("bad trace-log line", "where", src.where(off), "reason", reason)
		}
	}
}
