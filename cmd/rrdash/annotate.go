package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"rrdash/store/meta"
	"rrdash/ui"
)

const annotateUsage = `Usage: rrdash [--data DIR] annotate --text TEXT [--tag K=V|TAG]… [--time T] [--end T] [--config FILE]

Adds an annotation (a marker on every graph and dashboard in range) to the
metadata store serve uses: DIR/metadata.db, or the PostgreSQL database of
metadata_url in --config (else $RRDASH_CONFIG). Safe while serve runs
(SQLite in WAL mode; serve shows it at its next request).

  --text TEXT   what happened (required; at most 10000 bytes)
  --tag TAG     a tag, K=V or a word; repeat for more (at most 20)
  --time T      when (rrdtool AT-style or Unix seconds; default now)
  --end T       the end of a range (default: an instant at --time)

Annotations have an owner: the CLI's is the local user "cli" (created on
first use), so they can be deleted through the API only by that user.
Prints the new annotation's id.
`

const annotationsUsage = `Usage: rrdash [--data DIR] annotations [--from T] [--to T] [--tag TAG]… [--config FILE]

Lists the stored annotations overlapping [--from, --to] (rrdtool AT-style or
Unix seconds; default the last day up to now) that carry every --tag, latest
first (at most 1000): start, end, owner, tags and text, tab-separated.
Reads the metadata store as annotate does. Alert transitions of code
monitors, which serve derives from the alert history, are not listed here
(GET /api/v1/annotations shows them).
`

// cliAnnotationUser owns the annotations the CLI adds: a local user of
// its own, so they are told apart from the web user's.
var cliAnnotationUser = meta.User{Handle: "cli", Issuer: meta.LocalIssuer, Subject: "cli", Name: "command line"}

// annotationArgs splits args into single-valued options and the repeated
// --tag values; anything else is refused by name.
func annotationArgs(cmd string, args []string, single []string) (map[string]string, []string, error) {
	opts := map[string]string{}
	var tags []string
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(args[i], "=")
		if name != "--tag" && !slices.Contains(single, name) {
			return nil, nil, usageError{fmt.Sprintf("%s: unknown argument %q", cmd, args[i])}
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, nil, usageError{fmt.Sprintf("%s: %s needs a value", cmd, name)}
			}
			i++
			val = args[i]
		}
		if name == "--tag" {
			tags = append(tags, val)
			continue
		}
		if _, dup := opts[name]; dup {
			return nil, nil, usageError{fmt.Sprintf("%s: %s given twice", cmd, name)}
		}
		opts[name] = val
	}
	return opts, tags, nil
}

// annotationTime parses option name's AT-style time (seconds) into Unix ms.
func annotationTime(cmd, name, v string, now time.Time) (int64, error) {
	s, err := parseTime(v, now)
	if err != nil {
		return 0, fmt.Errorf("%s: %s %q: %w", cmd, name, v, err)
	}
	return s * 1000, nil
}

// openAnnotationStore opens the metadata store serve uses for the data
// directory dir (or the config's) and config file cfgPath.
func openAnnotationStore(ctx context.Context, cmd, dir, cfgPath string, create bool) (*meta.DB, error) {
	cfg, err := ui.LoadServeConfig(orDefault(cfgPath, os.Getenv("RRDASH_CONFIG")), os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if dir == "" {
		dir = orDefault(os.Getenv("RRDASH_DATA"), cfg.Data)
	}
	cfg.Data = dataDirOr(dir)
	path := metadataLocation(cfg)
	if !meta.IsPostgresURL(path) {
		// Never create a stray data directory from a mistyped --data.
		if st, err := os.Stat(cfg.Data); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%s: data directory %s: not a directory (give --data DIR)", cmd, cfg.Data)
		}
		if _, err := os.Stat(path); err != nil && !create {
			return nil, fmt.Errorf("%s: %s has no metadata database: %w", cmd, cfg.Data, err)
		}
	}
	md, err := meta.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%s: metadata %s: %w", cmd, meta.RedactURL(path), err)
	}
	return md, nil
}

