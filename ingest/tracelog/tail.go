package tracelog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"rrdash/ingest/horizon"
	"rrdash/store"
)

// SourceConfig is one directory glob to tail.
type SourceConfig struct {
	Glob     string         // e.g. /var/log/zope/*.log
	Location *time.Location // time zone of its record timestamps; nil: TailConfig.Location
	Instance string         // instance of raw lines; default: the file's base name
}

// TailConfig configures a Tailer.
type TailConfig struct {
	Sources  []SourceConfig
	Location *time.Location // default time zone of record timestamps; nil: time.Local
	Step     int64          // seconds; default 60
	Grace    int64          // seconds a step stays open after its end; default 10
	Naming   Naming         // instance naming; default "{host}.{program}"
	Threads  map[string]int64
	Poll     time.Duration // default 1 s
	// Name keys the tailer's position in the store ("tracelog:"+Name); default "default".
	Name string
	// Now is the wall clock (tests replace it); default time.Now.
	Now func() time.Time
	// MaxFuture refuses records more than this ahead of Now (default
	// horizon.DefaultMaxFuture).
	MaxFuture time.Duration
}

// compressed rotated files are skipped: they are copies of what was read.
var compressedSuffixes = []string{".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip", ".lzma"}

func isCompressed(path string) bool {
	for _, s := range compressedSuffixes {
		if strings.HasSuffix(path, s) {
			return true
		}
	}
	return false
}

// Tailer follows trace logs in directories into a Sink: new files, growth,
// rotation by rename and by copy-truncate. Its position in every file is
// saved with the rows it writes, so it resumes after a restart or a crash
// without losing or repeating a record.
type Tailer struct {
	cfg      TailConfig
	sink     Sink
	log      *slog.Logger
	d        *Deriver
	f        *feeder
	files    []*tfile // rotated files first, then in order of discovery
	nextID   int32
	pending  []Row
	lastPos  []byte
	lastSave time.Time
	caughtUp bool // every file was read to its end in the last cycle
	// readLimit bounds the bytes read from one file per cycle; 0 means maxReadPerCycle.
	readLimit int

	retired Stats      // of files forgotten
	statsMu sync.Mutex // guards total, the snapshot Stats returns
	total   Stats
}

// Stats returns the totals over every file read so far, as of the last
// read cycle. Safe to call from any goroutine (for metrics).
func (t *Tailer) Stats() Stats {
	t.statsMu.Lock()
	defer t.statsMu.Unlock()
	return t.total
}

type tfile struct {
	src        *source
	cfg        *SourceConfig
	path       string
	fh         *os.File
	dev, ino   uint64
	readOff    int64 // offset after the last complete line read
	buf        []byte
	n          int       // bytes of buf holding a partial line
	skipping   bool      // inside an over-long line
	rotated    bool      // the path names another file now: read to the end, then close
	lastGrowth time.Time // when a rotated file last grew
	exhausted  bool      // rotated and read to the end
	eof        bool
}

// position is the tailer's resume token, saved atomically with its rows.
type position struct {
	V       int                 `json:"v"`
	Files   []filePos           `json:"files"`
	Threads map[string][2]int64 `json:"threads,omitempty"`
}

type filePos struct {
	Path    string `json:"path"`
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Off     int64  `json:"off"` // first byte not yet folded into a written row
	Rotated bool   `json:"rotated,omitempty"`
	Done    bool   `json:"done,omitempty"` // rotated and read to its end
	Size    int64  `json:"size,omitempty"` // its size then
}

const readBuf = 256 << 10

