package kinesis

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// deadLetterFile appends dead letters as JSON lines and fsyncs them before
// the store batch whose positions cover their records.
type deadLetterFile struct {
	f    *os.File
	path string
	size int64
	buf  bytes.Buffer
}

// openDeadLetters opens (creating) the file and cuts a torn last line left
// by a crash: that line belongs to a record after every durable position,
// so it will be written again.
func openDeadLetters(path string) (*deadLetterFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dead-letter file: %w", err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dead-letter file %s: %w", path, err)
	}
	good, err := lastLineEnd(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dead-letter file %s: %w", path, err)
	}
	if good != size {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("dead-letter file %s: cut torn line at %d: %w", path, good, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("dead-letter file %s: %w", path, err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("dead-letter file %s: %w", path, err)
	}
	return &deadLetterFile{f: f, path: path, size: good}, nil
}

// lastLineEnd returns the offset just after the last newline (0 if none).
func lastLineEnd(f *os.File, size int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(0, end-chunk)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Size is the length of the durable, whole-line part of the file.
func (d *deadLetterFile) Size() int64 { return d.size }

// Append writes the letters and fsyncs.
func (d *deadLetterFile) Append(letters []DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	d.buf.Reset()
	enc := json.NewEncoder(&d.buf)
	enc.SetEscapeHTML(false)
	for i := range letters {
		if err := enc.Encode(&letters[i]); err != nil {
			return fmt.Errorf("dead-letter file %s: encode: %w", d.path, err)
		}
	}
	n, err := d.f.Write(d.buf.Bytes())
	if err != nil {
		// Cut what was written so the file stays whole lines.
		_ = d.f.Truncate(d.size)
		_, _ = d.f.Seek(d.size, io.SeekStart)
		return fmt.Errorf("dead-letter file %s: write: %w", d.path, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("dead-letter file %s: fsync: %w", d.path, err)
	}
	d.size += int64(n)
	return nil
}

// Scan reads the dead letters from offset on back, handing each with its
// offset to fn, and returns how many it read.
func (d *deadLetterFile) Scan(from int64, log *slog.Logger, fn func(dl *DeadLetter, off int64)) (int, error) {
	if from > d.size {
		log.Warn("kinesis: dead-letter file is shorter than the checkpoint says; reading it all", "file", d.path, "size", d.size, "checkpoint_offset", from)
		from = 0
	}
	r := bufio.NewReaderSize(io.NewSectionReader(d.f, from, d.size-from), 256<<10)
	off, n := from, 0
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var dl DeadLetter
			if jerr := json.Unmarshal(line, &dl); jerr != nil || dl.Shard == "" || dl.Seq == "" {
				log.Warn("kinesis: unreadable dead-letter line skipped; its record may be dead-lettered again", "file", d.path, "offset", off, "err", jerr)
			} else {
				fn(&dl, off)
				n++
			}
			off += int64(len(line))
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("dead-letter file %s at %d: %w", d.path, off, err)
		}
	}
}

func (d *deadLetterFile) Close() error { return d.f.Close() }
