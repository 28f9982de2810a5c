package rrdcached

import (
	"errors"
	"path/filepath"
	"strings"
)

// errOutside is refused as rrdcached -B refuses paths outside its base
// directory.
var errOutside = errors.New("Permission denied")

// mapper turns the file names of commands into series names.
type mapper struct {
	dir  string // the data directory, absolute and clean
	real string // dir with symbolic links resolved (clients send realpath(3) names)
}

func newMapper(dir string) (mapper, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return mapper{}, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		real = abs
	}
	return mapper{dir: abs, real: real}, nil
}

// shown is the path rrdcached would print for file: relative names are
// joined to the base directory as its get_abs_path does.
func (m mapper) shown(file string) string {
	if strings.HasPrefix(file, "/") {
		return file
	}
	return m.dir + "/" + file
}

// series maps a file name to its series. Relative names resolve under the
// data directory; absolute ones must be under it (as given or with links
// resolved); ".." components are refused; ".rrd" is dropped.
func (m mapper) series(file string) (string, error) {
	rel := file
	if strings.HasPrefix(file, "/") {
		c := filepath.Clean(file)
		var ok bool
		for _, base := range []string{m.dir, m.real} {
			if c == base {
				rel, ok = "", true
				break
			}
			if r, found := strings.CutPrefix(c, base+"/"); found && base != "/" {
				rel, ok = r, true
				break
			} else if base == "/" {
				rel, ok = strings.TrimPrefix(c, "/"), true
				break
			}
		}
		if !ok {
			return "", errOutside
		}
	}
	parts := strings.Split(rel, "/")
	out := parts[:0]
	for _, p := range parts {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", errOutside
		}
		out = append(out, p)
	}
	name := strings.TrimSuffix(strings.Join(out, "/"), ".rrd")
	if name == "" {
		return "", errors.New("No such file or directory")
	}
	return name, nil
}

// fileOf is the relative file name of a series in listings, or "" when the
// name can't be written as a relative path (a leading or doubled "/", or a
// "." or ".." component).
func fileOf(series string) string {
	for _, p := range strings.Split(series, "/") {
		if p == "" || p == "." || p == ".." {
			return ""
		}
	}
	return series + ".rrd"
}
