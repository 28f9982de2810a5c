package store

import "math"

// Info describes a series and its live state, like rrdtool info.
type Info struct {
	Name       string            `json:"name"`
	Step       int64             `json:"step"`
	LastUpdate int64             `json:"last_update"`
	RRDVersion int               `json:"rrd_version,omitempty"` // the version rrdtool 1.7.2 writes for the definition
	DS         []DSInfo          `json:"ds"`
	RRA        []RRAInfo         `json:"rra"`
	Meta       map[string]string `json:"meta,omitempty"`
}

// DSInfo is one data source with its PDP state.
type DSInfo struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Heartbeat  int64    `json:"minimal_heartbeat"`
	CDEF       string   `json:"cdef,omitempty"` // a COMPUTE DS's expression
	Min        float64  `json:"-"`
	Max        float64  `json:"-"`
	LastDS     string   `json:"last_ds"`
	Value      float64  `json:"-"`
	UnknownSec int64    `json:"unknown_sec"`
	JMin       *float64 `json:"min"`
	JMax       *float64 `json:"max"`
	JValue     *float64 `json:"value"`
}

// RRAInfo is one archive with its consolidation state.
type RRAInfo struct {
	CF     string    `json:"cf"`
	Rows   int64     `json:"rows"`
	CurRow int64     `json:"cur_row"`
	Steps  int64     `json:"pdp_per_row"`
	XFF    float64   `json:"xff"`
	CDP    []CDPInfo `json:"cdp_prep"`
	HW     *HWParams `json:"hw,omitempty"` // Holt-Winters archives
}

// CDPInfo is the open consolidated row of one data source.
type CDPInfo struct {
	Value      float64  `json:"-"`
	JValue     *float64 `json:"value"`
	UnknownPDP int64    `json:"unknown_datapoints"`
	HW         *HWWords `json:"hw,omitempty"` // Holt-Winters archives: their cdp_prep words
}

// finite returns &v, or nil (JSON null) for NaN and infinities.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Info returns a series' definition and state.
func (db *DB) Info(name string) (*Info, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.archive(name)
	if err != nil {
		return nil, err
	}
	in := &Info{Name: name, Step: a.spec.Step, LastUpdate: a.st.lastUp, RRDVersion: a.spec.RRDVersion(), Meta: a.meta}
	for i, d := range a.spec.DS {
		s := a.st.ds[i]
		in.DS = append(in.DS, DSInfo{Name: d.Name, Type: d.Type.String(), Heartbeat: d.Heartbeat, Min: d.Min, Max: d.Max,
			LastDS: s.lastText(d.Type), Value: s.val, UnknownSec: s.unknSec, JMin: finite(d.Min), JMax: finite(d.Max), JValue: finite(s.val), CDEF: d.CDEF()})
	}
	nds := len(a.spec.DS)
	for i, r := range a.spec.RRA {
		ri := RRAInfo{CF: r.CF.String(), Rows: r.Rows, CurRow: a.st.curRow[i], Steps: r.Steps, XFF: r.XFF}
		if r.CF.IsHW() {
			ri.HW = &r.HW
		}
		for d := 0; d < nds; d++ {
			c := a.st.cdp[i*nds+d]
			ci := CDPInfo{Value: c.val, JValue: finite(c.val), UnknownPDP: c.unknPDP}
			if r.CF.IsHW() {
				w := a.st.hw.words[i*nds+d]
				ci.HW = &w
			}
			ri.CDP = append(ri.CDP, ci)
		}
		in.RRA = append(in.RRA, ri)
	}
	return in, nil
}
