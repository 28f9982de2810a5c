package store

import (
	"fmt"
	"math"
	"slices"
)

// This file is rrdtool 1.7.2's rrd_prefill_data (rrd_create.c), which
// `create --source` runs: every row of every archive of a new series is
// filled from the archives of the sources that cover its time span, the
// PDP state of a data source is copied from a source whose current step
// matches, and every archive's open row (cdp_prep) is copied from a source
// archive of the same shape or rebuilt from a one-PDP AVERAGE archive. The
// arithmetic, the candidate order and its quirks are rrdtool's, so the
// new series equals the file rrdtool would create, row for row.

// DSMapping is the "=old[index]" part of create's `DS:new=old[index]:…`:
// the data source of the sources to fill new from (Old, "" for the same
// name) and, with Index ≥ 1, only the Index-th source (1-based).
type DSMapping struct {
	Name  string // the new data source
	Old   string
	Index int // 0: any source
}

// pfRRD is one series as rrd_prefill_data sees an rrd_t.
type pfRRD struct {
	step, lastUp int64
	ds           []DS
	dsState      []DumpDS
	rra          []RRA
	curRow       []int64
	rows         [][][]float64 // [rra][row][ds]
	cdp          [][]DumpCDP   // [rra][ds]
}

func pfFromDump(d *DumpData) *pfRRD {
	r := &pfRRD{step: d.Spec.Step, lastUp: d.LastUpdate, ds: d.Spec.DS, dsState: d.DS, rra: d.Spec.RRA}
	for _, a := range d.RRA {
		r.curRow = append(r.curRow, a.CurRow)
		r.rows = append(r.rows, a.Rows)
		r.cdp = append(r.cdp, a.CDP)
	}
	return r
}

// candidate is rrdtool's candidate_t: one archive of one source (or of
// the target) and the data source index in it.
type candidate struct {
	rrd *pfRRD
	rra int
	ds  int
}

func (c candidate) def() RRA { return c.rrd.rra[c.rra] }

// Prefill returns the dump of the series rrdtool 1.7.2 creates with
// `create --source` from sources (in order) for definition spec:
// lastUp is the creation's last update (--start, or the latest of the
// sources' when none is given). maps are the DS mappings of create's
// arguments.
func Prefill(spec Spec, lastUp int64, sources []*DumpData, maps []DSMapping) (*DumpData, error) {
	t := &pfRRD{step: spec.Step, lastUp: lastUp, ds: spec.DS, rra: slices.Clone(spec.RRA)}
	nds := len(spec.DS)
	for range spec.DS {
		t.dsState = append(t.dsState, DumpDS{LastDS: "U", Value: math.NaN(), UnknownSec: lastUp % spec.Step})
	}
	hw := newHWState(&spec) // init_cdp's words of Holt-Winters archives
	for a, r := range t.rra {
		t.curRow = append(t.curRow, r.Rows-1)
		t.rows = append(t.rows, nanRows(r.Rows, nds))
		// rrd_init_data: calloc'ed cdp_prep, then init_cdp (the unknown
		// count is recomputed by prefill_cdp_prep below)
		cdp := make([]DumpCDP, nds)
		for d := range cdp {
			cdp[d].Value = math.NaN()
			if r.CF.IsHW() {
				cdp[d].HW = hw.words[a*nds+d]
			}
		}
		t.cdp = append(t.cdp, cdp)
	}
	src := make([]*pfRRD, len(sources))
	for i, s := range sources {
		src[i] = pfFromDump(s)
	}
	cdpRRA, added, err := t.addCDPArchive()
	if err != nil {
		return nil, err
	}
	for a := range t.rra {
		for d := 0; d < nds; d++ {
			cands := t.matchingCandidates(a, d, src, maps, selectCreate, true)
			if len(cands) == 0 {
				continue
			}
			for row := int64(0); row < t.rra[a].Rows; row++ {
				t.prefillBin(a, d, row, cands)
			}
			t.prefillPDPPrep(d, cands)
		}
	}
	for a := range t.rra {
		for d := 0; d < nds; d++ {
			t.prefillCDPPrep(a, d, t.matchingCandidates(a, d, src, maps, cdpMatch, false), cdpRRA)
		}
	}
	if added {
		t.rra, t.rows, t.cdp, t.curRow = t.rra[:len(t.rra)-1], t.rows[:len(t.rows)-1], t.cdp[:len(t.cdp)-1], t.curRow[:len(t.curRow)-1]
	}
	out := &DumpData{Spec: spec, LastUpdate: lastUp, DS: t.dsState}
	out.Spec.Start = lastUp
	for a := range t.rra {
		out.RRA = append(out.RRA, DumpRRA{CurRow: t.curRow[a], CDP: t.cdp[a], Rows: t.rows[a]})
	}
	return out, nil
}

