package ui

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"rrdash/store/meta"
)

// annotationBody is a new annotation as Grafana's HTTP API takes it (its
// simple-JSON fields): times in Unix milliseconds, timeEnd for a range.
type annotationBody struct {
	Time    *int64   `json:"time"`
	TimeEnd *int64   `json:"timeEnd"`
	Text    string   `json:"text"`
	Tags    []string `json:"tags"`
}

// The limits of an annotation, exported for the CLI's annotate.
const (
	MaxAnnotationText   = maxAnnotationText
	MaxAnnotationTags   = maxAnnotationTags
	MaxAnnotationTagLen = maxTagLen
)

const (
	maxAnnotationText = 10000
	maxAnnotationTags = 20
	maxTagLen         = 100
	// minAnnotationMS is 1973-03-03 in milliseconds: a smaller time is
	// almost surely Unix seconds sent by mistake.
	minAnnotationMS = 100_000_000_000
)

func (b *annotationBody) check(now time.Time) (meta.Annotation, error) {
	a := meta.Annotation{Text: strings.TrimSpace(b.Text), Tags: []string{}}
	if a.Text == "" {
		return a, badRequest("text: an annotation needs a text")
	}
	if len(a.Text) > maxAnnotationText || !utf8.ValidString(a.Text) {
		return a, badRequest(fmt.Sprintf("text: at most %d bytes of UTF-8", maxAnnotationText))
	}
	a.Time = now.UnixMilli()
	if b.Time != nil {
		a.Time = *b.Time
	}
	a.TimeEnd = a.Time
	if b.TimeEnd != nil {
		a.TimeEnd = *b.TimeEnd
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"time", a.Time}, {"timeEnd", a.TimeEnd}} {
		if f.v < minAnnotationMS {
			return a, badRequest(fmt.Sprintf("%s %d: want Unix milliseconds (that is %s)", f.name, f.v, time.UnixMilli(f.v).UTC().Format(time.RFC3339)))
		}
	}
	if a.TimeEnd < a.Time {
		return a, badRequest(fmt.Sprintf("timeEnd %d is before time %d", a.TimeEnd, a.Time))
	}
	if len(b.Tags) > maxAnnotationTags {
		return a, badRequest(fmt.Sprintf("tags: at most %d", maxAnnotationTags))
	}
	for i, t := range b.Tags {
		t = strings.TrimSpace(t)
		if t == "" || len(t) > maxTagLen || !utf8.ValidString(t) {
			return a, badRequest(fmt.Sprintf("tag %d %q: want 1 to %d bytes of UTF-8", i+1, t, maxTagLen))
		}
		a.Tags = append(a.Tags, t)
	}
	return a, nil
}

// apiCreateAnnotation: POST /api/v1/annotations (and Grafana's path,
// /api/annotations) with {"time", "timeEnd", "text", "tags"}.
func (s *Server) apiCreateAnnotation(c *echo.Context) error {
	var b annotationBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	a, err := b.check(s.cfg.Now())
	if err != nil {
		return err
	}
	a, err = s.meta.CreateAnnotation(c.Request().Context(), currentUser(c), a)
	if err != nil {
		return err
	}
	// Grafana answers {"message": "Annotation added", "id": …}.
	return c.JSON(http.StatusCreated, struct {
		meta.Annotation
		Message string `json:"message"`
	}{a, "Annotation added"})
}

// apiListAnnotations: GET with from and to (Unix ms; default the last
// 6 hours), tags (repeated: all must be on an annotation) and limit.
func (s *Server) apiListAnnotations(c *echo.Context) error {
	q := meta.AnnotationQuery{To: s.cfg.Now().UnixMilli()}
	q.From = q.To - 6*3600*1000
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := c.QueryParam(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return badRequest(fmt.Sprintf("%s %q: want Unix milliseconds", p.name, v))
			}
			*p.dst = n
		}
	}
	if q.From > q.To {
		return badRequest(fmt.Sprintf("from %d is after to %d", q.From, q.To))
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			return badRequest(fmt.Sprintf("limit %q: want 1 to 1000", v))
		}
		q.Limit = n
	}
	for _, t := range c.QueryParams()["tags"] {
		if t = strings.TrimSpace(t); t != "" {
			q.Tags = append(q.Tags, t)
		}
	}
	as, err := s.meta.Annotations(c.Request().Context(), q)
	if err != nil {
		return err
	}
	ms, err := s.monitorAnnotations(c.Request().Context(), q)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		as = append(as, ms...)
		sort.SliceStable(as, func(i, j int) bool { return as[i].Time > as[j].Time })
		limit := q.Limit
		if limit <= 0 {
			limit = 1000
		}
		as = as[:min(len(as), limit)]
	}
	return c.JSON(http.StatusOK, as)
}

// monitorAnnotations are the code monitors' alert transitions (an alert
// fires on failing or missed runs, and resolves) in q's window, as
// annotations by "monitor" tagged monitor, the monitor's name and the
// transition. They are read from the alert history, not stored (id 0),
// so they cannot be deleted here.
func (s *Server) monitorAnnotations(ctx context.Context, q meta.AnnotationQuery) ([]meta.Annotation, error) {
	if s.cfg.Monitors == nil {
		return nil, nil
	}
	mons, err := s.cfg.Monitors.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("annotations: list monitors: %w", err)
	}
	var out []meta.Annotation
	for _, m := range mons {
		alerts, err := s.cfg.Monitors.Alerts(ctx, m.Name)
		if err != nil {
			return nil, fmt.Errorf("annotations: alerts of monitor %s: %w", m.Name, err)
		}
		for _, al := range alerts {
			ms := al.At.UnixMilli()
			if ms < q.From || ms > q.To {
				continue
			}
			kind := "failing runs"
			if al.Kind == "missed" {
				kind = "missed runs"
			}
			a := meta.Annotation{Owner: "monitor", Time: ms, TimeEnd: ms, CreatedAt: al.At.UTC(),
				Text: fmt.Sprintf("monitor %s: %s %s", m.Name, kind, al.Transition),
				Tags: []string{"monitor", m.Name, al.Transition}}
			if al.Reason != "" {
				a.Text += ": " + al.Reason
			}
			if hasAllTags(a.Tags, q.Tags) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func hasAllTags(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func (s *Server) apiDeleteAnnotation(c *echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return badRequest(fmt.Sprintf("annotation id %q: want a number", c.Param("id")))
	}
	if err := s.meta.DeleteAnnotation(c.Request().Context(), currentUser(c), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": "Annotation deleted"})
}

// annotationRoutes: the API's, and the same at Grafana's path so its
// clients (and scripts written for it) post here unchanged.
func (s *Server) annotationRoutes(e *echo.Echo) {
	for _, prefix := range []string{"/api/v1", "/api"} {
		e.GET(prefix+"/annotations", s.apiListAnnotations, sameOriginWrites, tokenScope)
		e.POST(prefix+"/annotations", s.apiCreateAnnotation, sameOriginWrites, tokenScope)
		e.DELETE(prefix+"/annotations/:id", s.apiDeleteAnnotation, sameOriginWrites, tokenScope)
	}
}
