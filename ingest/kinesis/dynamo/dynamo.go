// Package dynamo is the small DynamoDB client of the Kinesis lease table:
// the five operations the leaser uses (CreateTable, DescribeTable,
// PutItem, UpdateItem, Scan) over DynamoDB's JSON 1.0 protocol, signed
// with the AWS SDK's SigV4 signer.
//
// Hand-written because the SDK's service/dynamodb is measurably unfit for
// a binary most of whose runs (every `rrdash graph`, `rrdash update`)
// never talk to DynamoDB: its package initialization alone builds the
// serialization schema of the whole DynamoDB API (552 kB in 2,964
// allocations, ~0.6 ms) and an endpoint table of regular expressions, in
// every process start. See docs/BENCHMARKS.md (Session 8).
package dynamo

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

// Options configure a Client.
type Options struct {
	// Endpoint is the service's base URL; empty: DynamoDB's regional
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

// Client sends DynamoDB requests. It is safe for concurrent use.
type Client struct {
	url      string
	region   string
	creds    aws.CredentialsProvider
	hc       Doer
	signer   *v4.Signer
	attempts int
}

// New returns a client of o.
func New(o Options) *Client {
	u := o.Endpoint
	if u == "" {
		host := "dynamodb." + o.Region + ".amazonaws.com"
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
	return &Client{url: strings.TrimSuffix(u, "/") + "/", region: o.Region, creds: creds, hc: hc, signer: v4.NewSigner(), attempts: n}
}

// Value is an attribute value of the kinds the lease table holds: a
// string, a number (its decimal text) or a string set. Exactly one is set.
type Value struct {
	S  *string  `json:"S,omitempty"`
	N  *string  `json:"N,omitempty"`
	SS []string `json:"SS,omitempty"`
}

// Item is an item, or a key, or expression values, by attribute name.
type Item map[string]Value

// S is a string value.
func S(s string) Value { return Value{S: &s} }

// N is a number value.
func N(n int64) Value {
	s := strconv.FormatInt(n, 10)
	return Value{N: &s}
}

// SS is a string-set value (DynamoDB refuses an empty one).
func SS(v []string) Value { return Value{SS: v} }

// Error is an error answered by the service.
type Error struct {
	Op      string // the operation, e.g. "UpdateItem"
	Status  int    // HTTP status
	Type    string // e.g. "ConditionalCheckFailedException"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("dynamodb %s: %s (HTTP %d): %s", e.Op, e.Type, e.Status, e.Message)
}

// IsType tells whether err is (or wraps) an Error of the type.
func IsType(err error, typ string) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == typ
}

// ConditionFailed tells whether err is a failed condition expression.
func ConditionFailed(err error) bool { return IsType(err, "ConditionalCheckFailedException") }

// CreateTable creates an on-demand table whose hash key is the string
// attribute key.
func (c *Client) CreateTable(ctx context.Context, table, key string) error {
	in := map[string]any{
		"TableName":            table,
		"AttributeDefinitions": []map[string]string{{"AttributeName": key, "AttributeType": "S"}},
		"KeySchema":            []map[string]string{{"AttributeName": key, "KeyType": "HASH"}},
		"BillingMode":          "PAY_PER_REQUEST",
	}
	return c.call(ctx, "CreateTable", in, nil)
}

// TableStatus returns a table's status (CREATING, ACTIVE…).
func (c *Client) TableStatus(ctx context.Context, table string) (string, error) {
	var out struct {
		Table struct{ TableStatus string }
	}
	if err := c.call(ctx, "DescribeTable", map[string]string{"TableName": table}, &out); err != nil {
		return "", err
	}
	if out.Table.TableStatus == "" {
		return "", fmt.Errorf("dynamodb DescribeTable %s: no TableStatus in the answer", table)
	}
	return out.Table.TableStatus, nil
}

// PutItem writes item when the condition expression (if any) holds.
func (c *Client) PutItem(ctx context.Context, table string, item Item, cond string) error {
	in := map[string]any{"TableName": table, "Item": item}
	if cond != "" {
		in["ConditionExpression"] = cond
	}
	return c.call(ctx, "PutItem", in, nil)
}

// UpdateItem applies the update expression to the item of key when the
// condition expression (if any) holds.
func (c *Client) UpdateItem(ctx context.Context, table string, key Item, update, cond string, values Item) error {
	in := map[string]any{"TableName": table, "Key": key, "UpdateExpression": update}
	if cond != "" {
		in["ConditionExpression"] = cond
	}
	if len(values) > 0 {
		in["ExpressionAttributeValues"] = values
	}
	return c.call(ctx, "UpdateItem", in, nil)
}

// Scan reads every item of the table, page by page, strongly consistent.
func (c *Client) Scan(ctx context.Context, table string) ([]Item, error) {
	in := map[string]any{"TableName": table, "ConsistentRead": true}
	var items []Item
	for {
		var out struct {
			Items            []Item
			LastEvaluatedKey Item
		}
		if err := c.call(ctx, "Scan", in, &out); err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in["ExclusiveStartKey"] = out.LastEvaluatedKey
	}
}

// call sends one operation, retrying transient failures with jittered
// exponential backoff, and decodes the answer into out (if not nil).
func (c *Client) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("dynamodb %s: encode request: %w", op, err)
	}
	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, op, body)
		if err == nil {
			if out == nil {
				return nil
			}
			if err = json.Unmarshal(resp, out); err == nil {
				return nil
			}
			return fmt.Errorf("dynamodb %s: decode answer: %w", op, err)
		}
		if ctx.Err() != nil || attempt >= c.attempts || !transient(err) {
			return err
		}
		// 50 ms, 100 ms… (at most 20 s, the SDK's cap), half jittered.
		d := min(50*time.Millisecond<<(attempt-1), 20*time.Second)
		d = d/2 + rand.N(d/2+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamodb %s: %w (retrying after: %v)", op, ctx.Err(), err)
		case <-time.After(d):
		}
	}
}

