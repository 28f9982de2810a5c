package main

import (
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// pipeDir is the working directory of pipe mode, rrdtool's remote-control
// mode: `rrdtool - DIR` (as root: chroot to DIR) answers cd, pwd, mkdir,
// ls and quit besides its commands, and takes file names relative to the
// current directory. rrdash's directories are those of series names ("/"
// is a level: series a/b/c is c.rrd in directory a/b, as rrdcached and
// import --tree map them), so the session is confined to series directory
// root as a chrooted rrdtool is to DIR: pwd prints "/" there, ".." stops
// at it, "/x" means root/x. A file name in a command is a series name
// relative to the current directory with ".rrd" dropped.
type pipeDir struct {
	db   seriesStore
	root string // the session's top, a series directory ("" for all series)
	cwd  string // the current directory below root ("" at the top)
	// made are directories created by mkdir that hold no series yet: a
	// directory of series names exists by the series in it, so an empty
	// one lasts for the session only
	made map[string]bool
}

// newPipeDir starts a session in series directory dir ("", "." or "/":
// the top), which must exist as rrdtool's chdir/chroot needs.
func newPipeDir(db seriesStore, dir string) (*pipeDir, error) {
	d := &pipeDir{db: db, made: map[string]bool{}}
	root := strings.Trim(path.Clean("/"+dir), "/")
	if root != "" {
		isDir, _, err := d.stat(root)
		if err != nil {
			return nil, err
		}
		if !isDir {
			return nil, fmt.Errorf("chdir %s No such file or directory (no series in that directory)", dir)
		}
	}
	d.root = root
	return d, nil
}

// full is the series name (or directory) p names, relative to the current
// directory or, with a leading "/", to the session's top.
func (d *pipeDir) full(p string) string {
	base := d.cwd
	if strings.HasPrefix(p, "/") {
		base = ""
	}
	rel := strings.TrimPrefix(path.Clean("/"+base+"/"+p), "/") // ".." stops at the top
	return joinName(d.root, rel)
}

func joinName(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "/" + b
}

// series maps a file name of a command to a series name. At the top of an
// unconfined session a name without ".rrd" stays as it is (so names that
// are no paths, e.g. Graphite's, keep working).
func (d *pipeDir) series(file string) string {
	if d.root == "" && d.cwd == "" && !strings.HasSuffix(file, ".rrd") {
		return file
	}
	return strings.TrimSuffix(d.full(file), ".rrd")
}

// stat tells whether name is a directory (a series below it, or made this
// session) and whether it is a series.
func (d *pipeDir) stat(name string) (isDir, isSeries bool, err error) {
	if name == "" || d.made[name] {
		return true, false, nil
	}
	all, err := d.db.List("")
	if err != nil {
		return false, false, err
	}
	for _, s := range all {
		if s == name {
			isSeries = true
		} else if strings.HasPrefix(s, name+"/") {
			isDir = true
		}
	}
	return isDir, isSeries, nil
}

// isFile reports whether name is a series' file, NAME.rrd.
func (d *pipeDir) isFile(name string) bool {
	base, ok := strings.CutSuffix(name, ".rrd")
	if !ok {
		return false
	}
	_, isSeries, _ := d.stat(base)
	return isSeries
}

// dirCommand reports the commands pipeDir answers itself.
func dirCommand(cmd string) bool {
	switch cmd {
	case "cd", "pwd", "mkdir", "ls", "quit":
		return true
	}
	return false
}

// run answers cd, pwd, mkdir, ls or quit as rrdtool's HandleInputLine:
// it writes the output to out and returns the text of the error line, ""
// when the answer is OK (an error has no OK line, as rrdtool's); quit
// reports the end of the session.
func (d *pipeDir) run(args []string, out io.Writer) (quit bool, errLine string) {
	cmd := args[0]
	want := map[string]int{"cd": 2, "mkdir": 2, "pwd": 1, "ls": 1, "quit": 1}[cmd]
	if len(args) != want {
		return false, "invalid parameter count for " + cmd
	}
	switch cmd {
	case "quit":
		return true, ""
	case "pwd":
		fmt.Fprintln(out, "/"+d.cwd)
	case "cd":
		to := d.full(args[1])
		isDir, _, err := d.stat(to)
		if err != nil {
			return false, err.Error()
		}
		if !isDir {
			if d.isFile(to) {
				return false, "chdir " + args[1] + " Not a directory"
			}
			return false, "chdir " + args[1] + " No such file or directory"
		}
		d.cwd = strings.TrimPrefix(strings.TrimPrefix(to, d.root), "/")
	case "mkdir":
		to := d.full(args[1])
		parent := path.Dir("/" + to)[1:]
		if isDir, _, err := d.stat(parent); err != nil {
			return false, err.Error()
		} else if !isDir {
			return false, "mkdir " + args[1] + ": No such file or directory"
		}
		isDir, _, err := d.stat(to)
		if err != nil {
			return false, err.Error()
		}
		if isDir || d.isFile(to) {
			return false, "mkdir " + args[1] + ": File exists"
		}
		d.made[to] = true
	case "ls":
		if err := d.ls(out); err != nil {
			return false, err.Error()
		}
	}
	return false, ""
}

// ls is rrdtool's: "d NAME" for each directory ("." and ".." included),
// "- NAME.rrd" for each series here. rrdtool prints them in the order the
// file system gives them; rrdash sorts them (directories first).
func (d *pipeDir) ls(out io.Writer) error {
	here := joinName(d.root, d.cwd)
	all, err := d.db.List("")
	if err != nil {
		return err
	}
	prefix := ""
	if here != "" {
		prefix = here + "/"
	}
	dirs := map[string]bool{".": true, "..": true}
	var files []string
	for _, s := range all {
		rest, ok := strings.CutPrefix(s, prefix)
		if !ok || !relativeName(s) {
			continue
		}
		if first, _, sub := strings.Cut(rest, "/"); sub {
			dirs[first] = true
		} else {
			files = append(files, rest+".rrd")
		}
	}
	for m := range d.made {
		if rest, ok := strings.CutPrefix(m, prefix); ok && !strings.Contains(rest, "/") {
			dirs[rest] = true
		}
	}
	names := make([]string, 0, len(dirs))
	for n := range dirs {
		names = append(names, n)
	}
	slices.Sort(names)
	slices.Sort(files)
	for _, n := range names {
		fmt.Fprintf(out, "d %s\n", n)
	}
	for _, f := range files {
		fmt.Fprintf(out, "- %s\n", f)
	}
	return nil
}

// mapArgs rewrites the file names of a command line (args[0] is the
// command) into series names: the series argument(s) of each command,
// create's --source and --template, the file of graph's and xport's DEFs.
// Other arguments (update's ARGs, restore's XML file, graph's image, dump's
// output file) stay.
func (d *pipeDir) mapArgs(args []string) []string {
	cmd := args[0]
	if d.root == "" && d.cwd == "" {
		// the fast path of the common line: nothing to map
		if cmd == "update" && len(args) > 1 && !strings.HasSuffix(args[1], ".rrd") {
			return args
		}
	}
	positions := map[string][]int{
		"create": {0}, "update": {0}, "updatev": {0}, "fetch": {0}, "info": {0}, "last": {0}, "first": {0}, "lastupdate": {0},
		"dump": {0}, "tune": {0}, "resize": {0}, "restore": {1}, "flushcached": {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	}[cmd]
	pos := 0
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case (cmd == "graph" || cmd == "graphv" || cmd == "xport") && strings.HasPrefix(a, "DEF:"):
			args[i] = d.mapDEF(a)
		case cmd == "list" && !strings.HasPrefix(a, "-"):
			if d.root != "" || d.cwd != "" || strings.HasPrefix(a, "/") {
				rel := strings.TrimPrefix(d.full(a), "/")
				if rel == "" {
					rel = "."
				}
				args[i] = rel
			}
		case len(a) > 1 && a[0] == '-' && (a[1] < '0' || a[1] > '9'):
			name, val, hasVal := strings.Cut(a, "=")
			seriesOpt := cmd == "create" && (name == "--source" || name == "-r" || name == "--template" || name == "-t")
			if hasVal {
				if seriesOpt {
					args[i] = name + "=" + d.series(val)
				}
				continue
			}
			if takesValue(cmd, name) && i+1 < len(args) {
				i++
				if seriesOpt {
					args[i] = d.series(args[i])
				}
			}
		default:
			if slices.Contains(positions, pos) {
				args[i] = d.series(a)
			}
			pos++
		}
	}
	return args
}

