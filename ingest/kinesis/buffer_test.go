package kinesis

import (
	"reflect"
	"testing"
	"time"
)

func TestDecodeBuffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		wantErr bool
	}{
		{``, false},
		{`{}`, false},
		{`{"s1":[{"q":"12","n":"a","t":1700000000,"v":"1.5","un":"ms"},{"q":"13","i":2,"n":"b","t":5,"u":999999,"v":"2"}]}`, false},
		{`{"s1":[{"q":"1x","n":"a","t":1,"v":"1"}]}`, true}, // sequence number not decimal
		{`{"s1":[{"q":"","n":"a","t":1,"v":"1"}]}`, true},   // no sequence number
		{`{"s1":[{"q":"1","n":"","t":1,"v":"1"}]}`, true},   // no series
		{`{"s1":[{"q":"1","n":"a","t":1,"v":""}]}`, true},   // no value
		{`{"s1":[{"q":"1","n":"a","t":1,"u":1000000,"v":"1"}]}`, true},
		{`{"s1":[{"q":"1","i":-1,"n":"a","t":1,"v":"1"}]}`, true},
		{`{"s1":[{"q":"7","s":3,"i":1,"n":"a","t":1,"v":"1"}]}`, false}, // user record 2 of a KPL aggregate
		{`{"s1":[{"q":"1","s":-1,"n":"a","t":1,"v":"1"}]}`, true},
		{`{"":[]}`, true},
		{`[1,2]`, true},
	}
	for _, tc := range tests {
		s, err := decodeBuffer([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Errorf("decodeBuffer(%s): %v, want error %v", tc.in, err, tc.wantErr)
		}
		if err == nil && len(s) > 0 {
			again, err := decodeBuffer(encodeBuffer(s))
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Errorf("decodeBuffer(%s): round trip %v, %v", tc.in, again, err)
			}
		}
	}
	if _, err := decodeCheckpoint([]byte(`{"cp":"1","buf":"1e3"}`)); err == nil {
		t.Error("decodeCheckpoint took a buffer position that is not decimal")
	}
}

// FuzzDecodeBuffer: any input is a snapshot that survives a round trip and
// restores without a panic, or an error.
func FuzzDecodeBuffer(f *testing.F) {
	f.Add([]byte(`{"s1":[{"q":"12","n":"a","t":1700000000,"v":"1.5","un":"ms"},{"q":"13","i":2,"n":"b","t":5,"u":999999,"v":"2"}]}`))
	f.Add([]byte(`{"s1":[{"q":"12","n":"a","t":1,"v":"1"},{"q":"11","n":"a","t":1,"v":"1"}]}`))
	f.Add([]byte(`{"s1":[{"q":"9","n":"a","t":-5,"v":"x"}],"s2":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeBuffer(b)
		if err != nil {
			return
		}
		again, err := decodeBuffer(encodeBuffer(s))
		if err != nil {
			t.Fatalf("re-encoded snapshot does not decode: %v", err)
		}
		if len(s) > 0 && !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip %v, want %v", again, s)
		}
		dec, err := NewDecoder(DecoderConfig{})
		if err != nil {
			t.Fatal(err)
		}
		tr := newTracker(dec, time.Minute, time.Minute, noSeries)
		for id := range s {
			tr.addShard(id, Checkpoint{Buf: "99999999999999999999"})
		}
		_ = tr.restore(s, time.Unix(0, 0)) // an error is fine, a panic is not
		tr.take(time.Unix(0, 0), true, 60)
	})
}
