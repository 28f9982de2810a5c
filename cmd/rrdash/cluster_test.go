package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"rrdash/ingest/kinesis"
	"rrdash/ingest/kinesis/dynamotest"
	"rrdash/ingest/kinesis/kinesistest"
	"rrdash/store"
	"rrdash/store/cluster"
)

// testCluster is kinesalite, dynalite and `rrdash serve` nodes in cluster
// mode, all on 127.0.0.1.
type testCluster struct {
	t          *testing.T
	bin        string
	kinesis    string
	dynamo     string
	stream     string
	secretFile string
	groups     []string
}

type clusterProc struct {
	name, group string
	addr        string
	data        string
	base        string
	cmd         *exec.Cmd
	token       string
	dead        bool
	log         string
}

func newTestCluster(t *testing.T, shards int32, groups ...string) *testCluster {
	t.Helper()
	c := &testCluster{t: t, bin: buildRrdash(t), kinesis: kinesistest.Start(t), dynamo: dynamotest.Start(t), stream: "rrdash-cluster", groups: groups}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kinesistest.CreateStream(ctx, t, kinesis.NewClient(kinesis.Config{Stream: c.stream, Endpoint: c.kinesis, Region: "us-east-1"}), c.stream, shards)
	c.secretFile = filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(c.secretFile, []byte("a-test-cluster-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// node makes a node (not started).
func (c *testCluster) node(name, group string) *clusterProc {
	return &clusterProc{name: name, group: group, addr: freePort(c.t), data: c.t.TempDir(), log: filepath.Join(c.t.TempDir(), name+".log")}
}

// start starts (or restarts, on the same port and data) a node.
func (c *testCluster) start(n *clusterProc) {
	t := c.t
	t.Helper()
	addr := n.addr
	cmd := exec.Command(c.bin, "serve", "--addr", addr, "--data", n.data,
		"--cluster-stream", c.stream, "--cluster-endpoint", c.kinesis, "--cluster-lease-endpoint", c.dynamo,
		"--cluster-group", n.group, "--cluster-groups", strings.Join(c.groups, ","), "--cluster-node", n.name,
		"--cluster-advertise-url", "http://"+addr, "--cluster-lease-table", "rrdash-leases", "--cluster-lease-duration", "2s",
		"--cluster-secret-file", c.secretFile)
	cmd.Env = append(os.Environ(), "RRDASH_CONFIG=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	n.cmd, n.dead = cmd, false
	sc := bufio.NewScanner(out)
	n.base = ""
	for n.base == "" && sc.Scan() {
		if i := strings.Index(sc.Text(), "serving on http://"); i >= 0 {
			n.base = strings.Fields(sc.Text()[i+len("serving on "):])[0]
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if n.base == "" {
		b, _ := os.ReadFile(n.log)
		t.Fatalf("node %s did not start:\n%s", n.name, b)
	}
	if n.token == "" {
		n.token = pushToken(t, n.data)
	}
	t.Cleanup(func() {
		c.stop(n)
		if t.Failed() {
			b, _ := os.ReadFile(n.log)
			t.Logf("node %s log:\n%s", n.name, b)
		}
	})
}

func (c *testCluster) stop(n *clusterProc) {
	if n.dead || n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	n.cmd.Wait()
	n.dead = true
}

func (c *testCluster) kill(n *clusterProc) {
	n.cmd.Process.Kill()
	n.cmd.Wait()
	n.dead = true
}

// view reads the cluster's routing view as the nodes do.
func (c *testCluster) view(ctx context.Context) *cluster.View {
	c.t.Helper()
	kc := kinesis.Config{Stream: c.stream, Endpoint: c.kinesis, Region: "us-east-1"}
	var tables []kinesis.GroupTable
	for _, g := range c.groups {
		tables = append(tables, kinesis.GroupTable{Group: g, Table: "rrdash-leases-" + g})
	}
	topo, err := kinesis.NewTopology(kc, dynamotest.Client(c.dynamo), tables, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	v, err := topo.View(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

// waitLeases waits until every open shard has an owner in every group and
// each group's owners are among want[group] with each of them holding one.
func (c *testCluster) waitLeases(within time.Duration, ok func(v *cluster.View) bool) time.Duration {
	c.t.Helper()
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v := c.view(ctx)
		cancel()
		if ok(v) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			c.t.Fatalf("leases not as wanted after %v: %+v", within, v.Groups)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startSpread starts nodes names of group and waits until the group's
// leases cover every shard with each node holding at least one.
func (c *testCluster) startSpread(group string, names ...string) []*clusterProc {
	c.t.Helper()
	var nodes []*clusterProc
	for _, name := range names {
		n := c.node(name, group)
		c.start(n)
		nodes = append(nodes, n)
	}
	c.waitLeases(30*time.Second, func(v *cluster.View) bool {
		var g *cluster.Group
		for i := range v.Groups {
			if v.Groups[i].Name == group {
				g = &v.Groups[i]
			}
		}
		if g == nil {
			return false
		}
		held, sum := map[string]int{}, 0
		for _, s := range v.Router.Shards() {
			if n, ok := g.Owners[s]; ok {
				held[n.ID]++
			}
		}
		for _, name := range names {
			if held[name] < 1 {
				return false
			}
			sum += held[name]
		}
		return sum == len(v.Router.Shards())
	})
	return nodes
}

// busiest returns the node of nodes that holds the most leases of the
// first group, how many it holds, and the open shards.
func (c *testCluster) busiest(nodes []*clusterProc) (victim *clusterProc, held, shards int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	v := c.view(ctx)
	cancel()
	count := map[string]int{}
	for _, n := range v.Groups[0].Owners {
		count[n.ID]++
	}
	victim = nodes[0]
	for _, n := range nodes {
		if count[n.name] > count[victim.name] {
			victim = n
		}
	}
	return victim, count[victim.name], len(v.Router.Shards())
}

// waitServing waits until every shard's owner in every group of v serves
// it (has read it to its tip since taking its lease).
func (c *testCluster) waitServing(v *cluster.View, within time.Duration) {
	c.t.Helper()
	secret, err := os.ReadFile(c.secretFile)
	if err != nil {
		c.t.Fatal(err)
	}
	deadline := time.Now().Add(within)
	for _, g := range v.Groups {
		for shard, n := range g.Owners {
			for {
				req, _ := http.NewRequest(http.MethodGet, n.URL+cluster.PeerPrefix+"list?"+url.Values{"shards": {shard}}.Encode(), nil)
				req.Header.Set("X-Rrdash-Cluster-Secret", strings.TrimSpace(string(secret)))
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						break
					}
				}
				if time.Now().After(deadline) {
					c.t.Fatalf("group %s: %s does not serve shard %s after %v", g.Name, n.ID, shard, within)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}

// xport reads the LAST rows of series over [from, to] from node n: status
// and, on 200, name → values.
func xport(t *testing.T, n *clusterProc, names []string, from, to int64) (int, map[string][]float64, string) {
	t.Helper()
	q := url.Values{"start": {fmt.Sprint(from)}, "end": {fmt.Sprint(to)}, "step": {"60"}}
	for i, name := range names {
		q.Add("arg", fmt.Sprintf("DEF:v%d=%s:value:LAST", i, name))
		q.Add("arg", fmt.Sprintf("XPORT:v%d:%s", i, name))
	}
	resp, err := http.Get(n.base + "/api/v1/xport?" + q.Encode())
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, string(body)
	}
	var x struct {
		Meta struct {
			Start  int64    `json:"start"`
			Step   int64    `json:"step"`
			Legend []string `json:"legend"`
		} `json:"meta"`
		Data [][]*float64 `json:"data"`
	}
	if err := json.Unmarshal(body, &x); err != nil {
		t.Fatalf("xport answer %s: %v", body, err)
	}
	out := map[string][]float64{}
	for _, row := range x.Data {
		for i, v := range row {
			f := math.NaN()
			if v != nil {
				f = *v
			}
			out[x.Meta.Legend[i]] = append(out[x.Meta.Legend[i]], f)
		}
	}
	return resp.StatusCode, out, string(body)
}

// pushRound writes one point per series at ts (value = base + series
// index) to node n: nil when acknowledged.
func pushRound(n *clusterProc, names []string, ts, base int64) error {
	var b strings.Builder
	for i, name := range names {
		fmt.Fprintf(&b, "%s value=%d %d\n", strings.TrimSuffix(name, ".value"), base+int64(i), ts*1e9)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := pushWith(c, n.base+"/api/v1/write", n.token, strings.NewReader(b.String()))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("push to %s: %s %s", n.name, resp.Status, body)
	}
	return nil
}

// TestClusterTwoGroupsKill9: three nodes in two replica groups (a: two
// nodes splitting a 2-shard stream; b: one node with both shards); rounds
// of points for 50 series pushed to random nodes, a kill -9 of a group-a
// node midway and its restart. Every acknowledged point is then read back
// through every node (each group's owners answer; rows hold exactly the
// values pushed, no round lost or doubled), and the archives of the two
// groups are identical (rows and consolidation state, via dump).
func TestClusterTwoGroupsKill9(t *testing.T) {
	t.Parallel()
	c := newTestCluster(t, 2, "a", "b")
	a1, a2, b1 := c.node("a1", "a"), c.node("a2", "a"), c.node("b1", "b")
	nodes := []*clusterProc{a1, a2, b1}
	for _, n := range nodes {
		c.start(n)
	}
	split := func(v *cluster.View) bool {
		shards := v.Router.Shards()
		for _, g := range v.Groups {
			held := map[string]int{}
			for _, s := range shards {
				if n, ok := g.Owners[s]; ok {
					held[n.ID]++
				}
			}
			if sum := held["a1"] + held["a2"] + held["b1"]; sum != len(shards) {
				return false
			}
			if g.Name == "a" && (held["a1"] != 1 || held["a2"] != 1) {
				return false
			}
		}
		return true
	}
	c.waitLeases(30*time.Second, split)

	var names []string
	for i := range 50 {
		names = append(names, fmt.Sprintf("clu.s%d.value", i))
	}
	t0 := (time.Now().Unix()/60 - 120) * 60
	const rounds = 60
	rng := rand.New(rand.NewPCG(1, 2))
	for r := range rounds {
		time.Sleep(50 * time.Millisecond) // spread the rounds over the kill and the restart
		if r == rounds/2 {
			c.kill(a2)
			t.Logf("killed a2 (kill -9) after round %d", r)
		}
		if r == rounds*3/4 {
			c.start(a2)
			t.Logf("restarted a2 after round %d", r)
		}
		for {
			n := nodes[rng.IntN(len(nodes))]
			if n.dead {
				continue
			}
			if err := pushRound(n, names, t0+int64(r)*60, int64(r)*1000); err != nil {
				t.Logf("round %d not acknowledged by %s, pushed again elsewhere: %v", r, n.name, err)
				continue
			}
			break
		}
	}
	// Every node answers for every series, from its own group's owners.
	want := func(name string, i int) []float64 {
		var out []float64
		for r := 1; r < rounds; r++ {
			out = append(out, float64(r*1000+i))
		}
		return out
	}
	// a2 is back: the groups settle again (a2 may steal a shard back; it
	// then resumes after its own position), and the reads below are
	// checked under one stable set of owners.
	c.waitLeases(30*time.Second, split)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	v := c.view(ctx)
	cancel()
	c.waitServing(v, 60*time.Second)
	for _, n := range nodes {
		deadline := time.Now().Add(40 * time.Second)
		for {
			code, got, body := xport(t, n, names, t0, t0+(rounds-1)*60)
			okAll := code == http.StatusOK
			if okAll {
				for i, name := range names {
					g := got[name]
					if len(g) > rounds-1 {
						g = g[len(g)-(rounds-1):]
					}
					if fmt.Sprint(g) != fmt.Sprint(want(name, i)) {
						okAll = false
						if time.Now().After(deadline) {
							t.Fatalf("node %s: %s rows %v, want %v", n.name, name, got[name], want(name, i))
						}
						break
					}
				}
			}
			if okAll {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s: xport %d %s", n.name, code, body)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	// The archives: each series in group a's current owner equals group b's.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	if v2 := c.view(ctx); fmt.Sprint(v2.Groups) != fmt.Sprint(v.Groups) {
		t.Fatalf("the owners moved while the reads were checked: %+v, then %+v", v.Groups, v2.Groups)
	}
	cancel()
	for _, n := range nodes {
		c.stop(n)
	}
	open := map[string]*store.DB{}
	for _, n := range nodes {
		db, err := store.Open(n.data, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		open[n.name] = db
	}
	handoffs := 0
	for _, n := range nodes {
		b, _ := os.ReadFile(n.log)
		handoffs += strings.Count(string(b), "cluster: shard state handed over")
	}
	t.Logf("shard takeovers from a snapshot: %d", handoffs)
	for _, name := range names {
		shard := v.Router.Shard(name)
		var dumps []string
		for _, g := range v.Groups {
			owner := g.Owners[shard].ID
			d, err := open[owner].Dump(name)
			if err != nil {
				t.Fatalf("group %s owner %s: %s: %v", g.Name, owner, name, err)
			}
			dumps = append(dumps, fmt.Sprintf("%+v", *d))
		}
		if dumps[0] != dumps[1] {
			var lasts []string
			for _, n := range nodes {
				last, err := open[n.name].LastUpdate(name)
				lasts = append(lasts, fmt.Sprintf("%s: %d %v", n.name, last, err))
			}
			t.Fatalf("%s (shard %s, owners %+v) differs between the groups; last updates %s", name, shard, v.Groups, strings.Join(lasts, ", "))
		}
	}
}

// TestClusterOneGroupFailover: one group of three nodes splits a 4-shard
// stream; points for 24 series are pushed; the node holding the most
// shards is killed (kill -9). While its leases expire and are taken over
// (the new owner replays the shard), every read through the survivors is
// either complete and right or a 503 naming the shard — never partial.
// It logs the failover time: kill to the first complete read of every
// series.
func TestClusterOneGroupFailover(t *testing.T) {
	t.Parallel()
	c := newTestCluster(t, 4, "a")
	nodes := c.startSpread("a", "n1", "n2", "n3")
	var names []string
	for i := range 24 {
		names = append(names, fmt.Sprintf("fo.s%d.value", i))
	}
	t0 := (time.Now().Unix()/60 - 60) * 60
	const rounds = 10
	for r := range rounds {
		if err := pushRound(nodes[r%3], names, t0+int64(r)*60, int64(r)*1000); err != nil {
			t.Fatal(err)
		}
	}
	complete := func(got map[string][]float64) bool {
		for i, name := range names {
			g := got[name]
			if len(g) < rounds-1 {
				return false
			}
			g = g[len(g)-(rounds-1):]
			for r := 1; r < rounds; r++ {
				if g[r-1] != float64(r*1000+i) {
					return false
				}
			}
		}
		return true
	}
	waitComplete := func(n *clusterProc, within time.Duration) {
		deadline := time.Now().Add(within)
		for {
			code, got, body := xport(t, n, names, t0, t0+(rounds-1)*60)
			if code == http.StatusOK && complete(got) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s: no complete read within %v: %d %.300s", n.name, within, code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, n := range nodes {
		waitComplete(n, 30*time.Second)
	}
	victim, held, _ := c.busiest(nodes)
	c.kill(victim)
	killed := time.Now()
	var survivors []*clusterProc
	for _, n := range nodes {
		if n != victim {
			survivors = append(survivors, n)
		}
	}
	var answered, unavailable int
	for time.Since(killed) < 60*time.Second {
		n := survivors[answered%2]
		code, got, body := xport(t, n, names, t0, t0+(rounds-1)*60)
		switch {
		case code == http.StatusOK && complete(got):
			answered++
		case code == http.StatusOK:
			t.Fatalf("node %s answered a read during the failover with wrong rows: %.500s", n.name, body)
		case code == http.StatusServiceUnavailable && strings.Contains(body, "shard"):
			unavailable++
		default:
			t.Fatalf("node %s during the failover: %d %.300s", n.name, code, body)
		}
		if answered >= 2 && unavailable > 0 || answered >= 20 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if answered < 2 {
		t.Fatalf("no complete answer within 60 s of the kill (%d 503s)", unavailable)
	}
	t.Logf("failover: kill -9 of %s (%d shards) to complete reads through both survivors: %v (lease duration 2s; %d reads answered 503 meanwhile)",
		victim.name, held, time.Since(killed).Round(10*time.Millisecond), unavailable)
}
