package meta

import (
	"bytes"
	"context"
	"testing"
)

func TestSecretIsMadeOnceAndKept(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m, err := Open(ctx, where)
		if err != nil {
			t.Fatal(err)
		}
		a, err := m.Secret(ctx, "png-links", 32)
		if err != nil || len(a) != 32 {
			t.Fatalf("secret %x, %v", a, err)
		}
		b, _ := m.Secret(ctx, "png-links", 32)
		other, _ := m.Secret(ctx, "other", 32)
		m.Close()
		m2, err := Open(ctx, where)
		if err != nil {
			t.Fatal(err)
		}
		defer m2.Close()
		c, _ := m2.Secret(ctx, "png-links", 32)
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) || bytes.Equal(a, other) {
			t.Errorf("secrets %x %x %x %x: want one value per name, kept across reopening", a, b, c, other)
		}
	})
}
