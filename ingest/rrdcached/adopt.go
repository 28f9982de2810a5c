package rrdcached

import (
	"errors"
	"fmt"
	"io"
	"os"

	"rrdash/store"
	"rrdash/store/rrdfile"
)

// maxAdopt bounds the rrdtool file read into memory to adopt it (1 GiB:
// a million rows of a hundred data sources).
const maxAdopt = 1 << 30

// specOrAdopt returns the definition of the series file names. A series
// that does not exist but whose file is there, an rrdtool file under the
// data directory, is first imported from it: collectd's rrdcached plugin
// (and other clients of librrd) create their .rrd files themselves and
// only then send UPDATEs to the daemon, as rrdcached expects. The file is
// left as it is (collectd looks for it before each write); from then on
// the series lives in rrdash's store and the file is not read again.
func (s *Server) specOrAdopt(file, name string) (store.Spec, error) {
	spec, err := s.st.Spec(name)
	if !errors.Is(err, store.ErrNotFound) {
		return spec, err
	}
	path := s.names.shown(file)
	b, rerr := readRRD(path)
	if rerr != nil || b == nil {
		if rerr != nil {
			s.log.Warn("rrdcached: not adopting file", "file", path, "series", name, "err", rerr)
		}
		return spec, err
	}
	// one adoption at a time: a second connection finds the series made
	s.adoptMu.Lock()
	defer s.adoptMu.Unlock()
	if spec, err := s.st.Spec(name); !errors.Is(err, store.ErrNotFound) {
		return spec, err
	}
	if err := s.st.ImportRRD(b, name, false); err != nil {
		return store.Spec{}, fmt.Errorf("adopting %s: %w", path, err)
	}
	s.log.Info("rrdcached: adopted rrdtool file", "file", path, "series", name)
	return s.st.Spec(name)
}

// readRRD reads the rrdtool file at path; nil without error when there is
// no such regular file or it is not an rrdtool file.
func readRRD(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, err
	}
	if fi.Size() > maxAdopt {
		return nil, fmt.Errorf("%d bytes, over the %d adopted at most", fi.Size(), maxAdopt)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if !rrdfile.IsRRD(b) {
		return nil, nil
	}
	if f, err := rrdfile.Decode(b); err == nil && f.Marked() {
		// an image rrdash wrote (export.go) of a series deleted since:
		// adopting it would bring the series back
		return nil, fmt.Errorf("an rrdtool image rrdash wrote of a series that no longer exists; remove it to create the series anew")
	}
	return b, nil
}
