package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"

	"rrdash/store/internal/rrdbin"
)

func TestProbeSplit(tt0 *testing.T) {
	if os.Getenv("PROBE") == "" {
		tt0.Skip()
	}
	const step = 300
	os.Remove("/tmp/pr.rrd")
	exec.Command("rrdtool", "create", "/tmp/pr.rrd", "--start", "1000000000", "--step", "300", "DS:a:ABSOLUTE:100000:U:U", "RRA:LAST:0:1:10000").Run()
	r := rand.New(rand.NewPCG(1, 2))
	t := 1000000000.0
	type sc struct {
		lu, t1, t2 float64
		v1, v2     float64
	}
	var scs []sc
	var args []string
	for i := 0; i < 60; i++ {
		b := math.Floor(t/step)*step + step
		t1 := b + 1 + float64(r.IntN(step-2)) + float64(r.IntN(4))*0.25
		v1s := strconv.FormatFloat(float64(r.IntN(100000))/1000, 'f', -1, 64)
		v1, _ := parseReading(v1s)
		t2 := math.Floor(t1/step)*step + step*float64(2+r.IntN(3)) + float64(r.IntN(step-1)) + float64(r.IntN(4))*0.25
		v2s := strconv.FormatFloat(float64(r.IntN(100000)-50000)/1000, 'f', -1, 64)
		v2, _ := parseReading(v2s)
		scs = append(scs, sc{t, t1, t2, v1, v2})
		args = append(args, fmt.Sprintf("%s:%s", strconv.FormatFloat(t1, 'f', -1, 64), v1s), fmt.Sprintf("%s:%s", strconv.FormatFloat(t2, 'f', -1, 64), v2s))
		t = t2
	}
	out, err := exec.Command("rrdtool", append([]string{"update", "/tmp/pr.rrd"}, args...)...).CombinedOutput()
	if err != nil {
		panic(string(out))
	}
	f, _ := rrdbin.Read("/tmp/pr.rrd")
	row := map[int64]float64{}
	for k, tt := range f.RRA[0].Times {
		row[tt] = f.RRA[0].Rows[k][0]
	}
	okc := map[string]int{}
	for _, s := range scs {
		i1 := s.t1 - s.lu
		post1 := s.t1 - math.Floor(s.t1/step)*step
		A := s.v1 / i1 * post1
		I := s.t2 - s.t1
		nw := s.v2
		first := math.Floor(s.t1/step)*step + step
		occu := math.Floor(s.t2/step) * step
		Fr := first - s.t1
		ft := math.Trunc(Fr)
		S := occu - first
		span := S
		wf, wr := row[int64(first)], row[int64(first)+step]
		for _, fn := range []string{"trunc", "real"} {
			fx := ft
			if fn == "real" {
				fx = Fr
			}
			for _, pn := range []string{"nw*f/I", "nw/I*f"} {
				p1 := nw * fx / I
				if pn == "nw/I*f" {
					p1 = nw / I * fx
				}
				for _, i1n := range []string{"ft", "Fr"} {
					I1 := ft
					if i1n == "Fr" {
						I1 = Fr
					}
					for _, pre1n := range []string{"ft", "Fr"} {
						pre1 := ft
						if pre1n == "Fr" {
							pre1 = Fr
						}
						v := (A + p1/I1*pre1) / step
						if math.Float64bits(v) == math.Float64bits(wf) {
							okc["F f="+fn+" p1="+pn+" I1="+i1n+" pre1="+pre1n]++
						}
					}
					post := s.t2 - occu
					i2s := map[string]float64{"I-ft": I - ft, "I-Fr": I - Fr, "t2-first": s.t2 - first}
					for i2n, I2 := range i2s {
						pres := map[string]float64{"S": S, "I2-post": I2 - post, "I-Fr-post": I - Fr - post, "I-ft-post": I - ft - post, "occu-t1-Fr": (occu - s.t1) - Fr}
						for pn2, pre2 := range pres {
							p2 := nw - p1
							v := p2 / I2 * pre2 / span
							if math.Float64bits(v) == math.Float64bits(wr) {
								okc["R f="+fn+" p1="+pn+" I2="+i2n+" pre2="+pn2]++
							}
						}
					}
				}
			}
		}
	}
	var keys []string
	for k := range okc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Println(okc[k], k)
	}
	fmt.Println("of", len(scs))
}