func nanRows(n int64, nds int) [][]float64 {
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, nds)
		for d := range rows[i] {
			rows[i][d] = math.NaN()
		}
	}
	return rows
}

// addCDPArchive is rra_for_cdp_prefilling: the one-PDP AVERAGE archive
// with the most rows, if it has at least twice the largest pdp_cnt rows;
// otherwise a temporary one of that many rows, appended (and removed by
// the caller at the end).
func (t *pfRRD) addCDPArchive() (int, bool, error) {
	var largest int64
	found := -1
	for i, r := range t.rra {
		largest = max(largest, r.Steps)
		if r.Steps == 1 && r.CF == Average && (found < 0 || t.rra[found].Rows < r.Rows) {
			found = i
		}
	}
	largest *= 2
	if found >= 0 && t.rra[found].Rows >= largest {
		return found, false, nil
	}
	if largest > maxRowCells/int64(max(len(t.ds), 1)) {
		return 0, false, fmt.Errorf("the one-PDP archive rrdtool rebuilds open rows from would have %d rows: too large", largest)
	}
	t.rra = append(t.rra, RRA{CF: Average, XFF: 0.5, Steps: 1, Rows: largest})
	t.curRow = append(t.curRow, 0)
	t.rows = append(t.rows, nanRows(largest, len(t.ds)))
	t.cdp = append(t.cdp, make([]DumpCDP, len(t.ds)))
	return len(t.rra) - 1, true, nil
}

// selectCreate is select_create_candidates: AVERAGE archives and those of
// the target's CF.
func selectCreate(tofill, maybe RRA) bool { return maybe.CF == Average || maybe.CF == tofill.CF }

// cdpMatch is cdp_match: the same CF and pdp_cnt.
func cdpMatch(tofill, maybe RRA) bool { return maybe.CF == tofill.CF && maybe.Steps == tofill.Steps }

// matchingCandidates is find_matching_candidates: for every source (or
// the one a mapping's index names) that has the data source (by the
// mapped name), its archives that sel accepts, sorted as
// find_candidate_rras sorts them (glibc's stable qsort by sort_candidates)
// and then, when order is set, by rrdtool's own quick_sort with
// order_candidates.
func (t *pfRRD) matchingCandidates(a, d int, sources []*pfRRD, maps []DSMapping, sel func(tofill, maybe RRA) bool, order bool) []candidate {
	name := t.ds[d].Name
	var m *DSMapping
	for i := range maps {
		if maps[i].Name == name {
			m = &maps[i]
			break
		}
	}
	lookFor := name
	if m != nil && m.Old != "" {
		lookFor = m.Old
	}
	var out []candidate
	for si, s := range sources {
		if m != nil && m.Index >= 0 && si+1 != m.Index {
			continue
		}
		sd := slices.IndexFunc(s.ds, func(x DS) bool { return x.Name == lookFor })
		if sd < 0 {
			continue
		}
		var cs []candidate
		for i, r := range s.rra {
			if sel(t.rra[a], r) {
				cs = append(cs, candidate{rrd: s, rra: i, ds: sd})
			}
		}
		slices.SortStableFunc(cs, sortCandidates)
		if order && len(cs) > 0 {
			quickSort(cs, func(x, y candidate) int64 { return t.orderCandidates(a, x, y) })
		}
		out = append(out, cs...)
	}
	return out
}

