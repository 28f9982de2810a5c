package dynamo

import (
	"encoding/json"
	"testing"
)

// TestDecodeError: the type from the body's __type (after its '#') or
// from the X-Amzn-ErrorType header (before its ':'), the message from
// "message" or "Message", the status's when the body says nothing.
func TestDecodeError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status       int
		header, body string
		typ, msg     string
	}{
		{400, "", `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`, "ConditionalCheckFailedException", "The conditional request failed"},
		{400, "", `{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}`, "ValidationException", "bad"},
		{400, "ResourceNotFoundException:http://internal.amazon.com/coral/", `{}`, "ResourceNotFoundException", ""},
		{500, "", ``, "HTTP500", ""},
		{502, "", `<html>bad gateway</html>`, "HTTP502", "<html>bad gateway</html>"},
	}
	for _, tc := range tests {
		e := decodeError("Op", tc.status, tc.header, []byte(tc.body))
		if e.Type != tc.typ || e.Message != tc.msg || e.Status != tc.status || e.Op != "Op" {
			t.Errorf("%d %q %q: %+v, want type %q message %q", tc.status, tc.header, tc.body, e, tc.typ, tc.msg)
		}
	}
}

// FuzzDecodeAnswer: any answer body decodes to an error with a type (an
// error answer) or to items or an error (a scan's answer), never a panic;
// values decoded encode back to the same values.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add(400, "", []byte(`{"__type":"a#B","message":"m"}`))
	f.Add(200, "X:y", []byte(`{"Items":[{"k":{"S":"s"},"n":{"N":"1"},"p":{"SS":["a","b"]}}],"LastEvaluatedKey":{"k":{"S":"s"}}}`))
	f.Add(500, "", []byte(`{"Items":[{"k":{"BOOL":true}}]}`))
	f.Fuzz(func(t *testing.T, status int, header string, body []byte) {
		if e := decodeError("Scan", status, header, body); e.Type == "" {
			t.Fatalf("no type for %q", body)
		}
		var out struct {
			Items            []Item
			LastEvaluatedKey Item
		}
		if json.Unmarshal(body, &out) != nil {
			return
		}
		b, err := json.Marshal(out.Items)
		if err != nil {
			t.Fatal(err)
		}
		var again []Item
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("items %s do not decode again: %v", b, err)
		}
		b2, _ := json.Marshal(again)
		if string(b) != string(b2) {
			t.Fatalf("items change through JSON: %s then %s", b, b2)
		}
	})
}
