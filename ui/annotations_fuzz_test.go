package ui

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzAnnotationBody: any body the API decodes is either refused or
// becomes an annotation with text, ordered times in milliseconds and
// clean tags.
func FuzzAnnotationBody(f *testing.F) {
	for _, s := range []string{
		`{"time":1700000000000,"text":"deploy","tags":["a","b"]}`,
		`{"time":1700000000000,"timeEnd":1700000360000,"text":"outage"}`,
		`{"text":"now"}`, `{"time":1700000000,"text":"seconds"}`, `{"text":" "}`,
		`{"time":-1,"timeEnd":-2,"text":"x"}`, `{"text":"x","tags":[""]}`, `{"text":"x","dashboardUID":"y"}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	now := time.Unix(testNow, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		var b annotationBody
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&b) != nil {
			return
		}
		a, err := b.check(now)
		if err != nil {
			return
		}
		if a.Text == "" || len(a.Text) > maxAnnotationText || !utf8.ValidString(a.Text) {
			t.Errorf("accepted text %q", a.Text)
		}
		if a.Time < minAnnotationMS || a.TimeEnd < a.Time {
			t.Errorf("accepted times %d…%d", a.Time, a.TimeEnd)
		}
		if len(a.Tags) > maxAnnotationTags {
			t.Errorf("accepted %d tags", len(a.Tags))
		}
		for _, tag := range a.Tags {
			if tag == "" || tag != strings.TrimSpace(tag) || len(tag) > maxTagLen {
				t.Errorf("accepted tag %q", tag)
			}
		}
	})
}

// FuzzLineError: the position of an error is inside its line.
func FuzzLineError(f *testing.F) {
	f.Add("CDEF:b=a,+", 2)
	f.Add("VDEF:m=a,MAXIMUM", 1)
	f.Add("LINE1:a#zzz", 3)
	f.Add("=,,,", 4)
	f.Fuzz(func(t *testing.T, line string, pos int) {
		col := tokenColumn(line, pos)
		if col < 0 || col > len(line)+1 {
			t.Fatalf("tokenColumn(%q, %d) = %d", line, pos, col)
		}
		err := lineError([]string{line}, 0, "msg", pos, "tok")
		if !strings.HasPrefix(err.Error(), "line 1") {
			t.Fatalf("lineError: %v", err)
		}
	})
}