// transient tells whether a failed request may succeed when sent again.
func transient(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return true // no answer: the connection, or a damaged answer
	}
	switch e.Type {
	case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
		"LimitExceededException", "InternalServerError", "ServiceUnavailable", "TransactionInProgressException":
		return true
	}
	return e.Status >= 500
}

// send signs and sends one request and returns the body of a 2xx answer.
func (c *Client) send(ctx context.Context, op string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("dynamodb %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("User-Agent", "rrdash")
	// X-Amz-Crc32 is of the body as sent: ask for it uncompressed, as the
	// SDK does (net/http would otherwise ask for gzip and inflate it).
	req.Header.Set("Accept-Encoding", "identity")
	sum := sha256.Sum256(body)
	if c.creds != nil { // none: anonymous, as the SDK's
		creds, err := c.creds.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamodb %s: credentials: %w", op, err)
		}
		if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "dynamodb", c.region, time.Now()); err != nil {
			return nil, fmt.Errorf("dynamodb %s: sign: %w", op, err)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("dynamodb %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("dynamodb %s: read answer: %w", op, err)
	}
	// DynamoDB sends the CRC-32 of its answer; the SDK checks it too.
	if h := resp.Header.Get("X-Amz-Crc32"); h != "" {
		want, perr := strconv.ParseUint(h, 10, 32)
		if perr != nil || crc32.ChecksumIEEE(data) != uint32(want) {
			return nil, fmt.Errorf("dynamodb %s: answer of %d bytes fails its X-Amz-Crc32 %q", op, len(data), h)
		}
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	return nil, decodeError(op, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), data)
}

// decodeError reads an error answer: {"__type": "…#Type", "message": …}
// (or "Message"); the X-Amzn-ErrorType header when the body has no type.
func decodeError(op string, status int, header string, body []byte) *Error {
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
