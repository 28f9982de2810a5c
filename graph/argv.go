package graph

import (
	"errors"
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

// valueOptions are rrdtool graph options that take a value; the ones we
// don't use are reported as ignored.
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
	"--legend-position": true, "--legend-direction": true, "--border": true,
	"--units": true, "--grid-dash": true, "--left-axis-format": true,
	"--week-fmt": true, "--first-weekday": true,
}

var flagOptions = map[string]string{
	"-r": "--rigid", "-A": "--alt-autoscale", "-J": "--alt-autoscale-min", "-M": "--alt-autoscale-max",
	"-N": "--no-gridfit", "-Y": "--alt-y-grid", "-o": "--logarithmic", "-E": "--slope-mode",
	"-g": "--no-legend", "-F": "--force-rules-legend", "-z": "--lazy", "-j": "--only-graph",
	"-D": "--full-size-mode", "-P": "--pango-markup", "-i": "--interlaced",
}

var longFlagOptions = map[string]bool{
	"--dynamic-labels": true, "--disable-rrdtool-tag": true, "--allow-shrink": true,
	"--no-minor": true, "--use-nan-for-all-missing-data": true,
}

// ParseArgs parses an `rrdtool graph` argument list (the leading "rrdtool",
// "graph"/"graphv" and the output file name are skipped). Options that don't
// change the data shown are returned as warnings, never dropped silently.
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
				warnings = append(warnings, fmt.Sprintf("%s ignored (presentation only)", long))
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
			} else if !usedOptions[long] {
				warnings = append(warnings, fmt.Sprintf("%s %s ignored (presentation only)", long, val))
			}
			continue
		}
		kw, _, hasColon := strings.Cut(a, ":")
		if !hasColon || !isElement(kw) {
			if !sawFile {
				sawFile = true // the output file name
				continue
			}
			return nil, nil, fmt.Errorf("%s: not a graph element (want DEF:, CDEF:, VDEF:, LINE…:, AREA:, STACK:, HRULE:, VRULE:, GPRINT:, COMMENT:)", where)
		}
		w, err := s.addElement(a)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	return s, warnings, nil
}

var usedOptions = map[string]bool{
	"--start": true, "--end": true, "--title": true, "--vertical-label": true, "--width": true,
	"--height": true, "--lower-limit": true, "--upper-limit": true, "--step": true,
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
	case "--height":
		s.Height, err = atoi()
	case "--lower-limit":
		s.Lower, err = atof()
	case "--upper-limit":
		s.Upper, err = atof()
	case "--step":
		var n int
		n, err = atoi()
		s.Step = int64(n)
	}
	return err
}

func isElement(kw string) bool {
	switch kw {
	case "DEF", "CDEF", "VDEF", "AREA", "STACK", "HRULE", "VRULE", "GPRINT", "COMMENT", "PRINT", "TICK", "SHIFT", "TEXTALIGN":
		return true
	}
	return strings.HasPrefix(kw, "LINE")
}

// stripAlign removes rrdtool's trailing legend alignment markers (\l \r \c \j \g \s \n).
func stripAlign(s string) string {
	for len(s) >= 2 && s[len(s)-2] == '\\' && strings.IndexByte("lrcjgsn", s[len(s)-1]) >= 0 {
		s = s[:len(s)-2]
	}
	return s
}

// splitColor splits "vname#rrggbb" (a second #color for gradients is not
// supported and reported).
func splitColor(s string) (string, string, error) {
	v, c, ok := strings.Cut(s, "#")
	if !ok {
		return v, "", nil
	}
	if strings.Contains(c, "#") {
		return "", "", fmt.Errorf("gradient colors %q are not supported", "#"+c)
	}
	c = "#" + c
	if !validColor(c) {
		return "", "", fmt.Errorf("invalid color %q (want #rrggbb or #rrggbbaa)", c)
	}
	return v, c, nil
}

