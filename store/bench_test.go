package store

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// BenchmarkEngineUpdate is the in-process update path on one core: parse
// and apply a GAUGE+COUNTER reading to a series with three archives.
func BenchmarkEngineUpdate(b *testing.B) {
	spec := Spec{Step: 10, Start: 1000000000, DS: []DS{{Name: "a", Type: Gauge, Heartbeat: 100, Min: math.NaN(), Max: math.NaN()},
		{Name: "b", Type: Counter, Heartbeat: 100, Min: math.NaN(), Max: math.NaN()}},
		RRA: []RRA{{CF: Average, XFF: 0.5, Steps: 1, Rows: 8640}, {CF: Max, XFF: 0.5, Steps: 6, Rows: 1440}, {CF: Average, XFF: 0.5, Steps: 360, Rows: 1000}}}
	r, _ := NewRRD(spec)
	vals := make([][]string, 1000)
	for i := range vals {
		vals[i] = []string{fmt.Sprintf("%d.%d", i, i%7), fmt.Sprint(i * 37)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.Update(1000000000+int64(i+1)*10, 0, vals[i%1000]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkDBApply is the durable path: journal + fsync per batch of 1,000.
func BenchmarkDBApply(b *testing.B) {
	db, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	spec, _ := ParseSpecArgs(10, 1000000000, []string{"DS:a:GAUGE:100:U:U", "RRA:AVERAGE:0.5:1:8640", "RRA:MAX:0.5:6:1440"})
	db.Create("s", spec, true)
	b.ResetTimer()
	t := int64(1000000000)
	for i := 0; i < b.N; i++ {
		batch := Batch{Updates: make([]Update, 1000)}
		for k := range batch.Updates {
			t += 10
			batch.Updates[k] = Update{Series: "s", Time: t, Values: []string{"1.5"}}
		}
		if _, err := db.Apply(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "updates/s")
}
