package collectd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// DS types, as the protocol numbers them.
const (
	DSCounter  = 0
	DSGauge    = 1
	DSDerive   = 2
	DSAbsolute = 3
)

// DataSource is one data source of a types.db type.
type DataSource struct {
	Name string
	Type uint8 // DSCounter …
}

// TypesDB maps a collectd type (load, if_octets) to its data sources.
type TypesDB map[string][]DataSource

// ReadTypesDB reads types.db files (collectd's TypesDB); a type defined
// again replaces the earlier one, as in collectd.
func ReadTypesDB(paths ...string) (TypesDB, error) {
	db := TypesDB{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("collectd: types.db: %w", err)
		}
		err = db.parse(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return db, nil
}

// parse reads lines `type ds:TYPE:min:max[, ds:TYPE:min:max…]`.
func (db TypesDB) parse(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	num := 0
	for sc.Scan() {
		num++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return fmt.Errorf("collectd: %s:%d: want `type ds:TYPE:min:max, …`", name, num)
		}
		var dss []DataSource
		// Data sources are separated by commas, blanks or both.
		for _, spec := range strings.FieldsFunc(strings.Join(f[1:], " "), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			parts := strings.Split(spec, ":")
			if len(parts) != 4 || parts[0] == "" {
				return fmt.Errorf("collectd: %s:%d: data source %q: want name:TYPE:min:max", name, num, spec)
			}
			var t uint8
			switch strings.ToUpper(parts[1]) {
			case "COUNTER":
				t = DSCounter
			case "GAUGE":
				t = DSGauge
			case "DERIVE":
				t = DSDerive
			case "ABSOLUTE":
				t = DSAbsolute
			default:
				return fmt.Errorf("collectd: %s:%d: data source %q: unknown type %q", name, num, spec, parts[1])
			}
			dss = append(dss, DataSource{Name: parts[0], Type: t})
		}
		db[f[0]] = dss
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("collectd: %s: %w", name, err)
	}
	return nil
}

// ReadAuthFile reads collectd's AuthFile: lines `user: password`;
// blank lines and lines starting with # are skipped.
func ReadAuthFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("collectd: auth file: %w", err)
	}
	defer f.Close()
	users := map[string]string{}
	sc := bufio.NewScanner(f)
	num := 0
	for sc.Scan() {
		num++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, pass, ok := strings.Cut(line, ":")
		user, pass = strings.TrimSpace(user), strings.TrimSpace(pass)
		if !ok || user == "" || pass == "" {
			return nil, fmt.Errorf("collectd: auth file %s:%d: want `user: password`", path, num)
		}
		users[user] = pass
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("collectd: auth file %s: %w", path, err)
	}
	return users, nil
}