var gprintCF = map[string]string{"AVERAGE": "AVERAGE", "MIN": "MINIMUM", "MAX": "MAXIMUM", "LAST": "LAST"}

func (s *Spec) addElement(a string) (warning string, err error) {
	f := splitFields(a)
	kw := f[0]
	switch kw {
	case KindDEF:
		// DEF:vname=rrd:ds:CF[:step=][:start=][:end=][:reduce=]
		if len(f) < 4 {
			return "", errors.New("want DEF:vname=series:ds:CF")
		}
		name, series, ok := strings.Cut(f[1], "=")
		if !ok {
			return "", errors.New("want DEF:vname=series:…")
		}
		d := Def{Kind: KindDEF, Name: name, Series: strings.TrimSuffix(series, ".rrd"), DS: f[2], CF: f[3]}
		if !cfNames[d.CF] {
			return "", fmt.Errorf("unknown consolidation function %q (want AVERAGE, MIN, MAX or LAST)", d.CF)
		}
		for _, opt := range f[4:] {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "step":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n <= 0 {
					return "", fmt.Errorf("step=%q is not a positive integer", v)
				}
				d.Step = n
			case "reduce":
				if !cfNames[v] {
					return "", fmt.Errorf("reduce=%q: want AVERAGE, MIN, MAX or LAST", v)
				}
				d.Reduce = v
			case "start", "end":
				return "", fmt.Errorf("per-DEF %s= is not supported", k)
			default:
				return "", fmt.Errorf("unknown DEF option %q", opt)
			}
		}
		s.Defs = append(s.Defs, d)
	case KindCDEF, KindVDEF:
		rest := strings.Join(f[1:], ":")
		name, expr, ok := strings.Cut(rest, "=")
		if !ok {
			return "", fmt.Errorf("want %s:vname=RPN", kw)
		}
		s.Defs = append(s.Defs, Def{Kind: kw, Name: name, Expr: expr})
	case "STACK", "AREA":
		if len(f) < 2 {
			return "", fmt.Errorf("want %s:vname[#color][:legend]", kw)
		}
		v, c, err := splitColor(f[1])
		if err != nil {
			return "", err
		}
		it := Item{Type: ItemArea, Vname: v, Color: c}
		if kw == "STACK" {
			it.Stack = true
			for k := len(s.Items) - 1; k >= 0; k-- {
				if t := s.Items[k].Type; t == ItemLine || t == ItemArea {
					it.Type, it.Width = t, s.Items[k].Width
					break
				}
			}
		}
		if err := it.drawOptions(f[2:]); err != nil {
			return "", err
		}
		s.Items = append(s.Items, it)
	case "HRULE", "VRULE":
		if len(f) < 2 {
			return "", fmt.Errorf("want %s:value#color[:legend]", kw)
		}
		v, c, err := splitColor(f[1])
		if err != nil {
			return "", err
		}
		it := Item{Type: kw, Color: c}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			it.Value = n
		} else {
			it.Vname = v
		}
		if err := it.drawOptions(f[2:]); err != nil {
			return "", err
		}
		s.Items = append(s.Items, it)
	case "GPRINT":
		switch len(f) {
		case 3:
			s.Items = append(s.Items, Item{Type: ItemGPrint, Vname: f[1], Format: stripAlign(f[2])})
		case 4:
			// Deprecated GPRINT:vname:CF:format: an implicit VDEF.
			fn, ok := gprintCF[f[2]]
			if !ok {
				return "", fmt.Errorf("unknown consolidation function %q", f[2])
			}
			name := f[1] + "_" + strings.ToLower(f[2])
			exists := false
			for _, d := range s.Defs {
				exists = exists || d.Name == name
			}
			if !exists {
				s.Defs = append(s.Defs, Def{Kind: KindVDEF, Name: name, Expr: f[1] + "," + fn})
			}
			s.Items = append(s.Items, Item{Type: ItemGPrint, Vname: name, Format: stripAlign(f[3])})
		default:
			return "", errors.New("want GPRINT:vname:format")
		}
	case "COMMENT":
		s.Items = append(s.Items, Item{Type: ItemComment, Legend: stripAlign(strings.Join(f[1:], ":"))})
	case "PRINT", "TICK", "SHIFT", "TEXTALIGN":
		return fmt.Sprintf("%s ignored (not supported)", kw), nil
	default: // LINE[width]
		it := Item{Type: ItemLine, Width: 1}
		if w := strings.TrimPrefix(kw, "LINE"); w != "" {
			n, err := strconv.ParseFloat(w, 64)
			if err != nil || n < 0 {
				return "", fmt.Errorf("bad line width %q", w)
			}
			it.Width = n
		}
		if len(f) < 2 {
			return "", fmt.Errorf("want %s:vname[#color][:legend]", kw)
		}
		v, c, err := splitColor(f[1])
		if err != nil {
			return "", err
		}
		it.Vname, it.Color = v, c
		if err := it.drawOptions(f[2:]); err != nil {
			return "", err
		}
		s.Items = append(s.Items, it)
	}
	return "", nil
}