func runAnnotate(ctx context.Context, dir string, args []string, stdout io.Writer) error {
	opts, tags, err := annotationArgs("annotate", args, []string{"--text", "--time", "--end", "--config", "--data"})
	if err != nil {
		return err
	}
	now := time.Now()
	a := meta.Annotation{Text: strings.TrimSpace(opts["--text"]), Time: now.UnixMilli()}
	if v, ok := opts["--time"]; ok {
		if a.Time, err = annotationTime("annotate", "--time", v, now); err != nil {
			return err
		}
	}
	a.TimeEnd = a.Time
	if v, ok := opts["--end"]; ok {
		if a.TimeEnd, err = annotationTime("annotate", "--end", v, now); err != nil {
			return err
		}
	}
	for _, t := range tags {
		a.Tags = append(a.Tags, strings.TrimSpace(t))
	}
	if err := checkAnnotation(a); err != nil {
		return fmt.Errorf("annotate: %w", err)
	}
	md, err := openAnnotationStore(ctx, "annotate", orDefault(opts["--data"], dir), opts["--config"], true)
	if err != nil {
		return err
	}
	defer md.Close()
	owner, err := md.EnsureUser(ctx, cliAnnotationUser)
	if err != nil {
		return fmt.Errorf("annotate: user %s: %w", cliAnnotationUser.Handle, err)
	}
	a, err = md.CreateAnnotation(ctx, owner, a)
	if err != nil {
		return fmt.Errorf("annotate: %w", err)
	}
	fmt.Fprintf(stdout, "annotation %d\n", a.ID)
	return nil
}

// checkAnnotation applies the limits POST /api/v1/annotations applies,
// naming the argument at fault.
func checkAnnotation(a meta.Annotation) error {
	if a.Text == "" {
		return errors.New("--text: an annotation needs a text")
	}
	if len(a.Text) > ui.MaxAnnotationText || !utf8.ValidString(a.Text) {
		return fmt.Errorf("--text: at most %d bytes of UTF-8", ui.MaxAnnotationText)
	}
	if a.TimeEnd < a.Time {
		return fmt.Errorf("--end %s is before --time %s", time.UnixMilli(a.TimeEnd).Format(time.RFC3339), time.UnixMilli(a.Time).Format(time.RFC3339))
	}
	if a.Time < 0 {
		return fmt.Errorf("--time %d: before 1970", a.Time/1000)
	}
	if len(a.Tags) > ui.MaxAnnotationTags {
		return fmt.Errorf("--tag: at most %d", ui.MaxAnnotationTags)
	}
	for i, t := range a.Tags {
		if t == "" || len(t) > ui.MaxAnnotationTagLen || !utf8.ValidString(t) {
			return fmt.Errorf("--tag %d %q: want 1 to %d bytes of UTF-8", i+1, t, ui.MaxAnnotationTagLen)
		}
	}
	return nil
}

func runAnnotations(ctx context.Context, dir string, args []string, stdout io.Writer) error {
	opts, tags, err := annotationArgs("annotations", args, []string{"--from", "--to", "--config", "--data"})
	if err != nil {
		return err
	}
	now := time.Now()
	q := meta.AnnotationQuery{From: now.Add(-24 * time.Hour).UnixMilli(), To: now.UnixMilli()}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"--from", &q.From}, {"--to", &q.To}} {
		if v, ok := opts[p.name]; ok {
			if *p.dst, err = annotationTime("annotations", p.name, v, now); err != nil {
				return err
			}
		}
	}
	if q.From > q.To {
		return fmt.Errorf("annotations: --from %s is after --to %s", time.UnixMilli(q.From).Format(time.RFC3339), time.UnixMilli(q.To).Format(time.RFC3339))
	}
	for _, t := range tags {
		if t = strings.TrimSpace(t); t == "" {
			return errors.New("annotations: --tag: empty")
		}
		q.Tags = append(q.Tags, t)
	}
	md, err := openAnnotationStore(ctx, "annotations", orDefault(opts["--data"], dir), opts["--config"], false)
	if err != nil {
		return err
	}
	defer md.Close()
	as, err := md.Annotations(ctx, q)
	if err != nil {
		return fmt.Errorf("annotations: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEND\tOWNER\tTAGS\tTEXT")
	for _, a := range as {
		end := "-"
		if a.TimeEnd != a.Time {
			end = time.UnixMilli(a.TimeEnd).Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", time.UnixMilli(a.Time).Format(time.RFC3339), end, a.Owner,
			strings.Join(a.Tags, ","), strings.ReplaceAll(a.Text, "\n", " "))
	}
	return tw.Flush()
}
