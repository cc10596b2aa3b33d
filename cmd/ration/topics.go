package main

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaconn"
)

// ensureTopics creates ration's topics if they are missing.
func ensureTopics(ctx context.Context, kafka kafkaconn.Config, g *globals) error {
	cl, err := kgo.NewClient(kafka.Opts(g.log)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	return kafka.EnsureTopics(ctx, cl)
}