// sortCandidates is rrd_modify.c's sort_candidates: fewer PDPs per row
// first, then more rows.
func sortCandidates(x, y candidate) int {
	a, b := x.def(), y.def()
	if a.Steps == b.Steps {
		return int(b.Rows - a.Rows)
	}
	return int(a.Steps - b.Steps)
}

// orderCandidates is order_candidates, an inconsistent order (an exact
// match of CF and row length "precedes" anything), whose result therefore
// depends on quickSort's exact steps.
func (t *pfRRD) orderCandidates(ta int, x, y candidate) int64 {
	tr := t.rra[ta]
	a, b := x.def(), y.def()
	if a.CF == tr.CF && a.Steps*x.rrd.step == tr.Steps*t.step {
		return -1
	}
	if b.CF == tr.CF && b.Steps*y.rrd.step == tr.Steps*t.step {
		return 1
	}
	if a.CF != b.CF {
		if a.CF == Average {
			return -1
		}
		if b.CF == Average {
			return 1
		}
		return 0
	}
	if d := int64(int32(a.Steps*x.rrd.step - b.Steps*y.rrd.step)); d != 0 {
		return d
	}
	return -int64(int32(a.Rows - b.Rows))
}

// quickSort is rrdtool's quicksort.c, step for step.
func quickSort(a []candidate, cmp func(x, y candidate) int64) {
	var sort func(begin, end int)
	sort = func(begin, end int) {
		if begin >= end {
			return
		}
		l, r := begin+1, end
		p := begin
		for l < r {
			if cmp(a[l], a[p]) <= 0 {
				l++
			} else if cmp(a[r], a[p]) >= 0 {
				r--
			} else {
				a[l], a[r] = a[r], a[l]
			}
		}
		if cmp(a[l], a[p]) <= 0 {
			a[l], a[p] = a[p], a[l]
			l--
		} else {
			l--
			a[l], a[p] = a[p], a[l]
		}
		sort(begin, l)
		sort(r, end)
	}
	sort(0, len(a)-1)
}

func positiveMod(a, b int64) int64 {
	x := a % b
	if x < 0 {
		x += b
	}
	return x
}

// endTimeForRow is end_time_for_row: the end of the interval row holds.
func (r *pfRRD) endTimeForRow(a int, row int64) int64 {
	slot := r.rra[a].Steps * r.step
	past := positiveMod(r.curRow[a]-row, r.rra[a].Rows)
	return r.lastUp - r.lastUp%slot - past*slot
}

// rowForTime is row_for_time: the row holding the interval that ends at
// or after t, or -1 outside the archive.
func (r *pfRRD) rowForTime(a int, t int64) int64 {
	slot := r.rra[a].Steps * r.step
	if d := t % slot; d > 0 {
		t += slot - d
	}
	last := r.lastUp
	if t > last || t <= last-r.rra[a].Rows*slot {
		return -1
	}
	past := (last - t) / slot
	if past >= r.rra[a].Rows {
		return -1
	}
	return positiveMod(r.curRow[a]-past, r.rra[a].Rows)
}

// overlap is rrd_create.c's overlap (of inclusive intervals, less one).
func overlap(s1, e1, s2, e2 int64) int64 {
	if s1 >= e1 || s2 >= e2 || s1 > e2 || s2 > e1 {
		return 0
	}
	return min(e1, e2) - max(s1, s2)
}

func withinInterval(s1, e1, s2, e2 int64) bool {
	if e1-s1 > e2-s2 {
		return false
	}
	return overlap(s1, e1, s2, e2) == e1-s1
}

