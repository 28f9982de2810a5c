package remote

import (
	"fmt"
	"strings"
	"testing"

	"rrdash/store"
)

func TestTakeCreateSources(t *testing.T) {
	t.Parallel()
	cs, rest, err := takeCreateSources([]string{"--start-given", "--source=a b", "--source=/x/old.rrd", "--map=n=o:-1", "--map=p=q:2", "DS:n:GAUGE:30:U:U", "--late"})
	if err != nil {
		t.Fatal(err)
	}
	want := createSources{sources: []string{"a b", "/x/old.rrd"}, maps: []store.DSMapping{{Name: "n", Old: "o", Index: -1}, {Name: "p", Old: "q", Index: 2}}, startGiven: true}
	if fmt.Sprint(cs) != fmt.Sprint(want) || len(rest) != 2 {
		t.Fatalf("got %v %q, want %v and the two definitions", cs, rest, want)
	}
	for _, bad := range [][]string{{"--map=n=o"}, {"--map==o:1"}, {"--map=n=o:x"}, {"--bogus"}} {
		if _, _, err := takeCreateSources(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzTakeCreateSources(f *testing.F) {
	for _, s := range []string{"--source=a --map=n=o:1 DS:x", "--start-given --map=a=b:-1", "--map==:", "--source= --x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, rest, err := takeCreateSources(strings.Fields(s))
		if err != nil {
			return
		}
		// what it took formats back to the same options
		var again []string
		if cs.startGiven {
			again = append(again, "--start-given")
		}
		for _, m := range cs.maps {
			again = append(again, fmt.Sprintf("--map=%s=%s:%d", m.Name, m.Old, m.Index))
		}
		cs2, _, err := takeCreateSources(again)
		if err != nil || fmt.Sprint(cs2.maps) != fmt.Sprint(cs.maps) {
			t.Fatalf("%q: maps %v do not round-trip (%v %v)", s, cs.maps, cs2.maps, err)
		}
		if len(rest) > 0 && strings.HasPrefix(rest[0], "--") {
			t.Fatalf("%q: an option left in %q", s, rest)
		}
	})
}
