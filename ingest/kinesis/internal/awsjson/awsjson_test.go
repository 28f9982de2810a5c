package awsjson

import "testing"

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
		e := DecodeError("Op", tc.status, tc.header, []byte(tc.body))
		if e.Type != tc.typ || e.Message != tc.msg || e.Status != tc.status || e.Op != "Op" {
			t.Errorf("%d %q %q: %+v, want type %q message %q", tc.status, tc.header, tc.body, e, tc.typ, tc.msg)
		}
	}
}