type coverage struct {
	covered    bool
	start, end int64 // inclusive
}

// addCoverage is add_coverage: marks [start, end] covered within cov and
// returns how many seconds were newly covered.
func addCoverage(cov []coverage, start, end int64) ([]coverage, int64) {
	if start < cov[0].start {
		start = cov[0].start
	}
	if end > cov[len(cov)-1].end {
		end = cov[len(cov)-1].end
	}
	var newly int64
	if end < cov[0].start || start > cov[len(cov)-1].end {
		return cov, 0
	}
	for i := 0; i < len(cov); i++ {
		cc := cov[i]
		os, oe := cc.start, cc.end
		if withinInterval(start, end, os, oe) {
			if cc.covered {
				break
			}
			if start == os && end == oe {
				newly += end - start + 1
				cov[i].covered = true
				break
			}
			if os == start {
				cov = slices.Insert(cov, i+1, coverage{false, end + 1, oe})
				cov[i] = coverage{true, os, end}
				newly += end - start + 1
				break
			}
			if oe == end {
				cov = slices.Insert(cov, i+1, coverage{true, start, oe})
				cov[i] = coverage{false, os, start - 1}
				newly += end - start + 1
				break
			}
			cov = slices.Insert(cov, i+1, coverage{true, start, end}, coverage{false, end + 1, oe})
			cov[i] = coverage{false, os, start - 1}
			newly += end - start + 1
			break
		}
		if withinInterval(os, oe, start, end) && !cc.covered {
			cov[i].covered = true
			newly += cc.end - cc.start + 1
		}
		if start >= os && start <= oe {
			if cov[i].covered {
				start = oe + 1
				continue
			}
			if cov[i].start == start {
				cov[i].covered = true
				start = oe + 1
			} else {
				cov = slices.Insert(cov, i+1, coverage{true, start, oe})
				cov[i] = coverage{false, os, start - 1}
				newly += oe - start + 1
				start = oe + 1
			}
		}
	}
	for i := 0; i < len(cov)-1; {
		if cov[i].covered == cov[i+1].covered {
			cov[i].end = cov[i+1].end
			cov = slices.Delete(cov, i+1, i+2)
			continue
		}
		i++
	}
	return cov, newly
}

// prefillBin is prefill_bin: row `row` of archive a, data source d, from
// the candidates in order until the row's span is covered.
func (t *pfRRD) prefillBin(a, d int, row int64, cands []candidate) {
	tr := t.rra[a]
	binSize := tr.Steps * t.step
	minCover := int64(tr.XFF * float64(binSize))
	binEnd := t.endTimeForRow(a, row)
	binStart := binEnd - binSize + 1
	cov := []coverage{{false, binStart, binEnd}}
	var total int64
	value := math.NaN()
	for _, c := range cands {
		if total >= binSize {
			break
		}
		cr := c.def()
		endBin, startBin := c.rrd.rowForTime(c.rra, binEnd), c.rrd.rowForTime(c.rra, binStart)
		if endBin < 0 || startBin < 0 {
			continue
		}
		count := positiveMod(endBin-startBin+1, cr.Rows)
		for ci := startBin; count > 0 && total < binSize; ci, count = ci+1, count-1 {
			if ci == cr.Rows {
				ci = 0
			}
			cSize := cr.Steps * c.rrd.step
			cEnd := c.rrd.endTimeForRow(c.rra, ci)
			cStart := cEnd - cSize + 1
			covered := overlap(binStart, binEnd, cStart, cEnd) + 1
			v := c.rrd.rows[c.rra][ci][c.ds]
			if covered > 0 && !math.IsNaN(v) {
				var newly int64
				cov, newly = addCoverage(cov, cStart, cEnd)
				if newly > 0 {
					total += newly
					value = prefillConsolidate(tr.CF, value, v, binSize, newly)
				}
			}
		}
	}
	if total > minCover {
		if tr.CF == Average {
			value = value / float64(total) * float64(binSize)
		}
		t.rows[a][row][d] = value
	}
}

