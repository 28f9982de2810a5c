package rrdcached

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"rrdash/store/rrdfile"
)

// rrdtool 1.7.2's lastupdate and dump (with --daemon) send FLUSH for the
// file and then open it themselves, at the path they were given. So that
// they work beside serve, FLUSH <file> writes an rrdtool image of the
// series at <file>, inside the data directory: DIR/<series>.rrd, the path
// a client in the data directory names (a UNIX-socket client sends its
// absolute path). The image is a snapshot, refreshed by every FLUSH of the
// file (and by FLUSHALL for the images written since the server started);
// the store stays the only place where the series lives. Only names ending
// in ".rrd" get an image, never inside the store's own series directory,
// and a file already there that is not an rrdtool file is never replaced.

// storeDirs are the data directory's entries of the store: no image goes
// below them.
var storeDirs = []string{"series", "packs"}

// imagePath is where the image of file (naming series name) goes, or ""
// when file gets none.
func (s *Server) imagePath(file, name string) (string, error) {
	if !strings.HasSuffix(file, ".rrd") {
		return "", nil
	}
	first, _, _ := strings.Cut(name, "/")
	for _, d := range storeDirs {
		if first == d {
			return "", fmt.Errorf("%s is inside the store's own directory %s/%s", s.names.shown(file), s.names.dir, d)
		}
	}
	return filepath.Join(s.names.dir, filepath.FromSlash(name)+".rrd"), nil
}

// writeImage writes the rrdtool image of series name at path.
func (s *Server) writeImage(path, name string) error {
	if err := s.replaceable(path); err != nil {
		return err
	}
	f, err := s.st.ExportRRD(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := rrdfile.WriteFile(path, f, 0o644); err != nil {
		return err
	}
	s.mu.Lock()
	s.images[name] = path
	s.mu.Unlock()
	return nil
}

// replaceable refuses to write over anything but an rrdtool file.
func (s *Server) replaceable(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: not replaced", path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	head := make([]byte, len(rrdfile.Magic))
	if _, err := io.ReadFull(fh, head); err != nil || !rrdfile.IsRRD(head) {
		return fmt.Errorf("%s is not an rrdtool file: not replaced", path)
	}
	return nil
}

// refreshImages rewrites every image written since the server started
// (FLUSHALL); a series gone since is skipped.
func (s *Server) refreshImages() error {
	s.mu.Lock()
	images := make(map[string]string, len(s.images))
	for n, p := range s.images {
		images[n] = p
	}
	s.mu.Unlock()
	var errs []error
	for name, path := range images {
		if _, err := s.st.Spec(name); err != nil {
			continue
		}
		if err := s.writeImage(path, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dropImage removes the image of a series deleted or renamed through the
// server, if rrdash wrote it (rrdfile.Mark): a stale image must not stay
// readable as the series, nor be adopted again.
func (s *Server) dropImage(name string) {
	path, err := s.imagePath(name+".rrd", name)
	if err != nil || path == "" {
		return
	}
	if f, err := rrdfile.ReadFile(path); err == nil && f.Marked() {
		if err := os.Remove(path); err != nil {
			s.log.Warn("rrdcached: stale rrdtool image not removed", "file", path, "err", err)
		}
	}
	s.mu.Lock()
	delete(s.images, name)
	s.mu.Unlock()
}
