package nametree

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// brute is what Find must return, computed from the names one by one.
func brute(names []string, nds map[string]int, p *Pattern, opt FindOptions) []Match {
	k := p.Len()
	by := map[string]*Match{}
	var order []string
	get := func(path string) *Match {
		m, ok := by[path]
		if !ok {
			m = &Match{Path: path}
			by[path] = m
			order = append(order, path)
		}
		return m
	}
	for _, name := range names {
		parts := strings.Split(name, ".")
		if opt.SkipTagged && strings.Contains(name, ";") {
			continue
		}
		switch {
		case len(parts) > k && p.MatchNodes(parts[:k]):
			get(strings.Join(parts[:k], ".")).Branch = true
		case len(parts) == k && p.MatchNodes(parts):
			get(name).Series = true
		case opt.Parents && len(parts) == k-1 && nds[name] != 1 && prefixOK(p, parts):
			m := Match{Path: name, Series: true, Parent: true}
			by["\x00"+name] = &m
			order = append(order, "\x00"+name)
		}
	}
	out := make([]Match, 0, len(order))
	for _, o := range order {
		out = append(out, *by[o])
	}
	return out
}

func prefixOK(p *Pattern, parts []string) bool {
	for i, s := range parts {
		if !p.MatchNode(i, s) {
			return false
		}
	}
	return true
}

func key(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s b=%v s=%v p=%v", m.Path, m.Branch, m.Series, m.Parent)
	}
	slices.Sort(out)
	return out
}

var testNames = []string{
	"servers.web1.cpu.user", "servers.web1.cpu.system", "servers.web2.cpu.user", "servers.web-2.cpu.user",
	"servers.web1", "servers.db1.disk.sda", "servers.db1.disk", "a", "a.b", "a-b.c", "x..y", ".lead", "trail.",
	"http.requests;service=rrdash;route=GET:/g", "http.requests;dc=eu.west", "app.cpu;dc=x", "app.mem;dc=y.z", "http.errors", "//host/check#metric", "ünï.cödé",
}

func TestTreeFindMatchesNames(t *testing.T) {
	t.Parallel()
	tree := Build(testNames)
	pats := []string{"*", "servers.*", "servers.web?.cpu.*", "servers.{web1,db1}.*", "servers.[a-w]*.cpu.user", "servers.*.*.*",
		"servers.web1.cpu", "a", "a.*", "x.*.y", "*.*", "http.*", "//host/check#*", "ünï.*", "servers.web[!1].cpu.user", "*.lead", "trail.*"}
	for _, pat := range pats {
		p, err := Compile(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, opt := range []FindOptions{{}, {SkipTagged: true}, {Parents: true}} {
			got, want := key(tree.Find(p, opt)), key(brute(testNames, nil, p, opt))
			if !slices.Equal(got, want) {
				t.Errorf("Find(%q, %+v) = %q, want %q", pat, opt, got, want)
			}
		}
	}
	if tree.Len() != len(testNames) {
		t.Errorf("Len %d, want %d", tree.Len(), len(testNames))
	}
}

func TestTreeInsertRemove(t *testing.T) {
	t.Parallel()
	tree := &Tree{}
	for _, n := range testNames {
		tree.Insert(n, 1)
	}
	tree.Insert("servers.web1", 3)
	if ok, nds := tree.Has("servers.web1"); !ok || nds != 3 {
		t.Errorf("Has(servers.web1) = %v %d, want true 3", ok, nds)
	}
	if !tree.Remove("servers.web1.cpu.user") || tree.Remove("servers.web1.cpu.user") || tree.Remove("servers.web1.cpu") {
		t.Error("Remove: a name goes once; a branch is no name")
	}
	p, _ := Compile("servers.web1.cpu.*")
	if got := tree.Names(p); !slices.Equal(got, []string{"servers.web1.cpu.system"}) {
		t.Errorf("after Remove: %q", got)
	}
	tree.Remove("servers.web1.cpu.system")
	p, _ = Compile("servers.web1.*")
	if got := tree.Find(p, FindOptions{}); len(got) != 0 {
		t.Errorf("empty branches stay: %+v", got)
	}
	if ok, _ := tree.Has("servers.web1"); !ok {
		t.Error("the series servers.web1 went with its branch")
	}
	if tree.Len() != len(testNames)-2 {
		t.Errorf("Len %d", tree.Len())
	}
}

func TestGlobNodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pat         string
		match, miss []string
	}{
		{"a.*", []string{"a.b", "a.", "a.x-y"}, []string{"a.b.c", "b.a"}},
		{"a.b?", []string{"a.bc"}, []string{"a.b", "a.bcd"}},
		{"a.b*", []string{"a.b", "a.bcd"}, []string{"a.c", "a.b.c"}},
		{"a.[a-c]x", []string{"a.ax", "a.cx"}, []string{"a.dx"}},
		{"a.[!a-c]x", []string{"a.dx"}, []string{"a.ax"}},
		{"a.{b,c}d", []string{"a.bd", "a.cd"}, []string{"a.d", "a.bcd"}},
		{"a.{b,c{1,2}}", []string{"a.b", "a.c1", "a.c2"}, []string{"a.c"}},
		{"a.x[", []string{"a.x["}, []string{"a.x"}},
		{"a.[]x]", []string{"a.]", "a.x"}, []string{"a.[]x]"}},
		{"a.{,b}c", []string{"a.c", "a.bc"}, nil},
		{"*.*", []string{"x.y"}, []string{"x", "x.y.z"}},
		{`a\.b`, []string{"a.b"}, []string{"a.c"}},
	}
	for _, tt := range tests {
		p, err := Compile(tt.pat)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.pat, err)
			continue
		}
		for _, m := range tt.match {
			if !p.MatchNodes(strings.Split(m, ".")) || !p.Match(m) {
				t.Errorf("%q does not match %q", tt.pat, m)
			}
		}
		for _, m := range tt.miss {
			if p.MatchNodes(strings.Split(m, ".")) || p.Match(m) {
				t.Errorf("%q matches %q", tt.pat, m)
			}
		}
	}
	if _, err := Compile(""); err == nil {
		t.Error("an empty expression compiles")
	}
	if _, err := Compile(strings.Repeat("{a,b}", 13)); err == nil {
		t.Error("4096+ brace variants compile")
	}
}

