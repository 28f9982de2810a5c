package graph

import (
	"fmt"
	"strconv"
	"strings"
)

// SplitCommandLine splits a pasted shell command line into words: single
// and double quotes, backslash escapes and backslash-newline continuations
// as a POSIX shell does (no expansion). Errors give the byte position.
func SplitCommandLine(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\':
			if i+1 >= len(line) {
				return nil, fmt.Errorf("command line: trailing backslash at position %d", i+1)
			}
			if line[i+1] == '\n' {
				i++
				continue
			}
			cur.WriteByte(line[i+1])
			inWord = true
			i++
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("command line: unterminated single quote at position %d", i+1)
			}
			cur.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 1
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) && strings.IndexByte("\"\\$`\n", line[j+1]) >= 0 {
					if line[j+1] != '\n' {
						cur.WriteByte(line[j+1])
					}
					j++
					continue
				}
				cur.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, fmt.Errorf("command line: unterminated double quote at position %d", i+1)
			}
			inWord = true
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// splitFields splits a graph element on ':' not escaped by a backslash and
// removes the escapes, as rrdtool does for file names and legends.
func splitFields(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == ':' {
			cur.WriteByte(':')
			i++
			continue
		}
		if s[i] == ':' {
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	return append(out, cur.String())
}

func escapeField(s string) string { return strings.ReplaceAll(s, ":", `\:`) }

// valueOptions are rrdtool graph's short options that take a value.
var valueOptions = map[string]string{
	"-s": "--start", "-e": "--end", "-t": "--title", "-v": "--vertical-label",
	"-w": "--width", "-h": "--height", "-l": "--lower-limit", "-u": "--upper-limit",
	"-S": "--step", "-a": "--imgformat", "-c": "--color", "-n": "--font",
	"-X": "--units-exponent", "-L": "--units-length", "-x": "--x-grid", "-y": "--y-grid",
	"-W": "--watermark", "-T": "--tabwidth", "-b": "--base", "-R": "--font-render-mode",
	"-B": "--font-smoothing-threshold", "-G": "--graph-render-mode", "-m": "--zoom",
	"-d": "--daemon", "-f": "--imginfo",
}

var longValueOptions = map[string]bool{
	"--right-axis": true, "--right-axis-label": true, "--right-axis-format": true,
	"--right-axis-formatter": true, "--left-axis-formatter": true,
	"--legend-position": true, "--legend-direction": true, "--border": true,
	"--units": true, "--grid-dash": true, "--left-axis-format": true,
	"--week-fmt": true,
}

var flagOptions = map[string]string{
	"-r": "--rigid", "-A": "--alt-autoscale", "-J": "--alt-autoscale-min", "-M": "--alt-autoscale-max",
	"-N": "--no-gridfit", "-Y": "--alt-y-grid", "-o": "--logarithmic", "-E": "--slope-mode",
	"-g": "--no-legend", "-F": "--force-rules-legend", "-z": "--lazy", "-j": "--only-graph",
	"-D": "--full-size-mode", "-P": "--pango-markup", "-i": "--interlaced", "-Z": "--use-nan-for-all-missing-data",
}

var longFlagOptions = map[string]bool{
	"--dynamic-labels": true, "--disable-rrdtool-tag": true, "--allow-shrink": true,
	"--no-minor": true, "--use-nan-for-all-missing-data": true,
}

// refusedOptions are rrdtool graph options rrdash does not implement: an
// error names them, never a silent drop.
var refusedOptions = map[string]string{
	"--font-render-mode": "font render modes", "--font-smoothing-threshold": "font smoothing",
	"--graph-render-mode": "graph render modes", "--daemon": "rrdcached fetches (rrdash reads its own store)",
}

// ParseArgs parses an `rrdtool graph` argument list (the leading "rrdtool",
// "graph"/"graphv" and the output file name are skipped). An option or
// element rrdash does not implement is an error naming it. The warnings
// are kept for callers; none are produced today.
func ParseArgs(args []string) (*Spec, []string, error) {
	if len(args) > 0 && (args[0] == "rrdtool" || strings.HasSuffix(args[0], "/rrdtool")) {
		args = args[1:]
	}
	if len(args) > 0 && (args[0] == "graph" || args[0] == "graphv") {
		args = args[1:]
	}
	s := &Spec{Defs: []Def{}, Items: []Item{}}
	var warnings []string
	sawFile := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		where := fmt.Sprintf("argument %d (%.40q)", i+1, a)
		if strings.HasPrefix(a, "-") && a != "-" {
			name, val, hasVal := a, "", false
			if strings.HasPrefix(a, "--") {
				if k := strings.IndexByte(a, '='); k >= 0 {
					name, val, hasVal = a[:k], a[k+1:], true
				}
			} else if len(a) > 2 {
				name, val, hasVal = a[:2], a[2:], true
			}
			long := name
			if l, ok := valueOptions[name]; ok {
				long = l
			} else if l, ok := flagOptions[name]; ok {
				long = l
			}
			isValue := longValueOptions[long]
			for _, l := range valueOptions {
				if l == long {
					isValue = true
				}
			}
			if why, ok := refusedOptions[long]; ok {
				return nil, nil, fmt.Errorf("%s: option %s is not supported (rrdash does not implement %s)", where, long, why)
			}
			if !isValue {
				isFlag := longFlagOptions[long]
				for _, l := range flagOptions {
					if l == long {
						isFlag = true
					}
				}
				if !isFlag || hasVal {
					return nil, nil, fmt.Errorf("%s: unknown option %q", where, name)
				}
				s.setFlag(long)
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("%s: option %s needs a value", where, long)
				}
				i++
				val = args[i]
			}
			if err := s.setOption(long, val); err != nil {
				return nil, nil, fmt.Errorf("%s: %s: %w", where, long, err)
			}
			continue
		}
		kw, _, hasColon := strings.Cut(a, ":")
		if !hasColon || !isElement(kw) {
			if !sawFile {
				sawFile = true // the output file name
				continue
			}
			return nil, nil, fmt.Errorf("%s: not a graph element (want DEF:, CDEF:, VDEF:, LINE…:, AREA:, STACK:, TICK:, HRULE:, VRULE:, PRINT:, GPRINT:, COMMENT:, TEXTALIGN:)", where)
		}
		if err := s.addElement(a); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	return s, warnings, nil
}

