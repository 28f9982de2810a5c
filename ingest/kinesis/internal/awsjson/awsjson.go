// Package awsjson is the transport of AWS's JSON protocols (JSON 1.0 of
// DynamoDB, JSON 1.1 of Kinesis): one POST per operation, named by the
// X-Amz-Target header, signed with the AWS SDK's SigV4 signer, retried
// as the SDK's standard retryer retries, its error answers decoded.
//
// The hand-written service clients (ingest/kinesis/dynamo,
// ingest/kinesis/kds) replace the SDK's service packages, whose package
// initialization costs every rrdash process start (docs/BENCHMARKS.md,
// Session 8); they share this caller.
package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Service names an AWS JSON service.
type Service struct {
	Name        string // signing name and endpoint prefix, e.g. "kinesis"
	Target      string // X-Amz-Target prefix, e.g. "Kinesis_20131202"
	ContentType string // e.g. "application/x-amz-json-1.1"
}

// Options configure a Client.
type Options struct {
	// Endpoint is the service's base URL; empty: the service's regional
	// endpoint of Region.
	Endpoint    string
	Region      string
	Credentials aws.CredentialsProvider // nil: requests are not signed (anonymous)
	HTTPClient  Doer                    // nil: an http.Client with a 30 s timeout
	// MaxAttempts of a request failing transiently (throttling, 5xx, a
	// broken connection, a damaged response); 0: 3, as the SDK's
	// standard retryer.
	MaxAttempts int
}

// Doer sends HTTP requests: an *http.Client, or the SDK's HTTPClient.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Client sends a service's requests. It is safe for concurrent use.
type Client struct {
	svc      Service
	url      string
	region   string
	creds    aws.CredentialsProvider
	hc       Doer
	signer   *v4.Signer
	attempts int
}

// New returns a client of the service.
func New(svc Service, o Options) *Client {
	u := o.Endpoint
	if u == "" {
		host := svc.Name + "." + o.Region + ".amazonaws.com"
		if strings.HasPrefix(o.Region, "cn-") {
			host += ".cn"
		}
		u = "https://" + host
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	creds := o.Credentials
	if creds != nil {
		creds = aws.NewCredentialsCache(creds)
	}
	n := o.MaxAttempts
	if n <= 0 {
		n = 3
	}
	return &Client{svc: svc, url: strings.TrimSuffix(u, "/") + "/", region: o.Region, creds: creds, hc: hc, signer: v4.NewSigner(), attempts: n}
}

// Error is an error answered by the service.
type Error struct {
	Service string // e.g. "kinesis"
	Op      string // the operation, e.g. "GetRecords"
	Status  int    // HTTP status
	Type    string // e.g. "ExpiredIteratorException"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s (HTTP %d): %s", e.Service, e.Op, e.Type, e.Status, e.Message)
}

// IsType tells whether err is (or wraps) an Error of the type.
func IsType(err error, typ string) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == typ
}

// Call sends one operation, retrying transient failures with jittered
// exponential backoff, and decodes the answer into out (if not nil).
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	_, err := c.CallN(ctx, op, in, out)
	return err
}

// CallN is Call that also returns how many requests it sent: callers of
// operations that are not idempotent (PutRecords) see the retries.
func (c *Client) CallN(ctx context.Context, op string, in, out any) (attempts int, err error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, fmt.Errorf("%s %s: encode request: %w", c.svc.Name, op, err)
	}
	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, op, body)
		if err == nil {
			if out == nil {
				return attempt, nil
			}
			if err = json.Unmarshal(resp, out); err == nil {
				return attempt, nil
			}
			return attempt, fmt.Errorf("%s %s: decode answer: %w", c.svc.Name, op, err)
		}
		if ctx.Err() != nil || attempt >= c.attempts || !transient(err) {
			return attempt, err
		}
		// 50 ms, 100 ms… (at most 20 s, the SDK's cap), half jittered.
		d := min(50*time.Millisecond<<(attempt-1), 20*time.Second)
		d = d/2 + rand.N(d/2+1)
		select {
		case <-ctx.Done():
			return attempt, fmt.Errorf("%s %s: %w (retrying after: %v)", c.svc.Name, op, ctx.Err(), err)
		case <-time.After(d):
		}
	}
}

// transient tells whether a failed request may succeed when sent again:
// the SDK's standard retryer's throttling and transient error codes, and
// any 5xx.
func transient(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return true // no answer: the connection, or a damaged answer
	}
	switch e.Type {
	case "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
		"ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
		"BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorBatchRequestInProgress",
		"RequestTimeout", "RequestTimeoutException", "InternalServerError", "ServiceUnavailable":
		return true
	}
	return e.Status >= 500
}

// send signs and sends one request and returns the body of a 2xx answer.
func (c *Client) send(ctx context.Context, op string, body []byte) ([]byte, error) {
	name := c.svc.Name
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, op, err)
	}
	req.Header.Set("Content-Type", c.svc.ContentType)
	req.Header.Set("X-Amz-Target", c.svc.Target+"."+op)
	req.Header.Set("User-Agent", "rrdash")
	// X-Amz-Crc32 is of the body as sent: ask for it uncompressed, as the
	// SDK does (net/http would otherwise ask for gzip and inflate it).
	req.Header.Set("Accept-Encoding", "identity")
	sum := sha256.Sum256(body)
	if c.creds != nil { // none: anonymous, as the SDK's
		creds, err := c.creds.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s %s: credentials: %w", name, op, err)
		}
		if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), name, c.region, time.Now()); err != nil {
			return nil, fmt.Errorf("%s %s: sign: %w", name, op, err)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", name, op, err)
	}
	// DynamoDB sends the CRC-32 of its answer; the SDK checks it too.
	if h := resp.Header.Get("X-Amz-Crc32"); h != "" {
		want, perr := strconv.ParseUint(h, 10, 32)
		if perr != nil || crc32.ChecksumIEEE(data) != uint32(want) {
			return nil, fmt.Errorf("%s %s: answer of %d bytes fails its X-Amz-Crc32 %q", name, op, len(data), h)
		}
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	e := DecodeError(op, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), data)
	e.Service = name
	return nil, e
}

// DecodeError reads an error answer: {"__type": "…#Type", "message": …}
// (or "Message"); the X-Amzn-ErrorType header when the body has no type.
func DecodeError(op string, status int, header string, body []byte) *Error {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageC string `json:"Message"`
	}
	_ = json.Unmarshal(body, &e) // a body that is not JSON keeps its text below
	typ := e.Type
	if typ == "" {
		typ = header
	}
	if i := strings.LastIndexByte(typ, '#'); i >= 0 {
		typ = typ[i+1:]
	}
	if i := strings.IndexByte(typ, ':'); i >= 0 { // the header's "Type:http://…"
		typ = typ[:i]
	}
	msg := e.Message
	if msg == "" {
		msg = e.MessageC
	}
	if typ == "" {
		typ = "HTTP" + strconv.Itoa(status)
		if msg == "" {
			msg = strings.TrimSpace(string(body[:min(len(body), 200)]))
		}
	}
	return &Error{Op: op, Status: status, Type: typ, Message: msg}
}
