package objstore

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/tools/testdeps"
)

// TestS3ClientAgainstS3rver: the hand-written client's calls on a real
// S3-compatible server: keys with characters that need escaping, a
// second CreateBucket, and the errors of a missing key and a missing
// bucket. (s3rver cannot page a listing on this Node: its continuation
// tokens use DES, which OpenSSL 3 refuses; TestS3ListPages pages.)
func TestS3ClientAgainstS3rver(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := newS3Client(testdeps.NodeServer(t, "s3rver"), "us-east-1", aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "S3RVER", SecretAccessKey: "S3RVER"}, nil
	}))
	if err := c.createBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if err := c.createBucket(ctx, "bkt"); err != nil && !isS3Code(err, "BucketAlreadyOwnedByYou", "BucketAlreadyExists") {
		t.Fatalf("second create: %v", err)
	}
	keys := []string{"p/a b+c", "p/d%e&f=g", "p/ü/ñ.snap.gz", "p/x~y_z.-", "p/1", "q/other"}
	for _, k := range keys {
		if err := c.putObject(ctx, "bkt", k, []byte("body of "+k)); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	got, err := c.listKeys(ctx, "bkt", "p/")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(keys[:5]))
	if slices.Sort(got); !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	for _, k := range keys {
		r, err := c.getObject(ctx, "bkt", k)
		if err != nil {
			t.Fatalf("get %q: %v", k, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(b) != "body of "+k {
			t.Fatalf("get %q: %q, %v", k, b, err)
		}
	}
	if err := c.deleteObject(ctx, "bkt", keys[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.getObject(ctx, "bkt", keys[0]); !isS3Code(err, "NoSuchKey") {
		t.Fatalf("get of a deleted key: %v, want NoSuchKey", err)
	}
	if _, err := c.listKeys(ctx, "nobucket", ""); !isS3Code(err, "NoSuchBucket") {
		t.Fatalf("list of a missing bucket: %v, want NoSuchBucket", err)
	}
}

// TestDecodeS3Error: S3's XML error body, or the status when the body is
// not one.
func TestDecodeS3Error(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		body      string
		code, msg string
	}{
		{404, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key></Error>`, "NoSuchKey", "The specified key does not exist."},
		{403, ``, "HTTP403", ""},
		{500, `<html>oops</html>`, "HTTP500", "<html>oops</html>"},
	}
	for _, tc := range tests {
		e := decodeS3Error("GetObject", tc.status, []byte(tc.body))
		if e.Code != tc.code || e.Message != tc.msg || e.Status != tc.status {
			t.Errorf("%d %q: %+v, want %s %q", tc.status, tc.body, e, tc.code, tc.msg)
		}
	}
}

// FuzzS3Answers: any body decodes to an error with a code, and to a
// listing page or an error, never a panic.
func FuzzS3Answers(f *testing.F) {
	f.Add(200, []byte(`<ListBucketResult><Contents><Key>a</Key></Contents><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken></ListBucketResult>`))
	f.Add(404, []byte(`<Error><Code>NoSuchBucket</Code><Message>m</Message></Error>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if e := decodeS3Error("Op", status, body); e.Code == "" {
			t.Fatalf("no code for %q", body)
		}
		if p, err := decodeListPage(strings.NewReader(string(body))); err == nil && p == nil {
			t.Fatal("no page and no error")
		}
	})
}

// TestS3ListPages: a listing follows NextContinuationToken until a page
// is not truncated, asks for pageSize keys a page, and refuses a
// truncated page that gives no new token (it would loop forever).
func TestS3ListPages(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"":       `<ListBucketResult><Contents><Key>p/1</Key></Contents><Contents><Key>p/2</Key></Contents><IsTruncated>true</IsTruncated><NextContinuationToken>a+b/c=</NextContinuationToken></ListBucketResult>`,
		"a+b/c=": `<ListBucketResult><Contents><Key>p/3</Key></Contents><IsTruncated>false</IsTruncated></ListBucketResult>`,
		"loop":   `<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>loop</NextContinuationToken></ListBucketResult>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/bkt" || q.Get("list-type") != "2" || q.Get("max-keys") != "2" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			http.Error(w, fmt.Sprintf("unexpected %s %s", r.URL.Path, r.URL.RawQuery), 400)
			return
		}
		tok := q.Get("continuation-token")
		if q.Get("prefix") == "loop/" && tok == "" {
			tok = "loop"
		}
		io.WriteString(w, pages[tok])
	}))
	defer srv.Close()
	c := newS3Client(srv.URL, "us-east-1", aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, nil
	}))
	c.pageSize = 2
	got, err := c.listKeys(t.Context(), "bkt", "p/")
	if err != nil || !slices.Equal(got, []string{"p/1", "p/2", "p/3"}) {
		t.Fatalf("listed %q, %v", got, err)
	}
	if _, err := c.listKeys(t.Context(), "bkt", "loop/"); err == nil || !strings.Contains(err.Error(), "without a new continuation token") {
		t.Fatalf("a page repeating its token: %v", err)
	}
}