// prefillConsolidate is prefill_consolidate.
func prefillConsolidate(cf CF, cur, v float64, binSize, newly int64) float64 {
	switch cf {
	case Min:
		if math.IsNaN(cur) || v <= cur {
			return v
		}
		return cur
	case Max:
		if math.IsNaN(cur) || v >= cur {
			return v
		}
		return cur
	case Last:
		return v
	}
	if math.IsNaN(cur) {
		cur = 0
	}
	return cur + v/float64(binSize)*float64(newly)
}

// prefillPDPPrep is prefill_pdp_prep: the PDP state of data source d is
// copied from the first source (of the candidates) with a reading whose
// current step ends within the new series' current step, if its DS type
// is the same.
func (t *pfRRD) prefillPDPPrep(d int, cands []candidate) {
	if t.dsState[d].LastDS != "U" {
		return
	}
	begin := t.lastUp/t.step*t.step + 1
	end := begin + t.step - 1
	var seen *pfRRD
	for _, c := range cands {
		if c.rrd == seen {
			continue
		}
		seen = c.rrd
		s := c.rrd
		if s.dsState[c.ds].LastDS == "U" {
			continue
		}
		sEnd := s.lastUp/s.step*s.step + s.step
		if sEnd <= end && sEnd >= begin && s.ds[c.ds].Type == t.ds[d].Type {
			// (rrdtool then compares the unknown seconds, a count, as a
			// double with the step: never larger, nothing changes)
			t.dsState[d] = s.dsState[c.ds]
			return
		}
	}
}

// prefillCDPPrep is prefill_cdp_prep: the open row of archive a, data
// source d, copied from a source archive of the same shape whose current
// row and step are the new series'; otherwise rebuilt from the one-PDP
// AVERAGE archive cdpRRA as updates would have built it.
func (t *pfRRD) prefillCDPPrep(a, d int, cands []candidate, cdpRRA int) {
	tr := t.rra[a]
	cdpStep := tr.Steps * t.step
	begin := t.lastUp/cdpStep*cdpStep + 1
	end := begin + cdpStep - 1
	for _, c := range cands {
		s := c.rrd
		if s.step != t.step {
			continue
		}
		sStep := c.def().Steps * s.step
		if sb := s.lastUp/sStep*sStep + 1; sb == begin && sb+sStep-1 == end && t.lastUp/t.step == s.lastUp/s.step {
			t.cdp[a][d] = s.cdp[c.rra][c.ds]
			return
		}
	}
	c := &t.cdp[a][d]
	c.Value = math.NaN() // init_cdp; its unknown count is then set to 0
	c.UnknownPDP = 0
	if tr.Steps == 1 {
		c.Primary, c.Secondary = 0, 0
		if r := t.rowForTime(cdpRRA, begin-t.step); r >= 0 {
			c.Primary = t.rows[cdpRRA][r][d]
		}
		return
	}
	st := cdpState{val: c.Value, primary: c.Primary, secondary: c.Secondary, unknPDP: c.UnknownPDP}
	for tm := begin - tr.Steps*t.step; tm < end && tm < t.lastUp; tm += t.step {
		r := t.rowForTime(cdpRRA, tm)
		if r < 0 {
			continue
		}
		v := t.rows[cdpRRA][r][d]
		n := tr.Steps - (tm%cdpStep)/t.step
		var stepCnt int64
		if n == 1 {
			stepCnt = 1
		}
		updateCDP(&st, tr.CF, v, stepCnt, 1, n, tr.Steps, tr.XFF)
	}
	*c = DumpCDP{Value: st.val, Primary: st.primary, Secondary: st.secondary, UnknownPDP: st.unknPDP, HW: c.HW}
}