func (s *Spec) setFlag(long string) {
	l := &s.Look
	switch long {
	case "--rigid":
		l.Rigid = true
	case "--allow-shrink":
		l.AllowShrink = true
	case "--alt-autoscale":
		l.AltAutoscale = true
	case "--alt-autoscale-min":
		l.AltAutoscaleMin = true
	case "--alt-autoscale-max":
		l.AltAutoscaleMax = true
	case "--no-gridfit":
		l.NoGridFit = true
	case "--logarithmic":
		l.Logarithmic = true
	case "--slope-mode":
		l.SlopeMode = true
	case "--no-legend":
		l.NoLegend = true
	case "--force-rules-legend":
		l.ForceRules = true
	case "--only-graph":
		l.OnlyGraph = true
	case "--full-size-mode":
		l.FullSize = true
	case "--disable-rrdtool-tag":
		l.NoTag = true
	case "--no-minor":
		l.NoMinor = true
	case "--interlaced":
		l.Interlaced = true
	case "--pango-markup":
		l.PangoMarkup = true
	case "--use-nan-for-all-missing-data":
		l.NaNForMissing = true
	case "--lazy":
		l.Lazy = true
	case "--dynamic-labels":
		l.DynamicLabels = true
	case "--alt-y-grid":
		l.AltYGrid = true
	}
}

