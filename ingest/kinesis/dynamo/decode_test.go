package dynamo

import (
	"encoding/json"
	"testing"

	"rrdash/ingest/kinesis/internal/awsjson"
)

// FuzzDecodeAnswer: any answer body decodes to an error with a type (an
// error answer) or to items or an error (a scan's answer), never a panic;
// values decoded encode back to the same values.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add(400, "", []byte(`{"__type":"a#B","message":"m"}`))
	f.Add(200, "X:y", []byte(`{"Items":[{"k":{"S":"s"},"n":{"N":"1"},"p":{"SS":["a","b"]}}],"LastEvaluatedKey":{"k":{"S":"s"}}}`))
	f.Add(500, "", []byte(`{"Items":[{"k":{"BOOL":true}}]}`))
	f.Fuzz(func(t *testing.T, status int, header string, body []byte) {
		if e := awsjson.DecodeError("Scan", status, header, body); e.Type == "" {
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