// NewTailer checks cfg and returns a tailer; Run starts it.
func NewTailer(cfg TailConfig, sink Sink, log *slog.Logger) (*Tailer, error) {
	if len(cfg.Sources) == 0 {
		return nil, errors.New("tracelog: no source globs configured")
	}
	for i, s := range cfg.Sources {
		if _, err := filepath.Match(s.Glob, ""); err != nil {
			return nil, fmt.Errorf("tracelog: source %d: glob %q: %w", i+1, s.Glob, err)
		}
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Step <= 0 {
		cfg.Step = 60
	}
	if cfg.MaxFuture < 0 {
		return nil, errors.New("tracelog: max future must not be negative")
	}
	if cfg.Grace < 0 {
		return nil, errors.New("tracelog: grace must not be negative")
	}
	if cfg.Grace == 0 {
		cfg.Grace = 10
	}
	if cfg.Naming == "" {
		cfg.Naming = DefaultNaming
	}
	if err := cfg.Naming.Validate(); err != nil {
		return nil, fmt.Errorf("tracelog: %w", err)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tailer{cfg: cfg, sink: sink, log: log.With("tailer", cfg.Name)}
	t.d = NewDeriver(DeriverConfig{Step: cfg.Step, Grace: cfg.Grace, Threads: cfg.Threads}, sinkFloor(sink, cfg.Step, cfg.Grace))
	t.f = &feeder{d: t.d, log: t.log, now: cfg.Now, future: horizon.Horizon{MaxFuture: cfg.MaxFuture}.Max()}
	return t, nil
}

// PositionKey is the store source id under which the tailer keeps its position.
func (t *Tailer) PositionKey() string { return "tracelog:" + t.cfg.Name }

// Run tails until ctx is done (then it returns nil). Store errors are
// logged and retried; only a broken saved position is fatal.
func (t *Tailer) Run(ctx context.Context) error {
	if err := t.restore(); err != nil {
		return err
	}
	defer t.closeAll()
	tick := time.NewTicker(t.cfg.Poll)
	defer tick.Stop()
	var lastErr string
	var lastLog time.Time
	for {
		if err := t.cycle(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// a lasting failure is logged once a minute, not every poll
			if msg := err.Error(); msg != lastErr || time.Since(lastLog) >= time.Minute {
				t.log.Error("trace-log cycle failed; retrying", "err", err)
				lastErr, lastLog = msg, time.Now()
			}
		} else {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (t *Tailer) closeAll() {
	for _, f := range t.files {
		if f.fh != nil {
			f.fh.Close()
			f.fh = nil
		}
	}
}

func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

func (t *Tailer) sourceFor(path string) *SourceConfig {
	for i := range t.cfg.Sources {
		if ok, _ := filepath.Match(t.cfg.Sources[i].Glob, path); ok {
			return &t.cfg.Sources[i]
		}
	}
	// a rotated file renamed out of its glob keeps the first source's settings
	return &t.cfg.Sources[0]
}

func (t *Tailer) open(path string, fh *os.File, fi os.FileInfo, off int64, sc *SourceConfig, rotated bool) *tfile {
	loc := sc.Location
	if loc == nil {
		loc = t.cfg.Location
	}
	f := &tfile{path: path, fh: fh, cfg: sc, readOff: off, rotated: rotated, buf: make([]byte, readBuf)}
	f.dev, f.ino = fileID(fi)
	f.src = newSource(t.nextID, path, loc, sc.Instance, t.cfg.Naming, off == 0)
	t.nextID++
	return f
}

// restore reopens the files of the saved position.
func (t *Tailer) restore() error {
	raw := t.sink.Position(t.PositionKey())
	if raw == nil {
		return nil
	}
	var p position
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("tracelog: saved position %s: %w", t.PositionKey(), err)
	}
	for name, th := range p.Threads {
		t.d.SetThreads(name, th[0], th[1])
	}
	for _, fp := range p.Files {
		path, fh, fi := t.find(fp)
		if fh == nil {
			if !fp.Done {
				t.log.Error("trace log to resume is gone: records after its saved offset are lost", "path", fp.Path, "inode", fp.Ino, "offset", fp.Off)
			}
			continue
		}
		off := fp.Off
		if fi.Size() < off {
			t.log.Warn("trace log shrank while stopped: reading it from the start", "path", path, "size", fi.Size(), "offset", off)
			off = 0
		}
		rotated := fp.Rotated || path != fp.Path
		f := t.open(path, fh, fi, off, t.sourceFor(fp.Path), rotated)
		if rotated {
			f.path = fp.Path // the name it had, for rotation detection
		}
		if fp.Done && off == fi.Size() {
			// read to its end before: only remembered so that a glob
			// matching rotated names does not read it again
			fh.Close()
			f.fh = nil
			f.exhausted = true
			f.readOff = fp.Size
		} else if _, err := fh.Seek(off, io.SeekStart); err != nil {
			fh.Close()
			return fmt.Errorf("tracelog %s: %w", path, err)
		}
		t.files = append(t.files, f)
	}
	// rotated files hold older records: read them first
	slices.SortStableFunc(t.files, func(a, b *tfile) int {
		switch {
		case a.rotated && !b.rotated:
			return -1
		case !a.rotated && b.rotated:
			return 1
		}
		return 0
	})
	return nil
}

// find opens the file of a saved position: at its path if the inode is the
// same, else a file with that inode in the same directory (it was rotated).
func (t *Tailer) find(fp filePos) (string, *os.File, os.FileInfo) {
	if fh, fi := openSame(fp.Path, fp.Dev, fp.Ino); fh != nil {
		return fp.Path, fh, fi
	}
	dir := filepath.Dir(fp.Path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, nil
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() || isCompressed(p) {
			continue
		}
		if fh, fi := openSame(p, fp.Dev, fp.Ino); fh != nil {
			return p, fh, fi
		}
	}
	return "", nil, nil
}

func openSame(path string, dev, ino uint64) (*os.File, os.FileInfo) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil
	}
	if d, i := fileID(fi); d != dev || i != ino {
		return nil, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil
	}
	fi2, err := fh.Stat()
	if d, i := fileID(fi2); err != nil || d != dev || i != ino {
		fh.Close()
		return nil, nil
	}
	return fh, fi2
}

// scan finds new files and rotations.
func (t *Tailer) scan() {
	type fid struct{ dev, ino uint64 }
	type found struct {
		path  string
		mtime time.Time
		sc    *SourceConfig
	}
	seen := map[fid]bool{}
	var fresh []found
	for i := range t.cfg.Sources {
		sc := &t.cfg.Sources[i]
		paths, _ := filepath.Glob(sc.Glob) // the pattern was checked in NewTailer
		for _, p := range paths {
			if isCompressed(p) {
				continue
			}
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			dev, ino := fileID(fi)
			if seen[fid{dev, ino}] {
				continue // matched by an earlier glob too
			}
			seen[fid{dev, ino}] = true
			known := false
			for _, f := range t.files {
				if f.dev != dev || f.ino != ino {
					continue
				}
				if f.exhausted && fi.Size() < f.readOff {
					// the inode of a finished file was reused by a new one
					f.ino, f.dev = 0, 0
					continue
				}
				known = true
				if !f.rotated && f.path != p {
					// renamed within the glob: still the same file
					f.path = p
				}
			}
			if known {
				continue
			}
			for _, f := range t.files {
				if f.path == p && !f.rotated {
					f.rotated = true
				}
			}
			fresh = append(fresh, found{p, fi.ModTime(), sc})
		}
	}
	// Several new files at once (a start, or rotations while stopped, with
	// a glob matching rotated names): the least recently written first.
	slices.SortStableFunc(fresh, func(a, b found) int { return a.mtime.Compare(b.mtime) })
	for _, nf := range fresh {
		fh, err := os.Open(nf.path)
		if err != nil {
			t.log.Warn("cannot open trace log", "path", nf.path, "err", err)
			continue
		}
		fi, err := fh.Stat()
		if err != nil {
			fh.Close()
			continue
		}
		t.files = append(t.files, t.open(nf.path, fh, fi, 0, nf.sc, false))
		t.log.Info("tailing trace log", "path", nf.path)
	}
	// a tracked path that vanished or names another file now was rotated away
	for _, f := range t.files {
		if f.rotated {
			continue
		}
		fi, err := os.Stat(f.path)
		if err != nil {
			f.rotated = true
			continue
		}
		if d, i := fileID(fi); d != f.dev || i != f.ino {
			f.rotated = true
		}
	}
	// forget finished files that no glob matches any more and whose every
	// record is in written rows
	safe := t.d.SafeOffsets()
	t.files = slices.DeleteFunc(t.files, func(f *tfile) bool {
		_, needed := safe[f.src.id]
		forget := f.exhausted && !needed && !seen[fid{f.dev, f.ino}]
		if forget {
			t.retired.add(f.src.stats)
		}
		return forget
	})
	slices.SortStableFunc(t.files, func(a, b *tfile) int {
		switch {
		case a.rotated && !b.rotated:
			return -1
		case !a.rotated && b.rotated:
			return 1
		}
		return 0
	})
}

// cycle scans, reads what is new, closes due steps and writes them.
func (t *Tailer) cycle(ctx context.Context) error {
	t.scan()
	caughtUp := true
	now := t.cfg.Now()
	lingering := map[string]bool{}
	for _, f := range t.files {
		if f.fh == nil {
			continue
		}
		if !f.rotated && lingering[f.path] {
			// The file that replaced a rotated one waits until the old one
			// is closed, so that records are read in the order written.
			caughtUp = false
			continue
		}
		before := f.readOff + int64(f.n)
		done, err := t.read(ctx, f)
		if err != nil {
			return err
		}
		if !done {
			caughtUp = false
		}
		if !f.rotated {
			continue
		}
		if f.readOff+int64(f.n) != before || f.lastGrowth.IsZero() {
			f.lastGrowth = now
		}
		if done && now.Sub(f.lastGrowth) >= rotateLinger {
			// Read to its end after it was rotated away and quiet for a
			// while (a writer may append until it reopens its files):
			// nothing more will come.
			f.fh.Close()
			f.fh = nil
			f.buf = nil
			f.exhausted = true
			st := f.src.stats
			t.log.Info("rotated trace log read to its end", "path", f.path, "lines", st.Lines, "records", st.Records, "custom", st.Custom, "bad", st.Bad, "late", st.Late)
		} else {
			lingering[f.path] = true
		}
	}
	t.caughtUp = caughtUp
	if caughtUp {
		// Time passes even when processes log nothing; the grace covers
		// delivery delay.
		t.d.Advance(t.cfg.Now().UnixMicro())
	}
	total := t.retired
	for _, f := range t.files {
		total.add(f.src.stats)
	}
	t.statsMu.Lock()
	t.total = total
	t.statsMu.Unlock()
	return t.flush(ctx, true)
}

const (
	maxReadPerCycle = 64 << 20
	// rotateLinger is how long a rotated file must stay unchanged before
	// it is closed.
	rotateLinger = 5 * time.Second
	// positionEvery is how often a position moves to the store without rows.
	positionEvery = 30 * time.Second
)

// read reads f to its end (or maxReadPerCycle); done reports reaching the end.
func (t *Tailer) read(ctx context.Context, f *tfile) (done bool, err error) {
	fi, err := f.fh.Stat()
	if err != nil {
		return false, fmt.Errorf("tracelog %s: %w", f.path, err)
	}
	if size := fi.Size(); size < f.readOff+int64(f.n) && !f.rotated {
		// copy-truncate: the content we read is in a copy we do not follow
		t.log.Warn("trace log truncated: reading it from the start", "path", f.path, "size", size, "offset", f.readOff)
		t.d.DropFile(f.src.id)
		loc := f.src.parser.loc
		f.src = newSource(t.nextID, f.path, loc, f.cfg.Instance, t.cfg.Naming, true)
		t.nextID++
		f.readOff, f.n, f.skipping = 0, 0, false
		if _, err := f.fh.Seek(0, io.SeekStart); err != nil {
			return false, fmt.Errorf("tracelog %s: %w", f.path, err)
		}
	}
	limit := t.readLimit
	if limit <= 0 {
		limit = maxReadPerCycle
	}
	var total int
	for total < limit {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		room := min(len(f.buf)-f.n, max(limit-total, 1))
		m, rerr := f.fh.Read(f.buf[f.n : f.n+room])
		total += m
		if m > 0 {
			t.f.begin()
			if err := t.lines(f, f.n+m); err != nil {
				return false, err
			}
			if err := t.flush(ctx, false); err != nil {
				return false, err
			}
		}
		if rerr == io.EOF || m == 0 {
			return true, nil
		}
		if rerr != nil {
			return false, fmt.Errorf("tracelog %s: %w", f.path, rerr)
		}
	}
	return false, nil
}

// lines folds the complete lines of f.buf[:end] and keeps the partial rest.
func (t *Tailer) lines(f *tfile, end int) error {
	b := f.buf[:end]
	start := 0
	for {
		nl := bytes.IndexByte(b[start:], '\n')
		if nl < 0 {
			break
		}
		line := b[start : start+nl]
		off := f.readOff
		if f.skipping {
			f.skipping = false
		} else if err := t.f.line(f.src, off, line); err != nil {
			// keep the line for the next cycle: the store may recover
			f.src.line--
			f.src.stats.Lines--
			copy(f.buf, b[start:])
			f.n = end - start
			return err
		}
		f.readOff += int64(nl + 1)
		start += nl + 1
	}
	rest := end - start
	switch {
	case f.skipping:
		f.readOff += int64(rest)
		rest = 0
	case rest == len(f.buf):
		// a full buffer without a newline cannot be a trace record
		f.src.line++
		f.src.stats.Lines++
		t.f.bad(f.src, f.readOff, "line longer than 256 KiB")
		f.skipping = true
		f.readOff += int64(rest)
		rest = 0
	}
	copy(f.buf, b[start:start+rest])
	f.n = rest
	return nil
}

// flush writes closed rows with the position they were derived up to.
// Without rows, the position is written only when force is set and it changed.
func (t *Tailer) flush(ctx context.Context, force bool) error {
	rows := t.d.Rows()
	t.pending = append(t.pending, rows...)
	if len(t.pending) == 0 && !force {
		return nil
	}
	if !force && len(t.pending) < batchRows {
		return nil
	}
	pos, err := t.position()
	if err != nil {
		return err
	}
	if len(t.pending) == 0 && (bytes.Equal(pos, t.lastPos) || t.cfg.Now().Sub(t.lastSave) < positionEvery) {
		return nil
	}
	res, err := t.sink.Apply(ctx, store.Batch{Updates: toUpdates(t.pending), Positions: map[string][]byte{t.PositionKey(): pos}})
	if err != nil {
		return fmt.Errorf("tracelog: store: %w", err)
	}
	for i, e := range res.Errors {
		if i >= badBurst {
			t.log.Warn("more updates refused", "count", len(res.Errors)-i)
			break
		}
		u := t.pending[e.Index]
		t.log.Warn("update refused", "series", u.Series, "time", u.End, "err", e.Err)
	}
	t.pending = t.pending[:0]
	t.lastPos = pos
	t.lastSave = t.cfg.Now()
	return nil
}

// position encodes, per file, the offset of the first byte not yet folded
// into a written row.
func (t *Tailer) position() ([]byte, error) {
	safe := t.d.SafeOffsets()
	p := position{V: 1, Threads: t.d.Threads()}
	for _, f := range t.files {
		off := f.readOff
		if s, ok := safe[f.src.id]; ok && s < off {
			off = s
		}
		p.Files = append(p.Files, filePos{Path: f.path, Dev: f.dev, Ino: f.ino, Off: off, Rotated: f.rotated, Done: f.exhausted, Size: f.readOff})
	}
	return json.Marshal(p)
}
