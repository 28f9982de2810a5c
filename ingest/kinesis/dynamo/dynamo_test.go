package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/dynamo"
	"rrdash/ingest/kinesis/dynamotest"
)

// TestAgainstDynalite: every operation against a real DynamoDB-compatible
// server: the table's creation (twice: ResourceInUseException) and
// status, conditional puts and updates (ConditionalCheckFailedException
// when the condition fails), string, number and string-set values back
// through a paginated scan, and a missing table's error.
func TestAgainstDynalite(t *testing.T) {
	t.Parallel()
	c := dynamotest.Client(dynamotest.Start(t))
	ctx := t.Context()
	if err := c.CreateTable(ctx, "tbl", "k"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(ctx, "tbl", "k"); !dynamo.IsType(err, "ResourceInUseException") {
		t.Fatalf("second CreateTable: %v, want ResourceInUseException", err)
	}
	for {
		st, err := c.TableStatus(ctx, "tbl")
		if err != nil {
			t.Fatal(err)
		}
		if st == "ACTIVE" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Items of ~2 kB each: dynalite pages a scan at 1 MB, so 600 need
	// several pages.
	pad := strings.Repeat("x", 2000)
	const n = 600
	for i := range n {
		it := dynamo.Item{"k": dynamo.S(fmt.Sprintf("s%03d", i)), "n": dynamo.N(int64(i)), "pad": dynamo.S(pad)}
		if i%2 == 0 {
			it["set"] = dynamo.SS([]string{"a", strconv.Itoa(i)})
		}
		if err := c.PutItem(ctx, "tbl", it, "attribute_not_exists(k)"); err != nil {
			t.Fatal(err)
		}
	}
	err := c.PutItem(ctx, "tbl", dynamo.Item{"k": dynamo.S("s000")}, "attribute_not_exists(k)")
	if !dynamo.ConditionFailed(err) {
		t.Fatalf("put over an existing item: %v, want a failed condition", err)
	}
	var de *dynamo.Error
	if !errors.As(err, &de) || de.Op != "PutItem" || de.Status != 400 || de.Message == "" {
		t.Fatalf("error %#v: want PutItem, HTTP 400 and a message", de)
	}
	key := dynamo.Item{"k": dynamo.S("s007")}
	if err := c.UpdateItem(ctx, "tbl", key, "SET n = :next", "n = :c", dynamo.Item{":c": dynamo.N(7), ":next": dynamo.N(70)}); err != nil {
		t.Fatal(err)
	}
	err = c.UpdateItem(ctx, "tbl", key, "SET n = :next", "n = :c", dynamo.Item{":c": dynamo.N(7), ":next": dynamo.N(71)})
	if !dynamo.ConditionFailed(err) {
		t.Fatalf("update on a stale counter: %v, want a failed condition", err)
	}
	if err := c.UpdateItem(ctx, "tbl", key, "ADD n :one", "", dynamo.Item{":one": dynamo.N(1)}); err != nil {
		t.Fatal(err)
	}
	items, err := c.Scan(ctx, "tbl")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != n {
		t.Fatalf("scan: %d items, want %d", len(items), n)
	}
	seen := map[string]bool{}
	for _, it := range items {
		k := *it["k"].S
		i, _ := strconv.Atoi(k[1:])
		want := strconv.Itoa(i)
		if i == 7 {
			want = "71"
		}
		if got := it["n"].N; got == nil || *got != want {
			t.Fatalf("item %s: n = %v, want %s", k, got, want)
		}
		set := slices.Sorted(slices.Values(it["set"].SS))
		if wantSet := []string{"a", strconv.Itoa(i)}; i%2 == 0 && !slices.Equal(set, slices.Sorted(slices.Values(wantSet))) {
			t.Fatalf("item %s: set %v, want %v", k, set, wantSet)
		}
		if i%2 == 1 && it["set"].SS != nil {
			t.Fatalf("item %s: a set it was not given", k)
		}
		seen[k] = true
	}
	if len(seen) != n {
		t.Fatalf("scan: %d distinct items, want %d (pages overlap)", len(seen), n)
	}
	if _, err := c.Scan(ctx, "missing"); !dynamo.IsType(err, "ResourceNotFoundException") {
		t.Fatalf("scan of a missing table: %v, want ResourceNotFoundException", err)
	}
}

// TestSignedRequests: dynalite checks that a request is signed; the
// client signs with the credentials' session token too.
func TestSignedRequests(t *testing.T) {
	t.Parallel()
	ep := dynamotest.Start(t)
	unsigned := dynamo.New(dynamo.Options{Region: "us-east-1", Endpoint: ep}) // no credentials: not signed
	if err := unsigned.CreateTable(t.Context(), "uuu", "k"); err == nil {
		t.Fatal("an unsigned request was accepted")
	}
	var sawToken atomic.Bool
	c := dynamo.New(dynamo.Options{Region: "us-east-1", Endpoint: ep,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b", SessionToken: "tok"}, nil
		}),
		HTTPClient: doerFunc(func(r *http.Request) (*http.Response, error) {
			if r.Header.Get("X-Amz-Security-Token") == "tok" && strings.Contains(r.Header.Get("Authorization"), "Credential=a/") {
				sawToken.Store(true)
			}
			return http.DefaultClient.Do(r)
		})})
	if err := c.CreateTable(t.Context(), "uuu", "k"); err != nil {
		t.Fatal(err)
	}
	if !sawToken.Load() {
		t.Fatal("the request carried no session token or not the access key")
	}
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestRetries: throttling and 5xx answers and answers failing their
// X-Amz-Crc32 are sent again up to MaxAttempts; a client error is not;
// a cancelled context stops the retries.
func TestRetries(t *testing.T) {
	t.Parallel()
	const okBody = `{"Table":{"TableStatus":"ACTIVE"}}`
	tests := []struct {
		name     string
		failures int // answers before a good one
		status   int
		body     string
		badCRC   bool
		attempts int // made
		wantErr  string
	}{
		{"throttled then fine", 2, 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}`, false, 3, ""},
		{"throttled too often", 5, 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"m"}`, false, 3, "ProvisionedThroughputExceededException"},
		{"5xx without a body", 1, 503, ``, false, 2, ""},
		{"damaged answer", 1, 200, okBody, true, 2, ""},
		{"validation: not retried", 5, 400, `{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}`, false, 1, "ValidationException (HTTP 400): bad"},
		{"not JSON", 5, 403, `<html>denied</html>`, false, 1, "HTTP403 (HTTP 403): <html>denied</html>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Amz-Target") != "DynamoDB_20120810.DescribeTable" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") ||
					r.Header.Get("Accept-Encoding") != "identity" {
					http.Error(w, "bad request headers", 500)
					return
				}
				n := calls.Add(1)
				status, body := tc.status, tc.body
				if int(n) > tc.failures {
					status, body = 200, okBody
				}
				sum := crc32.ChecksumIEEE([]byte(body))
				if tc.badCRC && int(n) <= tc.failures {
					sum++
				}
				w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(sum), 10))
				w.WriteHeader(status)
				w.Write([]byte(body))
			}))
			defer srv.Close()
			c := dynamo.New(dynamo.Options{Region: "us-east-1", Endpoint: srv.URL, Credentials: staticCreds()})
			st, err := c.TableStatus(t.Context(), "t")
			switch {
			case tc.wantErr == "" && (err != nil || st != "ACTIVE"):
				t.Fatalf("status %q, %v", st, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if got := int(calls.Load()); got != tc.attempts {
				t.Fatalf("%d attempts, want %d", got, tc.attempts)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
		}))
		defer srv.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		c := dynamo.New(dynamo.Options{Region: "us-east-1", Endpoint: srv.URL, Credentials: staticCreds(), MaxAttempts: 1000})
		if _, err := c.TableStatus(ctx, "tbl"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want the context's", err)
		}
	})
}

func staticCreds() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, nil
	})
}

// TestRegionalEndpoint: without an endpoint, the region's (China's
// partition its own domain).
func TestRegionalEndpoint(t *testing.T) {
	t.Parallel()
	for region, host := range map[string]string{"eu-west-1": "dynamodb.eu-west-1.amazonaws.com", "cn-north-1": "dynamodb.cn-north-1.amazonaws.com.cn"} {
		var got string
		c := dynamo.New(dynamo.Options{Region: region, Credentials: staticCreds(), HTTPClient: doerFunc(func(r *http.Request) (*http.Response, error) {
			got = r.URL.Scheme + "://" + r.URL.Host
			return nil, errors.New("not sent")
		}), MaxAttempts: 1})
		c.TableStatus(t.Context(), "t")
		if got != "https://"+host {
			t.Errorf("region %s: %s, want https://%s", region, got, host)
		}
	}
}
