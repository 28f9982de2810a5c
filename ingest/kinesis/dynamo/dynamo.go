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
	"context"
	"fmt"
	"strconv"

	"rrdash/ingest/kinesis/internal/awsjson"
)

// Options configure a Client: Endpoint (empty: DynamoDB's regional
// endpoint of Region), Region, Credentials (nil: not signed),
// HTTPClient, MaxAttempts.
type Options = awsjson.Options

// Doer sends HTTP requests: an *http.Client, or the SDK's HTTPClient.
type Doer = awsjson.Doer

// Client sends DynamoDB requests. It is safe for concurrent use.
type Client struct{ t *awsjson.Client }

// New returns a client of o.
func New(o Options) *Client {
	return &Client{awsjson.New(awsjson.Service{Name: "dynamodb", Target: "DynamoDB_20120810", ContentType: "application/x-amz-json-1.0"}, o)}
}

func (c *Client) call(ctx context.Context, op string, in, out any) error {
	return c.t.Call(ctx, op, in, out)
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
type Error = awsjson.Error

// IsType tells whether err is (or wraps) an Error of the type.
func IsType(err error, typ string) bool { return awsjson.IsType(err, typ) }

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