// takesValue reports the options of cmd whose value is the next argument.
func takesValue(cmd, opt string) bool {
	if cmd == "tune" {
		return true // every tune option takes one
	}
	switch opt {
	case "-d", "--daemon":
		return true
	}
	var opts []string
	switch cmd {
	case "create":
		opts = []string{"-b", "--start", "-s", "--step", "-r", "--source", "-t", "--template"}
	case "update", "updatev":
		opts = []string{"-t", "--template", "-L", "--locking"}
	case "fetch":
		opts = []string{"-r", "--resolution", "-s", "--start", "-e", "--end"}
	case "first":
		opts = []string{"--rraindex"}
	case "dump":
		opts = []string{"-h", "--header"}
	}
	return slices.Contains(opts, opt)
}

// mapDEF rewrites the file of DEF:vname=FILE:ds:CF[…] (":" in FILE is
// escaped as "\:").
func (d *pipeDir) mapDEF(def string) string {
	eq := strings.IndexByte(def, '=')
	if eq < 0 {
		return def
	}
	rest := def[eq+1:]
	end := 0
	for end < len(rest) && rest[end] != ':' {
		if rest[end] == '\\' && end+1 < len(rest) {
			end++
		}
		end++
	}
	file := strings.ReplaceAll(rest[:end], `\:`, ":")
	name := strings.ReplaceAll(d.series(file), ":", `\:`)
	return def[:eq+1] + name + rest[end:]
}

// runPipeCommand is `rrdash - [DIR]`: pipe mode in series directory DIR
// (the top without it).
func runPipeCommand(ctx context.Context, db seriesStore, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 1 {
		return usageError{"usage: rrdash - [DIR]"}
	}
	dir := ""
	if len(args) == 1 {
		dir = args[0]
	}
	d, err := newPipeDir(db, dir)
	if err != nil {
		return err
	}
	return runPipe(ctx, db, d, stdin, stdout)
}