func (s *Spec) setOption(long, val string) error {
	atoi := func() (int, error) {
		n, err := strconv.Atoi(val)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a positive integer", val)
		}
		return n, nil
	}
	atof := func() (*float64, error) {
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", val)
		}
		return &f, nil
	}
	l := &s.Look
	var err error
	switch long {
	case "--start":
		err = CheckTime(val)
		s.Start = val
	case "--end":
		err = CheckTime(val)
		s.End = val
	case "--title":
		s.Title = val
	case "--vertical-label":
		s.VLabel = val
	case "--width":
		s.Width, err = atoi()
		if err == nil && s.Width < 10 {
			err = fmt.Errorf("width %d below 10 pixels", s.Width)
		}
	case "--height":
		s.Height, err = atoi()
		if err == nil && s.Height < 10 {
			err = fmt.Errorf("height %d below 10 pixels", s.Height)
		}
	case "--lower-limit":
		s.Lower, err = atof()
	case "--upper-limit":
		s.Upper, err = atof()
	case "--step":
		var n int
		n, err = atoi()
		s.Step = int64(n)
	case "--imgformat":
		switch strings.ToUpper(val) {
		case "PNG", "SVG", "PDF":
			l.Format = strings.ToUpper(val)
		default:
			err = fmt.Errorf("image format %q is not supported (want PNG, SVG or PDF)", val)
		}
	case "--color":
		tag, col, ok := strings.Cut(val, "#")
		if !ok || !colorTags[tag] || !validColor("#"+col) {
			return fmt.Errorf("%q: want TAG#rrggbb[aa] with TAG one of BACK CANVAS SHADEA SHADEB GRID MGRID FONT AXIS FRAME ARROW", val)
		}
		if l.Colors == nil {
			l.Colors = map[string]string{}
		}
		l.Colors[tag] = "#" + col
	case "--font":
		return l.setFont(val)
	case "--units-exponent":
		var n int
		n, err = strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("%q is not an integer", val)
		}
		l.UnitsExponent = &n
	case "--units-length":
		l.UnitsLength, err = atoi()
	case "--x-grid":
		if val != "none" {
			_, err = parseXGrid(val)
		}
		if l.XGrid != "none" { // rrdtool: once none, a later grid does not bring it back
			l.XGrid = val
		}
	case "--y-grid":
		if val != "none" {
			_, _, err = parseYGrid(val)
		}
		l.YGrid = val
	case "--watermark":
		l.Watermark = val
	case "--imginfo":
		l.ImgInfo = val
	case "--week-fmt":
		l.WeekFmt = val
	case "--left-axis-format":
		l.AxisFormat = val
	case "--left-axis-formatter":
		l.LeftAxisFormatter = val
	case "--right-axis":
		l.RightAxis = val
	case "--right-axis-label":
		l.RightAxisLabel = val
	case "--right-axis-format":
		l.RightAxisFormat = val
	case "--right-axis-formatter":
		l.RightAxisFormatter = val
	case "--tabwidth":
		var f *float64
		f, err = atof()
		if err == nil {
			if !(*f > 0) {
				return fmt.Errorf("tab width %q must be positive", val)
			}
			l.TabWidth = *f
		}
	case "--base":
		n, e := strconv.Atoi(val)
		if e != nil || n != 1000 && n != 1024 {
			return fmt.Errorf("%q: want 1000 or 1024", val)
		}
		l.Base = n
	case "--zoom":
		f, e := strconv.ParseFloat(val, 64)
		if e != nil || f != 1 {
			return fmt.Errorf("%q: only zoom 1 is supported", val)
		}
	case "--legend-position":
		l.LegendPosition = val
	case "--legend-direction":
		l.LegendDirection = val
	case "--border":
		n, e := strconv.Atoi(val)
		if e != nil || n < 0 {
			return fmt.Errorf("%q is not a border width", val)
		}
		l.Border = &n
	case "--units":
		if val != "si" {
			return fmt.Errorf("%q: want si", val)
		}
		l.UnitsSI = true
	case "--grid-dash":
		a, b, ok := strings.Cut(val, ":")
		on, e1 := strconv.ParseFloat(a, 64)
		off, e2 := strconv.ParseFloat(b, 64)
		if !ok || e1 != nil || e2 != nil || on < 0 || off < 0 {
			return fmt.Errorf("%q: want on:off", val)
		}
		l.GridDash = []float64{on, off}
	}
	if err == nil {
		err = l.validate()
	}
	return err
}

// setFont reads --font TAG:size[:font]. rrdtool draws with DejaVu Sans
// Mono; another family would change every text width, so it is refused.
func (l *Look) setFont(val string) error {
	f := strings.SplitN(val, ":", 3)
	if len(f) < 2 || !fontTags[f[0]] {
		return fmt.Errorf("%q: want TAG:size[:font] with TAG one of DEFAULT TITLE AXIS UNIT LEGEND WATERMARK", val)
	}
	size, err := strconv.ParseFloat(f[1], 64)
	if err != nil || size < 0 || size > 100 {
		return fmt.Errorf("%q: bad font size %q", val, f[1])
	}
	if len(f) == 3 && f[2] != "" && f[2] != "DejaVu Sans Mono" {
		return fmt.Errorf("%q: font %q is not supported (only DejaVu Sans Mono)", val, f[2])
	}
	if size == 0 {
		return nil
	}
	if l.FontSizes == nil {
		l.FontSizes = map[string]float64{}
	}
	if f[0] == "DEFAULT" {
		for t := range fontTags {
			l.FontSizes[t] = size
		}
		return nil
	}
	l.FontSizes[f[0]] = size
	return nil
}
