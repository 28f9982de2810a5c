package otlp

import (
	"encoding/json"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// exportResponse encodes OTLP's ExportMetricsServiceResponse
// (partial_success = 1 {rejected_data_points = 1, error_message = 2}) as
// protobuf or as protojson writes it (camelCase names, int64 as a string,
// zero fields left out). Written by hand for the reason decode gives: the
// generated collector package links gRPC. The tests decode it with the
// generated type.
func exportResponse(enc encoding, rejected int64, msg string) []byte {
	if enc == encJSON {
		if rejected == 0 && msg == "" {
			return []byte("{}")
		}
		type partial struct {
			Rejected string `json:"rejectedDataPoints,omitempty"`
			Message  string `json:"errorMessage,omitempty"`
		}
		p := partial{Message: msg}
		if rejected != 0 {
			p.Rejected = strconv.FormatInt(rejected, 10)
		}
		b, _ := json.Marshal(struct { // cannot fail: strings only
			Partial partial `json:"partialSuccess"`
		}{p})
		return b
	}
	if rejected == 0 && msg == "" {
		return nil
	}
	var inner []byte
	if rejected != 0 {
		inner = protowire.AppendTag(inner, 1, protowire.VarintType)
		inner = protowire.AppendVarint(inner, uint64(rejected))
	}
	if msg != "" {
		inner = protowire.AppendTag(inner, 2, protowire.BytesType)
		inner = protowire.AppendString(inner, msg)
	}
	out := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(out, inner)
}
