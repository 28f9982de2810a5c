package obs

import (
	"bufio"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// WriteText writes the families in the Prometheus text exposition format
// (version 0.0.4).
func WriteText(w io.Writer, fams []Family) error {
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		bw.WriteString("# HELP ")
		bw.WriteString(f.Name)
		bw.WriteByte(' ')
		bw.WriteString(escapeHelp(f.Help))
		bw.WriteString("\n# TYPE ")
		bw.WriteString(f.Name)
		bw.WriteByte(' ')
		bw.WriteString(f.Kind.String())
		bw.WriteByte('\n')
		for _, p := range f.Points {
			if f.Kind != KindHistogram {
				writeSample(bw, f.Name, f.Labels, p.LabelValues, "", "", p.Value)
				continue
			}
			var cum uint64
			for i, n := range p.Buckets {
				cum += n
				le := "+Inf"
				if i < len(f.Buckets) {
					le = formatFloat(f.Buckets[i])
				}
				writeSample(bw, f.Name+"_bucket", f.Labels, p.LabelValues, "le", le, float64(cum))
			}
			writeSample(bw, f.Name+"_sum", f.Labels, p.LabelValues, "", "", p.Sum)
			writeSample(bw, f.Name+"_count", f.Labels, p.LabelValues, "", "", float64(p.Count))
		}
	}
	return bw.Flush()
}

func writeSample(bw *bufio.Writer, name string, labels, values []string, extraK, extraV string, v float64) {
	bw.WriteString(name)
	if len(labels) > 0 || extraK != "" {
		bw.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(l)
			bw.WriteString(`="`)
			bw.WriteString(escapeLabel(values[i]))
			bw.WriteByte('"')
		}
		if extraK != "" {
			if len(labels) > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(extraK)
			bw.WriteString(`="`)
			bw.WriteString(extraV)
			bw.WriteByte('"')
		}
		bw.WriteByte('}')
	}
	bw.WriteByte(' ')
	bw.WriteString(formatFloat(v))
	bw.WriteByte('\n')
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// Handler serves the registry as Prometheus text (GET /-/metrics).
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if req.Method == http.MethodHead {
			return
		}
		WriteText(w, r.Gather()) // the scraper may be gone; nothing to do about it
	})
}
