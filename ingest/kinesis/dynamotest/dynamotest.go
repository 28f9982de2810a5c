// Package dynamotest starts a real DynamoDB-compatible server (dynalite,
// in memory, installed by make into tools/dynalite) for tests, on
// 127.0.0.1.
package dynamotest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/dynamo"
	"rrdash/tools/testdeps"
)

// Start starts tools/dynalite/start.js on a free 127.0.0.1 port and
// returns its endpoint; it stops with the test.
func Start(t testing.TB) string {
	t.Helper()
	return testdeps.NodeServer(t, "dynalite")
}

// Client returns a DynamoDB client of endpoint with test credentials.
func Client(endpoint string) *dynamo.Client {
	return dynamo.New(dynamo.Options{
		Region:   "us-east-1",
		Endpoint: endpoint,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "rrdash", SecretAccessKey: "rrdash", Source: "rrdash test"}, nil
		}),
	})
}