// drawOptions handles [legend][:STACK][:skipscale][:dashes…] of a drawing element.
func (it *Item) drawOptions(f []string) error {
	for k, o := range f {
		switch {
		case o == "STACK":
			it.Stack = true
		case o == "skipscale":
		case o == "dashes" || strings.HasPrefix(o, "dashes="):
			it.Dashes = true
		case strings.HasPrefix(o, "dash-offset="):
		case k == 0:
			it.Legend = stripAlign(o)
		default:
			return fmt.Errorf("unknown option %q", o)
		}
	}
	return nil
}

// Args formats the spec as `rrdtool graph` arguments (without the output
// file): ParseArgs(Args()) gives the spec back.
func (s *Spec) Args() []string {
	var a []string
	add := func(k, v string) {
		if v != "" {
			a = append(a, k, v)
		}
	}
	add("--start", s.Start)
	add("--end", s.End)
	add("--title", s.Title)
	add("--vertical-label", s.VLabel)
	if s.Width > 0 {
		add("--width", strconv.Itoa(s.Width))
	}
	if s.Height > 0 {
		add("--height", strconv.Itoa(s.Height))
	}
	if s.Lower != nil {
		add("--lower-limit", strconv.FormatFloat(*s.Lower, 'g', -1, 64))
	}
	if s.Upper != nil {
		add("--upper-limit", strconv.FormatFloat(*s.Upper, 'g', -1, 64))
	}
	if s.Step > 0 {
		add("--step", strconv.FormatInt(s.Step, 10))
	}
	for _, d := range s.Defs {
		switch d.Kind {
		case KindDEF:
			e := fmt.Sprintf("DEF:%s=%s:%s:%s", d.Name, escapeField(d.Series), escapeField(d.DS), d.CF)
			if d.Step > 0 {
				e += fmt.Sprintf(":step=%d", d.Step)
			}
			if d.Reduce != "" {
				e += ":reduce=" + d.Reduce
			}
			a = append(a, e)
		default:
			a = append(a, d.Kind+":"+d.Name+"="+d.Expr)
		}
	}
	for _, it := range s.Items {
		switch it.Type {
		case ItemGPrint:
			a = append(a, "GPRINT:"+it.Vname+":"+escapeField(it.Format))
		case ItemComment:
			a = append(a, "COMMENT:"+escapeField(it.Legend))
		default:
			kw := it.Type
			if it.Type == ItemLine {
				kw += strconv.FormatFloat(it.Width, 'g', -1, 64)
			}
			pos := it.Vname
			if pos == "" {
				pos = strconv.FormatFloat(it.Value, 'g', -1, 64)
			}
			e := kw + ":" + pos + it.Color + ":" + escapeField(it.Legend)
			if it.Stack {
				e += ":STACK"
			}
			if it.Dashes {
				e += ":dashes"
			}
			a = append(a, e)
		}
	}
	return a
}