// FuzzTree: a tree built from names and changed by inserts and removals
// finds what matching every name finds.
func FuzzTree(f *testing.F) {
	f.Add("a.b,a.c,b", "a.*", "a.b")
	f.Add("x..y,.z,q.", "*.*", "x..y")
	f.Add("s.{a,b},s.a.c", "s.{a,b}", "s.a")
	f.Add("app.cpu;dc=x,app.mem;d=y.z,b", "*.*", "b")
	f.Fuzz(func(t *testing.T, list, pat, drop string) {
		p, err := Compile(pat)
		if err != nil {
			return
		}
		names := strings.Split(list, ",")
		tree := Build(names)
		nds := map[string]int{}
		for i, n := range names {
			if i%2 == 0 {
				tree.Insert(n, 1)
				nds[n] = 1
			}
		}
		if tree.Remove(drop) {
			names = slices.DeleteFunc(names, func(s string) bool { return s == drop })
		}
		slices.Sort(names)
		names = slices.Compact(names)
		for _, opt := range []FindOptions{{}, {SkipTagged: true}, {Parents: true}} {
			got := tree.Find(p, opt)
			for i := range got {
				got[i].NDS = 0
			}
			want := brute(names, nds, p, opt)
			if g, w := key(got), key(want); !slices.Equal(g, w) {
				t.Fatalf("names %q pattern %q %+v: Find %q, want %q", names, pat, opt, g, w)
			}
		}
	})
}

// benchNames makes n names servers.dcD.hostHHHH.group.metric with 100
// metrics per host, shuffled.
func benchNames(n int) []string {
	names := make([]string, 0, n)
	groups := []string{"cpu", "mem", "disk", "net"}
	for i := 0; len(names) < n; i++ {
		dc, host := i/1000%10, i
		for m := 0; m < 100 && len(names) < n; m++ {
			names = append(names, fmt.Sprintf("servers.dc%d.host%05d.%s.m%02d", dc, host, groups[m%4], m))
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	return names
}

func TestBenchNamesSmall(t *testing.T) {
	t.Parallel()
	names := benchNames(10_000)
	tree := Build(names)
	p, _ := Compile("servers.dc0.host0000[0-3].cpu.*")
	if got := tree.Names(p); len(got) != 4*25 {
		t.Errorf("%d names, want 100", len(got))
	}
}
