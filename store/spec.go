package store

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DSType is a data source type, as in rrdcreate(1).
type DSType uint8

// Data source types. The zero value is invalid so that a forgotten field is caught.
const (
	Gauge DSType = iota + 1
	Counter
	Derive
	Absolute
	DCounter // floating-point COUNTER (rrdtool 1.5+)
	DDerive  // floating-point DERIVE (rrdtool 1.5+)
	Compute  // an RPN expression over the other DS of the same step (compute.go)
)

var dsTypeNames = [...]string{Gauge: "GAUGE", Counter: "COUNTER", Derive: "DERIVE", Absolute: "ABSOLUTE", DCounter: "DCOUNTER", DDerive: "DDERIVE", Compute: "COMPUTE"}

func (t DSType) String() string {
	if t >= Gauge && t <= Compute {
		return dsTypeNames[t]
	}
	return fmt.Sprintf("DSType(%d)", uint8(t))
}

// ParseDSType parses GAUGE, COUNTER, DERIVE, ABSOLUTE, DCOUNTER, DDERIVE or
// COMPUTE.
func ParseDSType(s string) (DSType, error) {
	for t := Gauge; t <= Compute; t++ {
		if dsTypeNames[t] == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown data source type %q (want GAUGE, COUNTER, DERIVE, ABSOLUTE, DCOUNTER, DDERIVE or COMPUTE)", s)
}

// CF is a consolidation function.
type CF uint8

// Consolidation functions.
const (
	Average CF = iota + 1
	Min
	Max
	Last
	// Holt-Winters archives (rrdtool's aberrant behaviour detection,
	// holtwinters.go): one PDP per row each.
	HWPredict
	MHWPredict
	Seasonal
	DevSeasonal
	DevPredict
	Failures
)

var cfNames = [...]string{Average: "AVERAGE", Min: "MIN", Max: "MAX", Last: "LAST",
	HWPredict: "HWPREDICT", MHWPredict: "MHWPREDICT", Seasonal: "SEASONAL", DevSeasonal: "DEVSEASONAL", DevPredict: "DEVPREDICT", Failures: "FAILURES"}

func (c CF) String() string {
	if c >= Average && c <= Failures {
		return cfNames[c]
	}
	return fmt.Sprintf("CF(%d)", uint8(c))
}

// ParseCF parses AVERAGE, MIN, MAX, LAST or one of the Holt-Winters
// archive types (HWPREDICT, MHWPREDICT, SEASONAL, DEVSEASONAL, DEVPREDICT,
// FAILURES).
func ParseCF(s string) (CF, error) {
	for c := Average; c <= Failures; c++ {
		if cfNames[c] == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown consolidation function %q (want AVERAGE, MIN, MAX, LAST, HWPREDICT, MHWPREDICT, SEASONAL, DEVSEASONAL, DEVPREDICT or FAILURES)", s)
}

// DS defines one data source. Min and Max are NaN when unbounded ("U").
// A COMPUTE data source has Expr (its RPN expression as rrdtool prints
// it) instead of a heartbeat and bounds.
type DS struct {
	Name      string
	Type      DSType
	Heartbeat int64
	Min, Max  float64
	Expr      string
}

// RRA defines one round-robin archive: Steps PDPs per row, Rows rows.
type RRA struct {
	CF    CF
	XFF   float64
	Steps int64
	Rows  int64
	HW    HWParams // Holt-Winters archives only (CF.IsHW)
}

// Spec is the definition of a series (one RRD).
type Spec struct {
	Step  int64 // seconds per primary data point
	Start int64 // the time of the (virtual) first update; later updates must be after it
	DS    []DS
	RRA   []RRA
}

// Limits that keep files and arithmetic sane.
const (
	MaxDSName   = 19 // rrdtool's limit
	maxDS       = 1024
	maxRRA      = 1024
	maxRowCells = 1 << 31 // rows × data sources over all archives
)

// durationSuffixes follows rrd_scaled_duration: month = 31 days, year = 366 days.
var durationSuffixes = map[byte]int64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800, 'M': 2678400, 'y': 31622400}

// ParseDuration parses a positive integer with an optional rrdtool scale suffix (s m h d w M y).
func ParseDuration(s string) (n int64, scaled bool, err error) {
	if s == "" {
		return 0, false, errors.New("empty duration")
	}
	mult := int64(1)
	if f, ok := durationSuffixes[s[len(s)-1]]; ok {
		mult, scaled, s = f, true, s[:len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, false, fmt.Errorf("%q is not a positive integer", s)
	}
	if v > math.MaxInt64/mult {
		return 0, false, fmt.Errorf("%q is too large", s)
	}
	return v * mult, scaled, nil
}

// ParseStep parses --step (seconds, or a scaled duration).
func ParseStep(s string) (int64, error) {
	v, _, err := ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("step: %w", err)
	}
	return v, nil
}

// ValidDSName reports whether name is 1-19 characters of [a-zA-Z0-9_].
func ValidDSName(name string) bool {
	if len(name) == 0 || len(name) > MaxDSName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func parseLimit(s string) (float64, error) {
	if s == "U" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a number or U", s)
	}
	return v, nil
}

// ParseDS parses "DS:name:TYPE:heartbeat:min:max" or
// "DS:name:COMPUTE:rpn-expression" (whose names Spec.Validate checks).
func ParseDS(arg string) (DS, error) {
	if ds, ok, err := parseComputeDS(arg); ok {
		return ds, err
	}
	f := strings.Split(arg, ":")
	if len(f) != 6 || f[0] != "DS" {
		return DS{}, fmt.Errorf("invalid DS format %q: want DS:name:TYPE:heartbeat:min:max", arg)
	}
	var ds DS
	ds.Name = f[1]
	if !ValidDSName(ds.Name) {
		return DS{}, fmt.Errorf("%s: invalid DS name %q: 1 to %d characters of [a-zA-Z0-9_]", arg, ds.Name, MaxDSName)
	}
	var err error
	if ds.Type, err = ParseDSType(f[2]); err != nil {
		return DS{}, fmt.Errorf("%s: %w", arg, err)
	}
	if ds.Heartbeat, _, err = ParseDuration(f[3]); err != nil {
		return DS{}, fmt.Errorf("%s: heartbeat: %w", arg, err)
	}
	if ds.Min, err = parseLimit(f[4]); err != nil {
		return DS{}, fmt.Errorf("%s: min: %w", arg, err)
	}
	if ds.Max, err = parseLimit(f[5]); err != nil {
		return DS{}, fmt.Errorf("%s: max: %w", arg, err)
	}
	if !math.IsNaN(ds.Min) && !math.IsNaN(ds.Max) && ds.Min >= ds.Max {
		return DS{}, fmt.Errorf("%s: min must be less than max", arg)
	}
	return ds, nil
}

// String formats the DS as rrdcreate(1) takes it.
func (ds DS) String() string {
	if ds.Type == Compute {
		return "DS:" + ds.Name + ":COMPUTE:" + ds.Expr
	}
	return fmt.Sprintf("DS:%s:%s:%d:%s:%s", ds.Name, ds.Type, ds.Heartbeat, fmtLimit(ds.Min), fmtLimit(ds.Max))
}

func fmtLimit(v float64) string {
	if math.IsNaN(v) {
		return "U"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// ParseRRA parses "RRA:CF:xff:steps:rows" for a series with the given step.
// steps and rows may be durations (5m, 1d) as in rrdcreate(1).
func ParseRRA(arg string, step int64) (RRA, error) {
	f := strings.Split(arg, ":")
	if len(f) >= 2 && f[0] == "RRA" {
		if cf, err := ParseCF(f[1]); err == nil && cf.IsHW() {
			return parseHWRRA(arg, f, cf, step)
		}
	}
	if len(f) != 5 || f[0] != "RRA" {
		return RRA{}, fmt.Errorf("invalid RRA format %q: want RRA:CF:xff:steps:rows", arg)
	}
	var r RRA
	var err error
	if r.CF, err = ParseCF(f[1]); err != nil {
		return RRA{}, fmt.Errorf("%s: %w", arg, err)
	}
	if r.XFF, err = strconv.ParseFloat(f[2], 64); err != nil || !(r.XFF >= 0 && r.XFF < 1) {
		return RRA{}, fmt.Errorf("%s: xff %q must be a number in [0, 1)", arg, f[2])
	}
	steps, scaled, err := ParseDuration(f[3])
	if err != nil {
		return RRA{}, fmt.Errorf("%s: steps: %w", arg, err)
	}
	if scaled {
		if step <= 0 || steps%step != 0 {
			return RRA{}, fmt.Errorf("%s: steps %s is not a multiple of the step %ds", arg, f[3], step)
		}
		steps /= step
	}
	r.Steps = steps
	rows, scaled, err := ParseDuration(f[4])
	if err != nil {
		return RRA{}, fmt.Errorf("%s: rows: %w", arg, err)
	}
	if scaled {
		span := steps * step
		if rows%span != 0 {
			return RRA{}, fmt.Errorf("%s: rows %s is not a multiple of the archive step %ds", arg, f[4], span)
		}
		rows /= span
	}
	r.Rows = rows
	return r, nil
}

// String formats the RRA as rrdcreate(1) takes it.
func (r RRA) String() string {
	if r.CF.IsHW() {
		return r.hwString()
	}
	return fmt.Sprintf("RRA:%s:%s:%d:%d", r.CF, strconv.FormatFloat(r.XFF, 'g', -1, 64), r.Steps, r.Rows)
}

// Validate checks the whole spec.
func (s *Spec) Validate() error {
	if s.Step <= 0 {
		return fmt.Errorf("step must be positive, got %d", s.Step)
	}
	if s.Start < 0 {
		return fmt.Errorf("start time %d is before 1970", s.Start)
	}
	if len(s.DS) == 0 {
		return errors.New("you must define at least one data source")
	}
	if len(s.RRA) == 0 {
		return errors.New("you must define at least one round robin archive")
	}
	if len(s.DS) > maxDS || len(s.RRA) > maxRRA {
		return fmt.Errorf("too many data sources (%d) or archives (%d)", len(s.DS), len(s.RRA))
	}
	seen := make(map[string]bool, len(s.DS))
	for _, ds := range s.DS {
		if !ValidDSName(ds.Name) {
			return fmt.Errorf("invalid DS name %q", ds.Name)
		}
		if seen[ds.Name] {
			return fmt.Errorf("duplicate DS name %q", ds.Name)
		}
		seen[ds.Name] = true
		if ds.Type < Gauge || ds.Type > Compute {
			return fmt.Errorf("DS %s: invalid type", ds.Name)
		}
		if ds.Type == Compute {
			continue // checked by validateComputes below
		}
		if ds.Heartbeat <= 0 {
			return fmt.Errorf("DS %s: heartbeat must be positive", ds.Name)
		}
	}
	var cells int64
	if err := s.validateHW(); err != nil {
		return err
	}
	for i, r := range s.RRA {
		if r.CF < Average || r.CF > Failures {
			return fmt.Errorf("RRA %d: invalid consolidation function", i)
		}
		if !r.CF.IsHW() && !(r.XFF >= 0 && r.XFF < 1) {
			return fmt.Errorf("RRA %d: xff must be in [0, 1)", i)
		}
		if r.Steps <= 0 || r.Rows <= 0 {
			return fmt.Errorf("RRA %d: steps and rows must be positive", i)
		}
		if r.Steps > math.MaxInt64/s.Step {
			return fmt.Errorf("RRA %d: steps × step overflows", i)
		}
		cells += r.Rows * int64(len(s.DS))
		if r.Rows > maxRowCells || cells > maxRowCells {
			return fmt.Errorf("archives too large: more than %d values", int64(maxRowCells))
		}
	}
	return s.validateComputes()
}

// ParseSpecArgs builds a spec from rrdcreate-style DS:… and RRA:… arguments.
func ParseSpecArgs(step, start int64, args []string) (Spec, error) {
	s := Spec{Step: step, Start: start}
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "DS:"):
			ds, err := ParseDS(a)
			if err != nil {
				return Spec{}, err
			}
			s.DS = append(s.DS, ds)
		case strings.HasPrefix(a, "RRA:"):
			r, err := ParseRRA(a, step)
			if err != nil {
				return Spec{}, err
			}
			s.RRA = append(s.RRA, r)
			s.RRA = addContingentRRAs(s.RRA)
		default:
			return Spec{}, fmt.Errorf("can't parse argument %q: want DS:… or RRA:…", a)
		}
	}
	return s, s.Validate()
}

// DefaultTemplate is the spec of series that sources create on first
// sight (Kinesis names, pushed points): GAUGE "value", step 60 s, heartbeat
// 600 s, archives 1m×2d, 5m×2w, 1h×13 months, 1d×10 years (months of 31
// days and years of 366, as rrdtool's M and y), each with AVERAGE, MIN, MAX
// and LAST, xff 0.5. Start is left for the caller.
func DefaultTemplate() Spec {
	s := Spec{Step: 60, DS: []DS{{Name: "value", Type: Gauge, Heartbeat: 600, Min: math.NaN(), Max: math.NaN()}}}
	for _, a := range [][2]int64{{1, 2880}, {5, 4032}, {60, 9672}, {1440, 3660}} {
		for _, cf := range []CF{Average, Min, Max, Last} {
			s.RRA = append(s.RRA, RRA{CF: cf, XFF: 0.5, Steps: a[0], Rows: a[1]})
		}
	}
	return s
}
