package objstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// s3Client makes the five S3 REST calls a Bucket needs (create the bucket,
// put, list, get and delete objects), path-style, signed with the AWS
// SDK's SigV4 signer.
//
// Hand-written because the SDK's service/s3 is measurably unfit for a
// binary most of whose runs never store a snapshot: its packages (the S3
// client, its endpoint rules, SigV4a, checksums) add ~7 MB to the binary and
// ~0.1 ms of package initialization (an endpoint table of regular
// expressions) to every process start. See docs/BENCHMARKS.md (Session 8).
type s3Client struct {
	base   string // scheme://host, no trailing slash
	region string
	creds  aws.CredentialsProvider
	hc     *http.Client
	signer *v4.Signer
	// pageSize asks ListObjectsV2 for at most this many keys a page
	// (tests); 0: the server's page (1,000 on S3).
	pageSize int
}

func newS3Client(endpoint, region string, creds aws.CredentialsProvider) *s3Client {
	if endpoint == "" {
		endpoint = "https://s3." + region + ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			endpoint += ".cn"
		}
	}
	return &s3Client{base: strings.TrimSuffix(endpoint, "/"), region: region, creds: aws.NewCredentialsCache(creds),
		hc: &http.Client{Timeout: 5 * time.Minute}, signer: v4.NewSigner(func(o *v4.SignerOptions) {
			o.DisableURIPathEscaping = true // S3 signs the path as sent, not escaped twice
		})}
}

// s3Error is an error answered by S3.
type s3Error struct {
	Op      string
	Status  int
	Code    string // e.g. "NoSuchKey", "BucketAlreadyOwnedByYou"
	Message string
}

func (e *s3Error) Error() string {
	return fmt.Sprintf("s3 %s: %s (HTTP %d): %s", e.Op, e.Code, e.Status, e.Message)
}

func isS3Code(err error, codes ...string) bool {
	var e *s3Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// objectURL is the path-style URL of bucket/key, each key segment
// escaped as S3 expects (unreserved characters kept, '/' separating).
func (c *s3Client) objectURL(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = uriEscape(s)
	}
	u := c.base + "/" + uriEscape(bucket)
	if key != "" {
		u += "/" + strings.Join(segs, "/")
	}
	return u
}

// uriEscape escapes all but RFC 3986's unreserved characters, as SigV4's
// canonical URI wants (url.PathEscape keeps some sub-delimiters).
func uriEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// do sends a signed request and returns the answer when its status is
// 2xx; else an *s3Error read from S3's XML error body.
func (c *s3Client) do(ctx context.Context, op, method, rawURL string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", op, err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	req.Header.Set("User-Agent", "rrdash")
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("s3 %s: credentials: %w", op, err)
	}
	if err := c.signer.SignHTTP(ctx, creds, req, hash, "s3", c.region, time.Now()); err != nil {
		return nil, fmt.Errorf("s3 %s: sign: %w", op, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", op, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // an error body is best effort
	return nil, decodeS3Error(op, resp.StatusCode, data)
}

// decodeS3Error reads <Error><Code>…</Code><Message>…</Message></Error>;
// a HEAD or a body that is not such XML gives the HTTP status as the code.
func decodeS3Error(op string, status int, body []byte) *s3Error {
	var e struct {
		Code    string
		Message string
	}
	if xml.Unmarshal(body, &e) != nil || e.Code == "" {
		e.Code = "HTTP" + strconv.Itoa(status)
		e.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	return &s3Error{Op: op, Status: status, Code: e.Code, Message: e.Message}
}

// createBucket creates the bucket (outside us-east-1 with its location).
func (c *s3Client) createBucket(ctx context.Context, bucket string) error {
	var body []byte
	if c.region != "us-east-1" {
		body = []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` +
			c.region + `</LocationConstraint></CreateBucketConfiguration>`)
	}
	resp, err := c.do(ctx, "CreateBucket", http.MethodPut, c.objectURL(bucket, ""), body)
	if err != nil {
		return err
	}
	return drain(resp)
}

func (c *s3Client) putObject(ctx context.Context, bucket, key string, body []byte) error {
	resp, err := c.do(ctx, "PutObject", http.MethodPut, c.objectURL(bucket, key), body)
	if err != nil {
		return err
	}
	return drain(resp)
}

func (c *s3Client) deleteObject(ctx context.Context, bucket, key string) error {
	resp, err := c.do(ctx, "DeleteObject", http.MethodDelete, c.objectURL(bucket, key), nil)
	if err != nil {
		return err
	}
	return drain(resp)
}

// getObject returns the object's body; the caller closes it.
func (c *s3Client) getObject(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, "GetObject", http.MethodGet, c.objectURL(bucket, key), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// listPage is one page of ListObjectsV2.
type listPage struct {
	Contents []struct {
		Key string
	}
	IsTruncated           bool
	NextContinuationToken string
}

// listKeys returns every key under prefix, page by page.
func (c *s3Client) listKeys(ctx context.Context, bucket, prefix string) ([]string, error) {
	var keys []string
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		if c.pageSize > 0 {
			q.Set("max-keys", strconv.Itoa(c.pageSize))
		}
		// S3 signs the query with %20 for spaces, as url.Values encodes
		// them as '+': encode it so.
		u := c.objectURL(bucket, "") + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
		resp, err := c.do(ctx, "ListObjectsV2", http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		page, err := decodeListPage(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("s3 ListObjectsV2 %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, o.Key)
		}
		if !page.IsTruncated {
			return keys, nil
		}
		if page.NextContinuationToken == "" || page.NextContinuationToken == token {
			return nil, fmt.Errorf("s3 ListObjectsV2 %s: a truncated page without a new continuation token", prefix)
		}
		token = page.NextContinuationToken
	}
}

func decodeListPage(r io.Reader) (*listPage, error) {
	var p listPage
	if err := xml.NewDecoder(io.LimitReader(r, 64<<20)).Decode(&p); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	return &p, nil
}

func drain(resp *http.Response) error {
	defer resp.Body.Close()
	_, err := io.Copy(io.Discard, resp.Body)
	return err
}
